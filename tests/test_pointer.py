"""The instruction pointer (vla/models/pointer.py): words matched against image tokens, with no object, colour
or destination enumerated, giving the task's positions, the pointed features and `abstain`; a policy built
with it from the shipped kind (`pointer_from`), its config's refusals, and `vla train --objects.pointer`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.test_abstain import grounding_scenes
from tests.test_model import make_batch, make_bundle, with_objects
from vla.models.configuration_vla import preset
from vla.models.normalization import Normalization, RangeNormalizer
from vla.models.pointer import InstructionPointer
from vla.models.task_choice import TASK_VALUES
from vla.training.policy_setup import ObjectsTraining, training_policy

TOKENS, DIM, COLOURS = 8, 24, 6
PLACE = (0.5, -0.5, 0.0)  # the destination every synthetic instruction names: a place, not an object


def pointing_scenes(rng, pairs, colours, slot_xyz):
    """grounding_scenes with targets: (instruction, image tokens, absent, (B, 6) task values): the named
    colour's token position (its slot's xyz; zeros when absent), then PLACE."""
    instruction, images, absent = grounding_scenes(rng, pairs, colours, DIM, TOKENS)
    # grounding_scenes adds a colour to a token; find where the named one went by its direction
    named = instruction.argmax(dim=1)  # (B,)
    match = images @ torch.tensor(colours, dtype=torch.float32)[named].unsqueeze(-1)  # (B, M, 1)
    where = match.squeeze(-1).argmax(dim=1)  # (B,)
    target = torch.zeros(len(named), TASK_VALUES)
    target[:, :3] = torch.tensor(slot_xyz, dtype=torch.float32)[where] * (1.0 - absent).unsqueeze(-1)
    target[:, 3:] = torch.tensor(PLACE)
    return instruction, images, absent, target


def test_the_pointer_finds_the_named_colour_and_says_absent_in_combinations_it_never_saw():
    """Trained on two-colour scenes where each colour is named only beside some others, on scenes of the
    held-out combinations it reads the named colour's position from its token (wherever that sits), the
    destination from the words alone (a place), and abstains exactly when the colour is not there."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    colours = rng.normal(0.0, 1.0, (COLOURS, DIM))
    slot_xyz = rng.uniform(-1.0, 1.0, (TOKENS, 3))
    combos = [(a, b) for a in range(COLOURS) for b in range(a + 1, COLOURS)]
    held_out = set(combos[::4])

    def pairs(allowed, count):
        picked = [allowed[i] for i in rng.integers(len(allowed), size=count)]
        return [(int(rng.integers(COLOURS)), scene) for scene in picked]

    train = pointing_scenes(rng, pairs([c for c in combos if c not in held_out], 2000), colours, slot_xyz)
    test = pointing_scenes(rng, pairs(sorted(held_out), 400), colours, slot_xyz)
    pointer = InstructionPointer(COLOURS, DIM, TOKENS)
    optimizer = torch.optim.AdamW(pointer.parameters(), lr=2e-3)
    for step in range(800):
        batch = slice(step * 64 % 2000, step * 64 % 2000 + 64)
        instruction, images, absent, target = (part[batch] for part in train)
        abstain_loss, _ = pointer.loss(instruction, images, absent)
        positions, _ = pointer.point(instruction, images)
        present = (1.0 - absent).unsqueeze(-1)  # an absent colour's position is not asked for
        position_loss = (
            (positions - target).abs() * torch.cat([present, torch.ones_like(present)] * 3, 1)
        ).mean()
        optimizer.zero_grad()
        (abstain_loss + position_loss).backward()
        optimizer.step()
    instruction, images, absent, target = test
    with torch.no_grad():
        said_absent = (pointer(instruction, images) >= 0.5).float()
        positions, features = pointer.point(instruction, images)
    assert 0.2 < absent.mean().item() < 0.8  # both answers are common in the test scenes
    assert (said_absent == absent).float().mean().item() > 0.9
    present = absent == 0
    object_error = (positions[present, :3] - target[present, :3]).abs().max(dim=1).values  # (n,)
    # slots sit ~0.5 apart: a token picked at random would be right about 1 time in 8
    assert (object_error < 0.15).float().mean().item() > 0.8
    place_error = (positions[present, 3:] - target[present, 3:]).abs().max(dim=1).values
    assert (place_error < 0.1).float().mean().item() > 0.9
    assert features.shape == (len(instruction), 2, DIM)


