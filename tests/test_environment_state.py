"""The simulator's object positions (`observation.environment_state`): recorded, batched, and learnt by
the auxiliary localisation head."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import numpy as np
import pytest
import torch

from sim.env import environment_state_names
from sim.scene import SceneConfig
from tests.test_frame_cache import CAMERAS, recorded_cache, tiny_train_command
from vla.training.frames import open_arrays


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return recorded_cache(
        tmp_path_factory, [("place_red_cube_in_white_bowl", 110_000), ("pick_green_cube", 120_000)]
    )


def test_observation_carries_object_positions(env_factory):
    env = env_factory(task="place_blue_cube_in_purple_bowl", render_mode=None, pixels=False)
    obs, _ = env.reset(seed=4)
    names = env.environment_state_names
    assert names == environment_state_names(SceneConfig()) and len(names) == 22
    assert env.observation_space.contains(obs)
    values = dict(zip(names, obs["environment_state"].tolist(), strict=True))
    state = env.scene_state()
    np.testing.assert_allclose([values[f"blue_cube.{a}"] for a in "xyz"], state.cube_pos["blue"], atol=1e-6)
    np.testing.assert_allclose(
        [values["purple_bowl.x"], values["purple_bowl.y"]], state.bowl_pos["purple"][:2], atol=1e-6
    )
    # A place layout uses two of the four cubes; the parked ones read zero, the used ones sit on the table.
    on_table = [c for c in ("red", "green", "blue", "yellow") if values[f"{c}_cube.z"] > 0]
    assert len(on_table) == 2 and "blue" in on_table
    for colour in set(("red", "green", "blue", "yellow")) - set(on_table):
        assert [values[f"{colour}_cube.{a}"] for a in "xyz"] == [0.0, 0.0, 0.0]
    # The instruction's objects: the blue cube, going to the purple bowl (a bowl's z reads 0).
    assert [values[f"task_object.{a}"] for a in "xyz"] == [values[f"blue_cube.{a}"] for a in "xyz"]
    destination = [values[f"task_destination.{a}"] for a in "xyz"]
    assert destination == [values["purple_bowl.x"], values["purple_bowl.y"], 0.0]
    env.reset(seed=4, options={"task": "stack_yellow_cube_on_green_cube"})
    values = dict(zip(names, env.environment_state().tolist(), strict=True))
    assert [values[f"task_destination.{a}"] for a in "xyz"] == [values[f"green_cube.{a}"] for a in "xyz"]
    env.reset(seed=4, options={"task": "pick_red_cube"})
    assert env.environment_state()[-3:].tolist() == [0.0, 0.0, 0.0]  # picking names no destination
    for task, sign in (("push_yellow_cube_left", 1.0), ("push_green_cube_right", -1.0)):
        env.reset(seed=4, options={"task": task})
        x, y, z = env.environment_state()[-3:].tolist()  # a push's destination: the side it names
        assert 0.17 < x < 0.23 and sign * y > 0.10 and z == 0.0


def test_task_state_sources_name_the_scene_values_the_task_values_copy(env_factory):
    env = env_factory(render_mode=None, pixels=False)

    def xyz(name: str) -> list[str]:
        return [f"{name}.{axis}" for axis in "xyz"]

    named = {  # the scene values each task's six task values copy (None: reads 0)
        "place_blue_cube_in_purple_bowl": [*xyz("blue_cube"), "purple_bowl.x", "purple_bowl.y", None],
        "stack_yellow_cube_on_green_cube": [*xyz("yellow_cube"), *xyz("green_cube")],
        "push_green_cube_right": [*xyz("green_cube"), None, None, None],
    }
    for task, expected in named.items():
        env.reset(seed=7, options={"task": task})
        state, sources, constants = (
            env.environment_state(),
            env.task_state_sources(),
            env.task_state_constants(),
        )
        copied = np.where(sources >= 0, state[np.maximum(sources, 0)], constants)
        np.testing.assert_array_equal(copied, state[-6:])
        assert (sources < 16).all() and sources[:3].min() >= 0  # scene values only; a cube is always named
        assert [env.environment_state_names[i] if i >= 0 else None for i in sources] == expected


def test_frame_cache_keeps_the_environment_state_and_batches_it_normalised(cache):
    from vla.models.normalization import Normalization
    from vla.training.batches import DeviceBatches
    from vla.training.frames import arrays_stats

    arrays, folder = cache
    assert arrays.environment_state.shape == (len(arrays.state), 22)
    np.testing.assert_array_equal(open_arrays(folder, CAMERAS).environment_state, arrays.environment_state)
    normalization = Normalization.from_lerobot_stats(arrays_stats(arrays))
    assert normalization.environment_state is not None
    batches = DeviceBatches(arrays, CAMERAS, 5, torch.device("cpu"), 16, normalization=normalization)
    batch = next(iter(batches))
    expected = normalization.environment_state.normalize(arrays.environment_state[batch["index"].numpy()])
    np.testing.assert_allclose(batch["environment_state"].numpy(), expected, atol=1e-6)


def test_lerobot_recording_holds_the_environment_state(recorded_dataset):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset = LeRobotDataset("local/demos", root=recorded_dataset, video_backend="pyav")
    feature = dataset.meta.features["observation.environment_state"]
    assert feature["names"] == environment_state_names(SceneConfig())
    first = dataset.hf_dataset.with_format("numpy")[0]["observation.environment_state"]
    assert first.shape == (22,) and np.count_nonzero(first[:12]) == 4 * 3  # a pick layout: all four cubes out


def test_training_learns_to_locate_the_objects(cache, tmp_path):
    from vla.models.checkpoint import load_checkpoint
    from vla.policy import VLAPolicy

    _, folder = cache
    out = tmp_path / "run"
    command = tiny_train_command(folder, out, steps=40, save_every=40, batch_size=16)
    command += ["--optim.lr", "1e-3", "--data.val_dataset", str(folder), "--data.val_batches", "2"]
    command += ["--objects.weight", "1", "--augment.shift_px", "0"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    pattern = r"step (\d+): held-out .*localisation error ([\d.]+) mm"
    errors = {int(step): float(error) for step, error in re.findall(pattern, result.stdout)}
    assert sorted(errors) == [0, 40], result.stdout[-2000:]
    # "Held out" here = the training frames: the head must fit them.
    assert errors[40] < 0.8 * errors[0]
    last = out / "checkpoints" / "last"
    config = json.loads((last / "config.json").read_text())
    assert config["environment_state_dim"] == 22
    bundle = load_checkpoint(last)
    assert bundle.normalization.environment_state is not None
    assert bundle.model.objects.environment_head.proj.out_features == 22
    # The head is a training signal only: inference needs no environment state.
    policy = VLAPolicy(bundle)
    arrays = open_arrays(folder, CAMERAS)
    obs = {key: np.array(arrays.frames[key][0]) for key in CAMERAS}
    obs |= {"observation.state": arrays.state[0], "task": arrays.tasks[0]}
    assert np.isfinite(policy.infer(obs)["actions"]).all()


def test_fine_tuning_adds_the_head_to_a_policy_without_one(cache, tmp_path):
    from tests.test_model import with_objects
    from vla.models.checkpoint import save_checkpoint
    from vla.models.configuration_vla import preset
    from vla.models.normalization import Normalization
    from vla.policy import VLAPolicy
    from vla.training.frames import arrays_stats
    from vla.training.loop import fresh_bundle

    arrays, _ = cache
    stats = arrays_stats(arrays)
    plain = Normalization.from_lerobot_stats({k: stats[k] for k in ("observation.state", "action")})
    bundle = fresh_bundle(preset("debug"), sorted(set(arrays.tasks)), plain)
    save_checkpoint(tmp_path / "plain", bundle)
    assert bundle.model.objects is None
    data = Normalization.from_lerobot_stats(stats)
    located = with_objects(bundle, data)
    assert located.config.environment_state_dim == 22 and located.model.objects.environment_head is not None
    assert located.model is not bundle.model and bundle.model.objects is None  # built anew
    assert located.normalization.environment_state is data.environment_state
    assert located.normalization.state is plain.state  # the policy's own normalisation otherwise stays
    obs = {key: np.array(arrays.frames[key][0]) for key in CAMERAS}
    obs |= {"observation.state": arrays.state[0], "task": arrays.tasks[0]}
    # the rebuilt policy carries the trained weights: the same actions (the head is a training signal)
    np.testing.assert_array_equal(
        VLAPolicy(located).infer(obs)["actions"], VLAPolicy(bundle).infer(obs)["actions"]
    )
    with pytest.raises(ValueError, match=r"no observation\.environment_state"):
        with_objects(bundle, plain)
    assert with_objects(bundle, plain, weight=0.0).model is bundle.model
    smaller = Normalization.from_lerobot_stats({k: v for k, v in stats.items()})
    smaller = dataclasses.replace(
        smaller,
        environment_state=dataclasses.replace(
            data.environment_state, low=data.environment_state.low[:16], high=data.environment_state.high[:16]
        ),
    )
    with pytest.raises(ValueError, match=r"has 22 outputs; the data's environment state has 16"):
        with_objects(located, smaller)


def test_training_image_size_matches_inference():
    from vla.models.backbone import fit_image_size

    frames = torch.rand(2, 2, 3, 128, 128)
    assert fit_image_size(frames, 128) is frames
    small = fit_image_size(frames, 32)
    assert small.shape == (2, 2, 3, 32, 32)
    np.testing.assert_allclose(small.mean().item(), frames.mean().item(), atol=1e-2)


def test_objects_token_carries_the_predicted_positions(tmp_path):
    """The token starts as the same constant for every input (zero projection); once its projection is
    trained the actions depend on the head's predictions, through a checkpoint and the ONNX export alike."""
    from tests.test_model import make_batch, make_bundle, with_objects
    from tests.test_runtime import max_relative_error, observation
    from vla.export import export_policy
    from vla.models.checkpoint import save_checkpoint
    from vla.models.normalization import Normalization, RangeNormalizer
    from vla.policy import VLAPolicy
    from vla.runtime import RuntimePolicy

    bundle = make_bundle(seed=5)
    batch = make_batch(bundle.config)
    env_range = RangeNormalizer(np.zeros(22, np.float32), np.ones(22, np.float32))
    data = Normalization(bundle.normalization.state, bundle.normalization.action, env_range)
    located = with_objects(bundle, data, token=True)
    assert located.config.environment_state_token and located.model.objects.environment_proj.in_features == 22
    model = located.model.eval()
    with torch.no_grad():
        model.objects.environment_head.proj.bias += 1.0
    unread = model(batch)
    with torch.no_grad():
        model.objects.environment_head.proj.bias -= 1.0
    torch.testing.assert_close(model(batch), unread)  # zero projection: the predictions do not reach it
    torch.nn.init.normal_(model.objects.environment_proj.weight, std=1.0)
    logits, objects = model(batch, with_environment_state=True)
    assert objects.shape == (2, 22) and not torch.allclose(logits, unread)
    with torch.no_grad():
        model.objects.environment_head.proj.bias += 1.0  # other predicted positions -> other actions
    assert not torch.allclose(model(batch), logits)
    # Teacher forcing: the rows shown the recorded positions no longer depend on the prediction.
    recorded = dataclasses.replace(
        batch, environment_state=torch.rand(2, 22), objects_from_record=torch.tensor([True, False])
    )
    shown = model(recorded)
    with torch.no_grad():
        model.objects.environment_head.proj.bias -= 1.0
    again = model(recorded)
    torch.testing.assert_close(again[0], shown[0])
    assert not torch.allclose(again[1], shown[1])

    checkpoint = save_checkpoint(tmp_path / "checkpoint", located)
    export = export_policy(checkpoint, tmp_path / "export", variants=("fp32",), progress=lambda m: None)
    obs = observation(located.config.vision.image_size)
    expected = VLAPolicy.from_checkpoint(checkpoint).infer(obs)["actions"]
    assert max_relative_error(RuntimePolicy(export).infer(obs)["actions"], expected) < 1e-4
    with pytest.raises(ValueError, match="need an environment-state weight > 0"):
        with_objects(make_bundle(seed=5), data, weight=0.0, token=True)


