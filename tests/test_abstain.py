"""The abstain head: its label read off the actions, its grounding of words in image tokens, and training it
alone on a trained policy without changing how that policy acts."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.test_model import make_batch, make_bundle
from vla.models.abstain_head import AbstainHead
from vla.models.checkpoint import load_checkpoint, save_checkpoint
from vla.models.configuration_vla import preset
from vla.training.abstain_labels import HOLD_TOLERANCE, episode_holds_still, frames_holding_still


def test_an_episode_holds_still_when_no_action_departs_beyond_the_tolerance():
    still = np.tile(np.array([0, -90, 90, 60, 0, 30], np.float32), (50, 1))
    assert episode_holds_still(still)
    jitter = still.copy()
    jitter[10, 2] += HOLD_TOLERANCE  # at the tolerance: still holding
    assert episode_holds_still(jitter)
    grasp = still.copy()
    grasp[30:, 5] = 0.0  # the gripper closes from 30 % to 0 %
    assert not episode_holds_still(grasp)
    # Per frame, by episode: frames 0-49 move (the grasp), frames 50-99 hold.
    actions = np.concatenate([grasp, still])
    start = np.repeat([0, 50], 50)
    end = np.repeat([50, 100], 50)
    labels = frames_holding_still(actions, start, end)
    assert not labels[:50].any() and labels[50:].all()


def test_an_episode_that_holds_still_trains_on_its_first_second_only():
    """Its frames all show the reset pose: kept whole, they would outnumber an acting episode's reset-pose
    frames about ten to one (abstain_labels.py). The ring keeps the first second of it; a frame cache's
    batches never draw past it; an acting episode trains whole."""
    from vla.training.abstain_labels import HELD_FRAMES_TRAINED, frames_trained
    from vla.training.batches import DeviceBatches
    from vla.training.frames import DatasetArrays
    from vla.training.ring import FrameRing

    held_length, acting_length = HELD_FRAMES_TRAINED + 70, 60
    held = np.zeros((held_length, 6), np.float32)
    acting = np.linspace(0.0, 40.0, acting_length, dtype=np.float32)[:, None].repeat(6, axis=1)
    actions = np.concatenate([acting, held])
    start = np.repeat([0, acting_length], [acting_length, held_length])
    ends = np.repeat([acting_length, len(actions)], [acting_length, held_length])
    drawn = frames_trained(frames_holding_still(actions, start, ends), start)
    first_second = acting_length + HELD_FRAMES_TRAINED
    assert drawn[:first_second].all() and not drawn[first_second:].any()

    images = np.zeros((len(actions), 4, 4, 3), np.uint8)
    arrays = DatasetArrays(actions, actions, start, ends, ["a"] * len(actions), {"front": images})
    batches = DeviceBatches(arrays, ["front"], 3, torch.device("cpu"), 16, seed=0)
    index = torch.cat([batch["index"] for _ in range(20) for batch in batches])
    assert int(index.max()) < first_second
    assert (index >= acting_length).any()  # the held episode's first second is drawn

    ring = FrameRing(1000, ["front"], (4, 4, 3), 6, 6, 3, ["a"], None, torch.device("cpu"))
    for action in (acting, held):
        ring.add({"images": {"front": images[: len(action)]}, "state": action, "action": action, "task": "a"})
    assert list(ring.episodes) == [(0, acting_length), (acting_length, first_second)]
    assert ring.holds_still[acting_length : len(ring)].all() and not ring.holds_still[:acting_length].any()


def grounding_scenes(rng, pairs, colours, dim=24, tokens=8):
    """(instruction features, image tokens, absent label) for (named colour, scene colours) pairs: each
    colour is a random direction; a scene's tokens are noise plus its colours at random tokens."""
    instruction, images, absent = [], [], []
    for named, scene in pairs:
        image = rng.normal(0.0, 0.3, (tokens, dim))
        for colour, slot in zip(scene, rng.choice(tokens, len(scene), replace=False), strict=False):
            image[slot] += colours[colour]
        instruction.append(np.eye(len(colours))[named] + rng.normal(0.0, 0.05, len(colours)))
        images.append(image)
        absent.append(named not in scene)
    as_tensor = lambda a: torch.tensor(np.array(a), dtype=torch.float32)  # noqa: E731
    return as_tensor(instruction), as_tensor(images), torch.tensor(absent, dtype=torch.float32)