def shared_token_scenes(rng, count, colours, token_xyz, sub_offsets):
    """(instruction, image tokens, (B, 3) the named object's position, (B,) its token) for scenes whose
    objects stand in
    pairs: a token is two sub-patches side by side (its features' two halves, as the pixel shuffle
    concatenates 2 x 2 patches), each holding a colour. The named colour's position is its token's plus
    its sub-patch's offset; two other tokens hold pairs of other colours."""
    half = colours.shape[1]
    instruction, images, target, where = [], [], [], []
    for _ in range(count):
        image = rng.normal(0.0, 0.3, (TOKENS, 2 * half))
        named = int(rng.integers(len(colours)))
        others = [c for c in range(len(colours)) if c != named]
        tokens = rng.choice(TOKENS, 3, replace=False)
        for token in tokens:
            pair = list(rng.choice(others, 2, replace=False))
            if token == tokens[0]:
                pair[int(rng.integers(2))] = named
                side = pair.index(named)
                target.append(token_xyz[token] + sub_offsets[side])
                where.append(token)
            image[token, :half] += colours[pair[0]]
            image[token, half:] += colours[pair[1]]
        instruction.append(np.eye(len(colours))[named] + rng.normal(0.0, 0.05, len(colours)))
        images.append(image)
    as_tensor = lambda a: torch.tensor(np.array(a), dtype=torch.float32)  # noqa: E731
    return as_tensor(instruction), as_tensor(images), as_tensor(target), torch.tensor(where)