def test_teacher_forcing_only_in_training_batches(cache):
    from tests.test_model import with_objects
    from vla.models.configuration_vla import preset
    from vla.models.normalization import Normalization
    from vla.training.batches import DeviceBatches
    from vla.training.frames import arrays_stats
    from vla.training.loop import BatchEncoder, fresh_bundle

    arrays, _ = cache
    normalization = Normalization.from_lerobot_stats(arrays_stats(arrays))
    bundle = fresh_bundle(preset("debug"), sorted(set(arrays.tasks)), normalization)
    bundle = with_objects(bundle, normalization, token=True)
    batches = DeviceBatches(arrays, CAMERAS, 4, torch.device("cpu"), 8, normalization=normalization)
    encode = BatchEncoder(bundle, torch.device("cpu"), True, batches.tasks, teacher_objects=1.0)
    batch = next(iter(batches))
    assert encode(batch).objects_from_record.all()
    assert encode(batch, train=False).objects_from_record is None


class NamedObjects:
    """What an oracle policy asks its env: which scene values the task values copy, and what they read
    where they copy none."""

    def __init__(self, sources, constants=None):
        self.sources = np.asarray(sources, np.int64)
        self.constants = np.zeros(6, np.float32) if constants is None else np.asarray(constants, np.float32)

    def task_state_sources(self) -> np.ndarray:
        return self.sources

    def task_state_constants(self) -> np.ndarray:
        return self.constants


