"""The simulator as a LeRobot robot (`--robot.type=tabletop_sim`) and its teleoperator
(`--teleop.type=tabletop_keyboard`), through LeRobot's own factories, in process."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.robot import ACTION_NAMES


@pytest.fixture(scope="module", autouse=True)
def registered_plugins() -> None:
    """What every LeRobot entry point does first: import the installed `lerobot_*` plugin distributions."""
    from lerobot.utils.import_utils import register_third_party_plugins

    register_third_party_plugins()


def _robot(**fields):
    from lerobot.robots.config import RobotConfig
    from lerobot.robots.utils import make_robot_from_config

    return make_robot_from_config(RobotConfig.get_choice_class("tabletop_sim")(**fields))


def _teleop(**fields):
    from lerobot.teleoperators.config import TeleoperatorConfig
    from lerobot.teleoperators.utils import make_teleoperator_from_config

    return make_teleoperator_from_config(TeleoperatorConfig.get_choice_class("tabletop_keyboard")(**fields))


def _joints(observation: dict) -> np.ndarray:
    return np.array([observation[name] for name in ACTION_NAMES])


def test_robot_has_so101_follower_features_and_units():
    from lerobot.utils.errors import DeviceNotConnectedError

    robot = _robot(id="units", task="pick_red_cube", seed=3)
    assert robot.name == "tabletop_sim"
    # Before connecting, as LeRobot's tools read them to build a dataset's features.
    assert robot.action_features == dict.fromkeys(ACTION_NAMES, float)
    assert robot.observation_features == {
        **dict.fromkeys(ACTION_NAMES, float),
        "front": (128, 128, 3),
        "wrist": (128, 128, 3),
    }
    with pytest.raises(DeviceNotConnectedError):
        robot.get_observation()
    robot.connect()
    try:
        assert robot.is_connected and robot.is_calibrated and robot.instruction
        observation = robot.get_observation()
        assert set(observation) == set(robot.observation_features)
        assert observation["front"].dtype == np.uint8 and observation["wrist"].shape == (128, 128, 3)
        # Degrees and gripper %, equal to the simulator's own reading (reset pose: wrist_flex ~90 deg).
        np.testing.assert_allclose(_joints(observation), robot.env.joint_positions(), atol=1e-4)
        assert 80 < observation["wrist_flex.pos"] < 100 and 20 < observation["gripper.pos"] < 40
    finally:
        robot.disconnect()
    assert not robot.is_connected


def test_send_action_moves_the_arm_clips_and_refuses_bad_targets():
    robot = _robot(id="actions", task="pick_red_cube")
    robot.connect()
    try:
        start = robot.get_observation()
        target = {name: start[name] for name in ACTION_NAMES}
        target["elbow_flex.pos"] += 15.0
        for _ in range(20):
            sent = robot.send_action(target)
        assert sent == pytest.approx(target)
        moved = robot.get_observation()
        assert moved["elbow_flex.pos"] - start["elbow_flex.pos"] > 10.0

        # Beyond the joint's limit: the clipped target is what was sent, and what is returned.
        sent = robot.send_action({**target, "shoulder_pan.pos": 500.0})
        assert sent["shoulder_pan.pos"] == pytest.approx(float(robot.env.units.high[0]))

        # A missing joint or a NaN target: a clear error naming the joint, and the arm does not move.
        steps, before = robot.steps, robot.env.data.qpos.copy()
        with pytest.raises(ValueError, match=r"gripper\.pos"):
            robot.send_action({name: target[name] for name in ACTION_NAMES[:5]})
        with pytest.raises(ValueError, match=r"wrist_roll\.pos"):
            robot.send_action({**target, "wrist_roll.pos": math.nan})
        assert robot.steps == steps and np.array_equal(robot.env.data.qpos, before)
    finally:
        robot.disconnect()


def test_robot_can_be_driven_from_another_thread():
    """ROS executors and LeRobot's threaded inference call the robot from other threads than connect's;
    MuJoCo's EGL renderer draws only in the thread that made it (EGL_BAD_ACCESS otherwise)."""
    from concurrent.futures import ThreadPoolExecutor

    robot = _robot(id="threads", task="pick_red_cube")
    robot.connect()
    try:
        start = robot.get_observation()

        def step_and_look() -> dict:
            robot.send_action({name: start[name] for name in ACTION_NAMES})
            return robot.get_observation()

        with ThreadPoolExecutor(max_workers=1) as other_thread:
            observation = other_thread.submit(step_and_look).result()
        assert robot.steps == 1 and observation["front"].std() > 5  # a rendered frame, not a blank one
    finally:
        robot.disconnect()