def test_the_pointer_reads_the_named_object_out_of_a_token_it_shares_with_another():
    """The front camera's 32 px tokens often hold two objects (a stack's cube beside its base). With the
    named colour sharing its token with another, the read-out gives the named one's position, not the
    pair's: a read-out deaf to the words gives both the same position, 0.3 off for one of them. (The
    pointing is taught by its token, as vla/training/pointing_labels.py does: from the position loss alone
    this pointer stayed ~1.0 off, at a random token.)"""
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    colours = rng.normal(0.0, 1.0, (COLOURS, DIM // 2))
    token_xyz = rng.uniform(-1.0, 1.0, (TOKENS, 3))
    sub_offsets = np.array([[-0.3, 0.0, 0.0], [0.3, 0.0, 0.0]])
    train = shared_token_scenes(rng, 2000, colours, token_xyz, sub_offsets)
    instruction, images, target, _ = shared_token_scenes(rng, 400, colours, token_xyz, sub_offsets)
    pointer = InstructionPointer(COLOURS, DIM, TOKENS)
    optimizer = torch.optim.AdamW(pointer.parameters(), lr=2e-3)
    for step in range(800):
        batch = slice(step * 64 % 2000, step * 64 % 2000 + 64)
        instruction_batch, images_batch, target_batch, where_batch = (part[batch] for part in train)
        positions, _ = pointer.point(instruction_batch, images_batch)
        pointing = pointer.log_role_absence(instruction_batch, images_batch)[:, 0]  # the object's role
        chosen = pointing.gather(1, where_batch[:, None])  # (B, 1) log-probability of the right token
        loss = (positions[:, :3] - target_batch).abs().mean() - chosen.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        positions, _ = pointer.point(instruction, images)
    error = (positions[:, :3] - target).abs().max(dim=1).values  # (n,)
    assert (error < 0.15).float().mean().item() > 0.8


def test_the_null_decides_abstain_and_leaves_what_the_actions_read_as_it_was():
    """A null raised from far below the token scores to far above them turns abstain from ~0 to ~1, and
    the positions and pointed features the actions read stay the same: they average the tokens and the
    place renormalised without the null, so training the refusal harder cannot shrink them (under the
    full softmax they fell by the null's share)."""
    torch.manual_seed(0)
    pointer = InstructionPointer(COLOURS, DIM, TOKENS)
    with torch.no_grad():
        pointer.token_offsets.normal_()  # positions away from zero, so a shrink would show
    instruction, images = torch.randn(5, COLOURS), torch.randn(5, TOKENS, DIM)
    read = {}
    for null in (-20.0, 20.0):
        with torch.no_grad():
            pointer.null_logits.bias.fill_(null)
            read[null] = (*pointer.point(instruction, images), pointer(instruction, images))
    assert read[-20.0][2].max() < 1e-3 and read[20.0][2].min() > 0.999
    assert read[-20.0][0].abs().mean() > 0.1
    torch.testing.assert_close(read[20.0][0], read[-20.0][0])
    torch.testing.assert_close(read[20.0][1], read[-20.0][1])


def test_the_pointer_trains_at_ten_times_the_learning_rate_and_other_models_keep_two_groups():
    """A fresh pointer beside a pretrained backbone gets 10x the run's rate, decaying and not as before; a
    model without one keeps the two groups (decaying, then not) that saved optimizer states hold."""
    from torch import nn

    from vla.training.optim import build_optimizer

    model = nn.ModuleDict({"backbone": nn.Linear(4, 4), "pointer": InstructionPointer(COLOURS, DIM, TOKENS)})
    optimizer = build_optimizer(model, 1e-4, 0.01)
    rate = {id(p): (g["lr"], g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]}
    for param in model["pointer"].parameters():
        assert rate[id(param)] == (pytest.approx(1e-3), 0.01 if param.ndim >= 2 else 0.0)
    assert rate[id(model["backbone"].weight)] == (pytest.approx(1e-4), 0.01)
    assert rate[id(model["backbone"].bias)] == (pytest.approx(1e-4), 0.0)
    plain = build_optimizer(model["backbone"], 1e-4, 0.01)
    assert [(g["lr"], g["weight_decay"], len(g["params"])) for g in plain.param_groups] == [
        (1e-4, 0.01, 1),
        (1e-4, 0.0, 1),
    ]


def test_a_pointer_policy_enumerates_nothing_and_refuses_the_modules_it_replaces():
    config = preset("debug", instruction_pointer=True, instruction_via_choice=True)
    bundle = make_bundle(config=config)
    assert not config.environment_state_dim and not config.task_object_sources
    logits, abstain = bundle.model.predict(make_batch(config))
    assert abstain.shape == (2,) and ((abstain > 0) & (abstain < 1)).all()
    torch.testing.assert_close(logits, bundle.model(make_batch(config)))
    names = {name.split(".")[1] for name, _ in bundle.model.named_parameters() if name.startswith("objects.")}
    assert names == {"pointer", "environment_proj", "pointed_proj"}
    for replaced in ({"environment_state_dim": 22}, {"abstain_head": True}):
        with pytest.raises(ValueError, match="instruction_pointer replaces"):
            preset("debug", instruction_pointer=True, **replaced)


def shipped_kind():
    """A debug policy with the shipped policy's object modules (token, task choice, arm frame) over a
    fixed scene of two cubes and a bowl."""
    names = [f"{c}_cube.{a}" for c in ("red", "blue") for a in "xyz"] + [f"white_bowl.{a}" for a in "xy"]
    names += [f"task_{o}.{a}" for o in ("object", "destination") for a in "xyz"]
    low, high = np.full(len(names), -0.3, np.float32), np.full(len(names), 0.4, np.float32)
    data = Normalization(
        RangeNormalizer(np.full(6, -90, np.float32), np.full(6, 90, np.float32)),
        RangeNormalizer(np.full(6, -90, np.float32), np.full(6, 90, np.float32)),
        RangeNormalizer(low, high),
    )
    bundle = with_objects(make_bundle(), data, token=True, task_choice_names=tuple(names), arm_frame=True)
    return bundle, data


def test_pointer_from_a_task_choice_policy_keeps_its_backbone_and_its_task_value_map():
    """Regrounding the shipped kind of policy: backbone, action head and the objects token's map of the task
    values (its last six inputs) carry over, the scene's slots and the task choice do not, and the task
    values keep the policy's own ranges inside the new data's."""
    old, _ = shipped_kind()
    width = 10
    low, high = np.full(width, -1.0, np.float32), np.full(width, 1.0, np.float32)
    compose = Normalization(old.normalization.state, old.normalization.action, RangeNormalizer(low, high))
    new = training_policy(old, old.config, [], compose, ObjectsTraining(1.0, arm_frame=True, pointer=True))
    assert new.config.instruction_pointer and not new.config.task_choice
    assert not new.config.environment_state_dim and new.config.arm_frame_features
    before, after = old.model.state_dict(), new.model.state_dict()
    for key in before:
        if key.startswith(("backbone.", "action_head.", "state_proj.")):
            torch.testing.assert_close(after[key], before[key], msg=key)
    torch.testing.assert_close(
        after["objects.environment_proj.weight"], before["objects.environment_proj.weight"][:, -TASK_VALUES:]
    )
    torch.testing.assert_close(
        after["objects.arm_frame.proj.weight"], before["objects.arm_frame.proj.weight"]
    )
    ranges = new.normalization.environment_state
    assert len(ranges.low) == width
    np.testing.assert_array_equal(
        ranges.low[-TASK_VALUES:], old.normalization.environment_state.low[-TASK_VALUES:]
    )
    np.testing.assert_array_equal(ranges.low[:-TASK_VALUES], low[:-TASK_VALUES])
    assert not any(key.startswith("objects.task_choice") for key in after)


def test_the_label_free_pointer_needs_no_environment_state_and_refuses_metric_features():
    bundle = make_bundle()
    plain = Normalization(bundle.normalization.state, bundle.normalization.action)
    free = training_policy(bundle, bundle.config, [], plain, ObjectsTraining(0.0, pointer=True))
    assert free.config.instruction_pointer and free.normalization.environment_state is None
    free.model.loss(make_batch(free.config)).backward()
    with pytest.raises(ValueError, match=r"--objects\.arm_frame reads positions in metres"):
        training_policy(bundle, bundle.config, [], plain, ObjectsTraining(0.0, arm_frame=True, pointer=True))
    with pytest.raises(ValueError, match=r"has no observation\.environment_state"):
        training_policy(bundle, bundle.config, [], plain, ObjectsTraining(1.0, pointer=True))


def test_a_pointer_policy_fine_tuned_without_labels_or_flags_keeps_its_options_and_ranges():
    """A teleoperated fine-tune of a labelled pointer policy (no environment state, no --objects flags) keeps
    its pointer, its arm-frame features and the ranges they read, and its weights."""
    old, _ = shipped_kind()
    width = 10
    ranges = RangeNormalizer(np.full(width, -1.0, np.float32), np.full(width, 1.0, np.float32))
    compose = Normalization(old.normalization.state, old.normalization.action, ranges)
    labelled = ObjectsTraining(1.0, arm_frame=True, via_choice=True, pointer=True)
    pointing = training_policy(old, old.config, [], compose, labelled)
    teleop = Normalization(old.normalization.state, old.normalization.action)
    tuned = training_policy(pointing, pointing.config, [], teleop, ObjectsTraining(0.0))
    assert tuned.config == pointing.config and tuned.model is pointing.model
    assert tuned.normalization.environment_state is pointing.normalization.environment_state


def test_the_pointer_is_refused_beside_the_token_and_the_task_choice_naming_the_flags():
    command = [sys.executable, "-m", "vla", "train", "--preset", "debug", "--objects.pointer", "true"]
    command += ["--run.out", "unused"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)  # the preset has both
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--objects.pointer makes its own tokens and replaces the task choice" in result.stderr


def test_teacher_forcing_the_label_free_pointer_is_refused():
    """A run without --objects.weight keeps no object positions, so --objects.teacher would show nothing:
    refused by name rather than silently ignored."""
    from vla.config_cli import parse
    from vla.training.train_config import TRAIN_PRESETS, TrainConfig

    stream = ["--data.stream.suite", "tabletop_compose", "--run.out", "o", "--objects.pointer", "true"]
    with pytest.raises(ValueError, match=r"--objects\.teacher shows the recorded positions"):
        parse(TrainConfig, [*stream, "--objects.teacher", "1"], TRAIN_PRESETS)
    labelled = parse(TrainConfig, [*stream, "--objects.teacher", "1", "--objects.weight", "1"], TRAIN_PRESETS)
    assert labelled.objects.teacher == 1.0


@pytest.mark.slow
def test_vla_train_regrounds_a_policy_by_the_pointer_on_the_compose_stream(tmp_path):
    """`vla train --objects.pointer` from a task-choice policy on the tabletop_compose expert stream, with
    absent-object episodes, the abstain loss and the pointing loss with the pixel heatmap's, as a process:
    the saved policy points with its heatmap, and abstains."""
    from vla.models.checkpoint import load_checkpoint, save_checkpoint
    from vla.record_arrays import expert_environment_state_names

    old, _ = shipped_kind()
    policy = save_checkpoint(tmp_path / "policy", old)
    command = [sys.executable, "-m", "vla", "train", "--data.stream.suite", "tabletop_compose"]
    command += ["--data.stream.absent_share", "0.5", "--data.stream.capacity", "600"]
    command += [
        "--data.stream.start_frames",
        "100",
        "--policy.init",
        str(policy),
        "--objects.pointer",
        "true",
    ]
    command += ["--objects.weight", "1", "--objects.teacher", "1", "--objects.arm_frame", "true"]
    command += ["--objects.point", "1", "--abstain.weight", "1", "--policy.freeze_vision", "false"]
    command += ["--optim.steps", "3", "--optim.batch_size", "4", "--run.log_every", "1"]
    command += ["--run.device", "cpu", "--run.out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "point=" in result.stderr  # the pointing loss ran, and its accuracy was logged
    assert "point_px=" in result.stderr  # so did the heatmap's cells' loss
    trained = load_checkpoint(tmp_path / "run/checkpoints/last")
    assert trained.config.pointer_heatmap and trained.model.objects.pointer.heatmap is not None
    compose = expert_environment_state_names("tabletop_compose")
    assert len(trained.normalization.environment_state.low) == len(compose)
    _, abstain = trained.model.predict(make_batch(trained.config))
    assert abstain.shape == (2,) and torch.isfinite(abstain).all()


@pytest.mark.slow
@pytest.mark.parametrize("heatmap", [False, True])
def test_a_pointer_policy_exports_and_the_runtime_gives_its_actions_and_abstain(tmp_path, heatmap):
    """The export graph carries the pointer (its einsum and softmax over image tokens, and with `heatmap`
    its pixel heatmap and its roles' reading of the words, as every new pointer has) and its abstain: the
    torch-free runtime agrees with torch in fp32, and int8 keeps the pointer in float."""
    from tests.test_runtime import max_relative_error, observation
    from vla.export import export_policy
    from vla.models.checkpoint import save_checkpoint
    from vla.policy import VLAPolicy
    from vla.runtime import RuntimePolicy

    config = preset(
        "debug",
        instruction_pointer=True,
        instruction_via_choice=True,
        pointer_heatmap=heatmap,
        pointer_role_words=heatmap,
    )
    checkpoint = save_checkpoint(tmp_path / "checkpoint", make_bundle(seed=5, config=config))
    export = export_policy(checkpoint, tmp_path / "export", progress=lambda message: None)
    torch_policy = VLAPolicy.from_checkpoint(checkpoint)
    for seed, task in enumerate(["pick up the red cube", "put the blue cube in the white bowl"]):
        obs = observation(32, task, seed)
        expected = torch_policy.infer(obs)
        for variant, tolerance in (("fp32", 1e-4), ("int8", 0.2)):
            actual = RuntimePolicy(export, variant=variant).infer(obs)
            assert max_relative_error(actual["actions"], expected["actions"]) < tolerance, variant
            assert 0.0 < float(actual["abstain"]) < 1.0
        fp32 = RuntimePolicy(export).infer(obs)
        np.testing.assert_allclose(fp32["abstain"], expected["abstain"], rtol=1e-4, atol=1e-6)