def located_policy(seed: int):
    """A tiny policy with the objects token over all 22 environment-state values, its projection random."""
    from tests.test_model import make_bundle, with_objects
    from vla.models.normalization import Normalization, RangeNormalizer

    bundle = make_bundle(seed=seed)
    env_range = RangeNormalizer(np.zeros(22, np.float32), np.ones(22, np.float32))
    data = Normalization(bundle.normalization.state, bundle.normalization.action, env_range)
    located = with_objects(bundle, data, token=True)
    torch.nn.init.normal_(located.model.objects.environment_proj.weight, std=1.0)
    return located


def test_oracle_objects_read_the_simulator_positions_instead_of_the_prediction(tmp_path):
    """`vla eval --oracle-objects exact`: the objects token shows the observation's exact positions, so
    the actions follow them and not the head's prediction; a policy without the token refuses the mode."""
    from tests.test_model import make_bundle
    from tests.test_runtime import observation
    from vla.evaluation.oracle import OracleObjectsPolicy
    from vla.evaluation.policies import make_source
    from vla.models.checkpoint import save_checkpoint
    from vla.policy import VLAPolicy

    located = located_policy(seed=6)
    obs = observation(located.config.vision.image_size)
    near = obs | {"observation.environment_state": np.full(22, 0.2, np.float32)}
    far = obs | {"observation.environment_state": np.full(22, 0.8, np.float32)}

    predicted = VLAPolicy(located)
    np.testing.assert_array_equal(predicted.infer(near)["actions"], predicted.infer(far)["actions"])
    oracle = OracleObjectsPolicy(predicted, "exact", env=None)
    oracle.reset()
    assert not np.allclose(oracle.infer(near)["actions"], oracle.infer(far)["actions"])
    shown, guessed = oracle.infer(near)["actions"], predicted.infer(near)["actions"]
    with torch.no_grad():
        located.model.objects.environment_head.proj.bias += 1.0  # another prediction: the oracle ignores it
    np.testing.assert_allclose(oracle.infer(near)["actions"], shown)
    assert not np.allclose(predicted.infer(near)["actions"], guessed)  # while the prediction reaches it
    with pytest.raises(KeyError, match=re.escape("observation.environment_state")):
        oracle.infer(obs)

    with pytest.raises(ValueError, match=r"--objects\.token"):
        OracleObjectsPolicy(VLAPolicy(make_bundle(seed=6)), "exact", env=None)
    with pytest.raises(ValueError, match="one of exact, grounding"):
        OracleObjectsPolicy(predicted, "perfect", env=None)
    checkpoint = save_checkpoint(tmp_path / "checkpoint", located)
    assert make_source(str(checkpoint), env=None, oracle_objects="exact").policy.mode == "exact"
    with pytest.raises(ValueError, match="needs a checkpoint"):
        make_source("expert", env=None, oracle_objects="exact")