def test_the_head_matches_the_named_colour_against_the_image_in_unseen_combinations():
    """Trained on scenes where each colour is named only beside some others, it says 'absent' right on
    scenes of combinations it never saw: it matches the word against the tokens, it does not memorise
    which instruction goes with which scene."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    n, dim = 6, 24
    colours = rng.normal(0.0, 1.0, (n, dim))
    combos = [(a, b) for a in range(n) for b in range(a + 1, n)]  # two-colour scenes
    held_out = set(combos[::4])

    def pairs(allowed, count):
        picked = [allowed[i] for i in rng.integers(len(allowed), size=count)]
        return [(int(rng.integers(n)), scene) for scene in picked]

    train = grounding_scenes(rng, pairs([c for c in combos if c not in held_out], 2000), colours, dim)
    test = grounding_scenes(rng, pairs(sorted(held_out), 400), colours, dim)
    head = AbstainHead(n, dim)
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-3)
    for step in range(1000):
        batch = slice(step * 64 % 2000, step * 64 % 2000 + 64)
        loss, _ = head.loss(train[0][batch], train[1][batch], train[2][batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        accuracy = ((head(test[0], test[1]) >= 0.5).float() == test[2]).float().mean().item()
    assert 0.2 < test[2].mean().item() < 0.8  # both answers are common in the test scenes
    assert accuracy > 0.9


def test_the_heads_log_probabilities_agree_with_it_and_keep_a_gradient_when_confidently_wrong():
    """abstain = 1 - prod_r (1 - p_null_r), computed in log space: log abstain and log (1 - abstain) agree
    with the probability, and a head saturated at "act" (p_null ~ 1e-30) still learns from a positive."""
    torch.manual_seed(0)
    head = AbstainHead(6, 8)
    instruction, images = torch.randn(4, 6), torch.randn(4, 5, 8)
    log_abstain, log_act = head.log_probabilities(instruction, images)
    absence = head.log_role_absence(instruction, images)[..., -1].exp()  # (B, R)
    expected = 1.0 - torch.prod(1.0 - absence, dim=-1)
    torch.testing.assert_close(log_abstain.exp(), expected)
    torch.testing.assert_close(log_act.exp(), 1.0 - expected)
    with torch.no_grad():
        head.null_logits.bias.fill_(-80.0)  # never abstains, to float precision
    loss, probability = head.loss(instruction, images, torch.ones(4))  # all should have abstained
    assert (probability < 1e-20).all()
    loss.backward()
    pull = head.null_logits.bias.grad  # (R,): d loss / d null logit, about -1 per sample in all
    assert torch.isfinite(pull).all() and (pull < -0.1).all() and pull.sum() < -0.9


def test_a_policy_without_an_abstain_head_never_abstains_and_one_with_it_gives_a_probability():
    plain = make_bundle()
    _, abstain = plain.model.predict(make_batch(plain.config))
    assert torch.equal(abstain, torch.zeros(2))
    headed = make_bundle(config=preset("debug", abstain_head=True))
    logits, abstain = headed.model.predict(make_batch(headed.config))
    assert abstain.shape == (2,) and ((abstain > 0) & (abstain < 1)).all()
    torch.testing.assert_close(logits, headed.model(make_batch(headed.config)))


@pytest.mark.slow
def test_abstain_only_training_adds_a_head_and_leaves_the_actions_as_they_were(recorded_dataset, tmp_path):
    """`vla train --policy.init P --abstain.weight 1 --abstain.only true` on a dataset: the saved policy
    has an abstain head, and every other weight is P's, so it acts exactly as P did."""
    policy = save_checkpoint(tmp_path / "policy", make_bundle())
    command = [sys.executable, "-m", "vla", "train", "--data.dataset", str(recorded_dataset)]
    command += ["--policy.init", str(policy), "--abstain.weight", "1", "--abstain.only", "true"]
    command += ["--optim.steps", "3", "--optim.batch_size", "4", "--run.device", "cpu"]
    command += ["--run.out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    old, new = load_checkpoint(policy), load_checkpoint(tmp_path / "run/checkpoints/last")
    # The recorded gripper opens beyond the policy's 90 %: a fine-tune would widen that range, which would
    # change the actions; the abstain head alone reads no state or action, so the ranges stay.
    for part in ("state", "action"):
        np.testing.assert_array_equal(
            getattr(new.normalization, part).high, getattr(old.normalization, part).high
        )
    before, after = old.model, new.model
    assert before.abstain_head is None and after.abstain_head is not None
    trained = after.state_dict()
    for key, value in before.state_dict().items():
        torch.testing.assert_close(trained[key], value, msg=key)
    batch = make_batch(before.config)
    with torch.no_grad():
        torch.testing.assert_close(after.eval()(batch), before.eval()(batch))


@pytest.mark.slow
def test_abstain_only_trains_on_another_scenes_stream_without_reading_its_object_positions(tmp_path):
    """The head trained alone on the expert stream of tabletop_compose, half of it absent-object episodes,
    beside a policy whose environment state is another width (the scene it was trained in): the
    streamed object positions are never normalised or kept, and the policy's ranges stay."""
    from dataclasses import replace

    from vla.models.normalization import RangeNormalizer

    bundle = make_bundle()
    other_scene = RangeNormalizer(np.zeros(3, np.float32), np.ones(3, np.float32))
    bundle = replace(bundle, normalization=replace(bundle.normalization, environment_state=other_scene))
    policy = save_checkpoint(tmp_path / "policy", bundle)
    command = [sys.executable, "-m", "vla", "train", "--data.stream.suite", "tabletop_compose"]
    command += ["--data.stream.absent_share", "0.5", "--data.stream.capacity", "600"]
    command += ["--data.stream.start_frames", "100", "--policy.init", str(policy)]
    command += ["--abstain.weight", "1", "--abstain.only", "true", "--optim.steps", "3"]
    command += ["--optim.batch_size", "4", "--run.device", "cpu", "--run.out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    trained = load_checkpoint(tmp_path / "run/checkpoints/last")
    assert trained.model.abstain_head is not None
    for part in ("state", "action", "environment_state"):
        np.testing.assert_array_equal(
            getattr(trained.normalization, part).high, getattr(bundle.normalization, part).high
        )


def test_abstain_only_without_a_trained_policy_is_refused_naming_the_options(tmp_path):
    command = [sys.executable, "-m", "vla", "train", "--preset", "debug", "--abstain.weight", "1"]
    command += ["--abstain.only", "true", "--run.out", str(tmp_path / "run")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--abstain.only trains the abstain head of a trained policy: give --policy.init" in result.stderr
