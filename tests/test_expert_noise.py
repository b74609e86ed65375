"""Perturbed expert demonstrations: seeded bursts push the arm off the plan, the labels stay the expert's."""

import numpy as np
import pytest

from sim.expert_noise import ExpertNoise
from sim.robot import ARM_JOINTS
from sim.rollout import ExpertRunner
from vla.cli import build_parser
from vla.config_cli import parse
from vla.record_arrays import expert_jobs
from vla.training.train_config import TrainConfig

HZ = 30.0


def offsets(noise: ExpertNoise, seed: int, steps: int) -> np.ndarray:
    process = noise.process(seed, len(ARM_JOINTS), HZ)
    return np.stack([process.next() for _ in range(steps)])  # (steps, 5) degrees


def test_bursts_are_seeded_bounded_and_separated_by_quiet_gaps():
    noise = ExpertNoise(4.0)
    first = offsets(noise, 7, 3_000)
    np.testing.assert_array_equal(first, offsets(noise, 7, 3_000))
    assert not np.array_equal(first, offsets(noise, 8, 3_000))
    assert np.abs(first).max() <= 4.0
    assert np.abs(first).max() > 3.0  # uniform in +-4: some joint comes near the bound in 3,000 steps
    assert not first[: round(noise.gap_s[0] * HZ)].any()  # an episode starts quiet

    perturbed = np.abs(first).sum(axis=1) > 0
    starts = np.flatnonzero(np.diff(perturbed.astype(int)) == 1) + 1
    ends = np.flatnonzero(np.diff(perturbed.astype(int)) == -1) + 1
    lengths = ends - starts[: len(ends)]
    assert len(lengths) > 50
    assert lengths.min() >= round(noise.burst_s[0] * HZ) and lengths.max() <= round(noise.burst_s[1] * HZ)
    for start, end in zip(starts, ends, strict=False):  # one constant offset per burst
        assert (first[start:end] == first[start]).all()
    assert 0.1 < perturbed.mean() < 0.5  # bursts of 0.2-0.6 s after gaps of 0.5-1.5 s: about 27 %


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"degrees": -1.0}, "degrees"),
        ({"degrees": 2.0, "burst_s": (0.5, 0.2)}, "burst_s"),
        ({"degrees": 2.0, "gap_s": (0.0, 1.0)}, "gap_s"),
    ],
)
def test_bad_noise_settings_are_refused_by_name(kwargs, field):
    with pytest.raises(ValueError, match=field if field != "degrees" else "at least 0 degrees"):
        ExpertNoise(**kwargs)


def test_noise_moves_the_arm_but_not_the_recorded_actions(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    clean = ExpertRunner(env).run_episode(3, task="pick_red_cube", keep_data=True)
    noisy = ExpertRunner(env, ExpertNoise(4.0)).run_episode(3, task="pick_red_cube", keep_data=True)
    steps = min(clean.steps, noisy.steps)
    # The expert plans from the layout and follows its own IK solution, so its targets do not depend on
    # where the perturbed arm actually is: the labels are the clean episode's, step for step.
    np.testing.assert_array_equal(np.stack(clean.actions[:steps]), np.stack(noisy.actions[:steps]))
    clean_joints = np.stack([o["agent_pos"] for o in clean.observations[:steps]])
    noisy_joints = np.stack([o["agent_pos"] for o in noisy.observations[:steps]])
    arm_gap = np.abs(noisy_joints - clean_joints)[:, : len(ARM_JOINTS)]
    assert arm_gap.max() > 1.0  # degrees: the bursts moved the arm
    np.testing.assert_allclose(noisy_joints[0], clean_joints[0])  # same reset, quiet first steps


def test_zero_noise_is_the_clean_expert(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    assert ExpertRunner(env, ExpertNoise(0.0)).noise is None


def test_the_noise_reaches_recording_jobs_and_the_stream():
    jobs = expert_jobs("tabletop", ["pick_red_cube", "push_green_cube_right"], 12, 100_000, noise_deg=4.0)
    assert jobs and all(job.noise_deg == 4.0 for job in jobs)
    options = ["--data.stream.suite", "tabletop", "--run.out", "x", "--data.stream.noise_deg", "3"]
    assert parse(TrainConfig, options, {}).stream.noise_deg == 3.0
    args = build_parser().parse_args(
        ["record", "--source", "expert", "--root", "x", "--expert-noise-deg", "2"]
    )
    assert args.expert_noise_deg == 2.0
