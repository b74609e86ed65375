"""DAgger episodes: a policy drives, the expert labels its states, up to the expert's first closed grasp."""

import numpy as np
import pytest

from sim.robot import ARM_JOINTS
from sim.rollout import ExpertRunner
from vla.cli import build_parser
from vla.cli_train import _stream_config
from vla.record_arrays import ExpertJob, dagger_horizon_steps, run_expert_job
from vla.training.stream import StreamConfig

PICK_HORIZON_STEPS = 84  # hover 1.2 s + descend 0.8 s + close 0.8 s at 30 Hz (sim/expert.py pick_waypoints)


class HoldStill:
    """A driver that never moves the arm from where the episode starts: every grasp it makes misses."""

    def start(self, env, observation):
        self.pose = observation["agent_pos"].astype(np.float32).copy()

    def act(self, observation):
        return self.pose


def test_the_expert_labels_the_drivers_states_and_stops_at_its_grasp(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    clean = ExpertRunner(env).run_episode(5, task="pick_red_cube", keep_data=True)
    driven = ExpertRunner(env).run_episode(
        5, task="pick_red_cube", keep_data=True, driver=HoldStill(), horizon=dagger_horizon_steps
    )
    assert driven.steps == len(driven.actions) == PICK_HORIZON_STEPS
    assert not driven.success  # kept by the caller all the same: the miss is what it is for
    # The labels are the clean expert's, step for step: its plan is timed from reset, not from the arm.
    np.testing.assert_array_equal(np.stack(clean.actions[:PICK_HORIZON_STEPS]), np.stack(driven.actions))
    held = np.stack([o["agent_pos"] for o in driven.observations])[:, : len(ARM_JOINTS)]
    moved = np.stack([o["agent_pos"] for o in clean.observations[:PICK_HORIZON_STEPS]])[:, : len(ARM_JOINTS)]
    assert np.abs(held - held[0]).max() < 1.0  # degrees: the driver, not the expert, moved the arm
    assert np.abs(moved - held).max() > 10.0


def test_a_push_is_driven_to_the_end_of_its_plan(env_factory):
    env = env_factory(render_mode=None, pixels=False)
    runner = ExpertRunner(env)
    driven = runner.run_episode(
        2, task="push_green_cube_right", driver=HoldStill(), horizon=dagger_horizon_steps
    )
    assert runner.expert.grasp_closed_s() is None
    assert driven.steps == round(runner.expert.plan_duration_s * env.config.control_hz)


def test_a_dagger_job_renders_the_drivers_episodes_with_expert_labels():
    # "expert" as the driver: the same plan drives and labels, so the frames are the clean expert's.
    (episode,) = run_expert_job(ExpertJob("tabletop", "pick_red_cube", 7, 1, driver="expert"))
    (clean,) = run_expert_job(ExpertJob("tabletop", "pick_red_cube", 7, 1))
    assert len(episode["action"]) == PICK_HORIZON_STEPS < len(clean["action"])
    np.testing.assert_array_equal(episode["action"], clean["action"][:PICK_HORIZON_STEPS])
    np.testing.assert_allclose(episode["state"], clean["state"][:PICK_HORIZON_STEPS], atol=1e-4)
    assert set(episode["images"]) == set(clean["images"])
    assert episode["images"]["observation.images.front"].shape[0] == PICK_HORIZON_STEPS
    assert episode["task"] == clean["task"]


def test_the_dagger_share_is_spread_over_rounds():
    half = StreamConfig(dagger_policy="expert", dagger_share=0.5)
    assert [half.is_dagger_round(r) for r in range(6)] == [False, True, False, True, False, True]
    quarter = StreamConfig(dagger_policy="expert", dagger_share=0.25)
    assert sum(quarter.is_dagger_round(r) for r in range(100)) == 25
    assert not any(StreamConfig().is_dagger_round(r) for r in range(10))
    assert all(StreamConfig(dagger_policy="expert", dagger_share=1.0).is_dagger_round(r) for r in range(10))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dagger_share": 0.5}, "needs --stream-dagger-policy"),
        ({"dagger_policy": "expert", "dagger_share": 1.5}, "in"),
    ],
)
def test_bad_dagger_settings_are_refused_by_flag(kwargs, message):
    with pytest.raises(ValueError, match=f"--stream-dagger-.*{message}"):
        StreamConfig(**kwargs)


def test_a_missing_dagger_policy_is_refused_before_streaming(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"--stream-dagger-policy .*nowhere"):
        StreamConfig(dagger_policy=str(tmp_path / "nowhere"), dagger_share=0.5)


def test_the_dagger_flags_reach_the_stream():
    args = build_parser().parse_args(
        [
            "train",
            "--stream-expert",
            "tabletop",
            "--out",
            "x",
            "--stream-dagger-policy",
            "policies/tabletop_nano",
            "--stream-dagger-share",
            "0.5",
        ]
    )
    config = _stream_config(args)
    assert (config.dagger_policy, config.dagger_share) == ("policies/tabletop_nano", 0.5)