def test_unknown_task_is_refused_at_configuration():
    with pytest.raises(ValueError, match=r"--robot\.task"):
        _robot(task="juggle_the_cubes")
    with pytest.raises(ValueError, match=r"--robot\.episode_seconds"):
        _robot(task="pick_red_cube", episode_seconds=-1.0)


def test_a_person_gets_an_episode_longer_than_the_policys():
    """For `lerobot-record` with a person at the keys: the table is not laid out anew at the task's 8 s."""
    robot = _robot(id="long", task="pick_red_cube", seed=0, episode_seconds=60.0)
    robot.connect()
    try:
        assert robot.env.max_episode_steps == 1800
    finally:
        robot.disconnect()


def test_expert_teleoperator_completes_the_task_and_the_table_resets():
    """`--teleop.autopilot=true`: the scripted expert drives, as `lerobot-record` calls it, with no TTY."""
    robot = _robot(id="expert", task="pick_red_cube", seed=0)
    teleop = _teleop(robot_id="expert", autopilot=True)
    teleop.connect()  # before the robot, as lerobot-record and lerobot-teleoperate do
    robot.connect()
    try:
        for _ in range(robot.env.max_episode_steps):
            robot.get_observation()
            robot.send_action(teleop.get_action())
            if robot.episode_over:
                break
        assert robot.successes == 1 and robot.episode_seed == 0
        robot.get_observation()  # auto_reset: the next episode is laid out with the next seed
        assert robot.episode_seed == 1 and not robot.episode_over
    finally:
        robot.disconnect()
        teleop.disconnect()


def test_jog_keys_move_the_gripper_and_a_terminal_is_required_without_autopilot():
    from sim.ik import ArmIK

    robot = _robot(id="keys", task="pick_red_cube")
    teleop = _teleop(robot_id="keys", autopilot=True, step_mm=6.0)
    teleop.connect()
    robot.connect()
    try:
        ik = ArmIK(robot.env.model)

        def gripper_xyz(joints: np.ndarray) -> np.ndarray:  # (3,) m, where these joint angles put the gripper
            return ik.forward(np.deg2rad(joints[:5].astype(float)))[0]

        robot.get_observation()
        teleop.press("p")  # hand control back from the expert to the keys
        still = _joints(teleop.get_action())
        # The target starts where the gripper is (IK may pick other joint angles for the same pose).
        np.testing.assert_allclose(gripper_xyz(still), gripper_xyz(robot.env.joint_positions()), atol=0.005)
        teleop.press("r")  # lerobot-record's re-record key: not a jog key here
        assert np.array_equal(_joints(teleop.get_action()), still)
        for _ in range(5):
            teleop.press("t")  # up, 6 mm a press
        raised = _joints(teleop.get_action())
        np.testing.assert_allclose(gripper_xyz(raised) - gripper_xyz(still), [0, 0, 0.030], atol=0.004)
        assert raised[5] == pytest.approx(still[5])  # the gripper's opening did not change
    finally:
        robot.disconnect()
        teleop.disconnect()

    # pytest's stdin is not a TTY: without autopilot the teleoperator says what to do instead.
    with pytest.raises(ValueError, match="autopilot"):
        _teleop(autopilot=False).connect()