def test_grounding_oracle_copies_the_named_objects_predicted_positions():
    """`--oracle-objects grounding`: the scene values are the head's predictions, and the task values are
    the predictions at the named objects' indices (0 where the task names none)."""
    from tests.test_runtime import observation
    from vla.evaluation.oracle import OracleObjectsPolicy
    from vla.policy import VLAPolicy

    located = located_policy(seed=7)
    policy = VLAPolicy(located)
    obs = observation(located.config.vision.image_size)
    oracle = OracleObjectsPolicy(policy, "grounding", NamedObjects([3, 4, 5, 12, 13, -1]))
    oracle.reset()
    batch = policy.batch_from_observation(obs)
    with torch.no_grad():
        _, predicted = located.model(batch, with_environment_state=True)
    predicted = located.normalization.environment_state.unnormalize(predicted[0].numpy())
    shown = oracle.shown_positions(obs, batch)
    np.testing.assert_allclose(shown[:16], predicted[:16], atol=1e-6)
    np.testing.assert_allclose(shown[16:], [*predicted[3:6], *predicted[12:14], 0.0], atol=1e-6)
    other = OracleObjectsPolicy(policy, "grounding", NamedObjects([0, 1, 2, -1, -1, -1]))
    other.reset()
    assert not np.allclose(other.infer(obs)["actions"], oracle.infer(obs)["actions"])  # another object named
