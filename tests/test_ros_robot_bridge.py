"""robot_bridge_node and teleop_node as processes, on the simulated SO-101 as a LeRobot robot (the
`tabletop_sim` plugin) and the sim's teleoperator (`tabletop_keyboard` with its scripted-expert autopilot):

- policy_node (the shipped policy, exported) drives the LeRobot robot through robot_bridge_node and
  completes a task, exactly as it does through sim_bridge_node (tests/test_ros_closed_loop.py);
- teleoperation through ROS into recorder_node gives a dataset that `vla data check` passes and LeRobot
  loads, with the leader's positions as the action and the follower's as the state;
- the bridge's safety layer: nothing outside the joint limits reaches the robot, the e-stop stops it;
- devices that cannot work (a missing serial port, a teleoperator without joint positions) end the node
  with one clear error instead of a hang.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tests.ros_harness import JOINTS, DriverNode, NodeProcess
from tests.test_ros_nodes import domain

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TASK = "push_yellow_cube_left"  # the shipped policy's most reliable task (see test_ros_closed_loop.py)


def sim_robot(task: str = TASK, **options) -> dict:
    """robot_bridge_node parameters for the tabletop_sim robot (a YAML mapping passed as a string)."""
    fields = {"task": task, "auto_reset": "false"} | {k: str(v) for k, v in options.items()}
    mapping = ", ".join(f"{k}: {v}" for k, v in fields.items())
    return {"robot_type": "tabletop_sim", "robot_options": f'"{{{mapping}}}"'}


def latched():
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile

    return QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)


def test_policy_node_through_robot_bridge_completes_a_task(shipped_export, tmp_path):
    """robot_bridge_node (tabletop_sim) + policy_node: seeded episodes until one succeeds (5 at most)."""
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    max_episodes, ros_domain = 5, domain()
    bridge = NodeProcess("robot_bridge_node", tmp_path / "bridge.log", ros_domain, **sim_robot())
    policy = NodeProcess(
        "policy_node", tmp_path / "policy.log", ros_domain, export_dir=shipped_export, autostart="true"
    )
    test = DriverNode(ros_domain)
    outcomes, latest = [], [False]
    test.node.create_subscription(Bool, "success", lambda m: latest.__setitem__(0, m.data), latched())
    try:
        while len(outcomes) < max_episodes and not any(outcomes):
            if outcomes:
                answer = test.call(Trigger, "vla_robot_bridge/reset", Trigger.Request(), timeout=60)
                assert json.loads(answer.message)["task"] == TASK
                latest[0] = False
            outcomes.append(test.spin_until(lambda: latest[0], timeout=240 if not outcomes else 25))
    finally:
        test.close()
        policy.stop()
        bridge.stop()
    logs = policy.output() + bridge.output()
    assert any(outcomes), (
        f"no success in {len(outcomes)} episodes\n{policy.output()[-2000:]}\n{bridge.output()[-2000:]}"
    )
    assert "Traceback" not in logs


def test_teleoperation_through_ros_records_a_dataset_lerobot_loads(tmp_path):
    """teleop_node's code with the sim teleoperator (autopilot), hosted by robot_bridge_node, publishes
    leader/joint_states; the bridge follows them (joint_state commands); recorder_node records an episode."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset
    from std_srvs.srv import Trigger

    from vla import cli

    ros_domain, root = domain(), tmp_path / "teleop_dataset"
    bridge = NodeProcess(
        "robot_bridge_node",
        tmp_path / "bridge.log",
        ros_domain,
        **sim_robot("pick_red_cube", auto_reset="true"),  # the expert starts again after each success
        command_type="joint_state",
        in_process_teleop="true",
        teleop_type="tabletop_keyboard",
        teleop_options='"{autopilot: true}"',
    )
    recorder = NodeProcess(
        "recorder_node", tmp_path / "recorder.log", ros_domain, dataset_root=root, vcodec="libsvtav1"
    )
    test = DriverNode(ros_domain)
    try:
        # Until the inputs have arrived: start-up takes one to three minutes on 2 busy cores.
        deadline, start = time.monotonic() + 400, None
        while time.monotonic() < deadline and not (start and start.success):
            start = test.call(Trigger, "vla_recorder/start_episode", Trigger.Request(), timeout=240)
            test.spin_for(1.0)
        assert start is not None and start.success, start.message
        test.spin_for(6.0)  # ~180 frames at 30 Hz
        saved = test.call(Trigger, "vla_recorder/save_episode", Trigger.Request(), timeout=60)
        assert saved.success, saved.message
    finally:
        test.close()
        recorder.stop()
        bridge.stop()
    logs = bridge.output() + recorder.output()
    assert "Traceback" not in logs, logs[-3000:]
    frames = json.loads(saved.message)["frames"]
    assert frames >= 30, saved.message
    assert cli.main(["data", "check", str(root)]) == 0

    dataset = LeRobotDataset("local/teleop_dataset", root=root)
    assert dataset.meta.total_episodes == 1 and len(dataset) == frames
    assert dataset.meta.features["action"]["names"] == [f"{j}.pos" for j in JOINTS]
    states = np.stack([dataset[i]["observation.state"].numpy() for i in range(0, frames, 5)])
    actions = np.stack([dataset[i]["action"].numpy() for i in range(0, frames, 5)])
    # The expert moved the leader and the follower tracked it, a tick behind, through the bridge's rate limit
    # (arm joints, degrees): without the bridge following, the state would stay where the episode began.
    assert np.ptp(actions[:, :5], axis=0).max() > 5.0 and np.ptp(states[:, :5], axis=0).max() > 5.0
    assert np.median(np.abs(states[:, :5] - actions[:, :5])) < 3.0, (states, actions)
    assert dataset[0]["task"]


def test_bridge_clamps_commands_to_the_limits_and_the_estop_stops_the_robot(tmp_path):
    """A trajectory far beyond shoulder_pan's upper limit: what the bridge tells the robot (~/command) never
    passes the limit and changes at most max_step_rad per step; the arm follows up to the limit, and stays put
    after an e-stop until estop_reset. /diagnostics: inactive, then an ERROR while latched, then OK."""
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.duration import Duration
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState
    from std_msgs.msg import Empty
    from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

    ros_domain = domain()
    bridge = NodeProcess(
        "robot_bridge_node", tmp_path / "bridge.log", ros_domain, **sim_robot("pick_red_cube")
    )
    test = DriverNode(ros_domain)
    joints: list[np.ndarray] = []
    commands: list[np.ndarray] = []
    test.node.create_subscription(
        JointState, "vla_robot_bridge/command", lambda m: commands.append(np.array(m.position)), 10
    )
    test.node.create_subscription(
        JointState, "joint_states", lambda m: joints.append(np.array(m.position)), qos_profile_sensor_data
    )
    diagnostics: list[tuple[int, str]] = []  # (level 0 ok / 1 warn / 2 error, message) of "<node>: robot"
    test.node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        lambda m: diagnostics.extend(
            (int.from_bytes(s.level), s.message) for s in m.status if s.name == "vla_robot_bridge: robot"
        ),
        10,
    )
    command_pub = test.node.create_publisher(JointTrajectory, "arm_controller/joint_trajectory", 10)
    estop_pub = test.node.create_publisher(Empty, "estop", 10)
    reset_pub = test.node.create_publisher(Empty, "estop_reset", 10)
    upper_pan = 1.91986  # rad, config/so101.yaml

    def command_far_right() -> None:
        target = list(joints[-1]) if joints else [0.0] * 6
        target[0] = 99.9  # an impossible target, like issue 36's 100 rad reading
        msg = JointTrajectory(joint_names=JOINTS)
        msg.points = [JointTrajectoryPoint(positions=target, time_from_start=Duration(seconds=0.1).to_msg())]
        command_pub.publish(msg)

    try:
        assert test.spin_until(lambda: len(joints) > 10 and diagnostics, timeout=240), bridge.output()[-3000:]
        assert diagnostics[-1] == (0, "inactive")  # no command yet: nothing sent, nothing wrong
        start = joints[-1][0]
        test.spin_for(3.0, every=command_far_right, period=0.1)
        sent = np.array([q[0] for q in commands])
        assert len(sent) > 30 and sent.max() <= upper_pan + 1e-9, sent.max()
        assert sent.max() == pytest.approx(upper_pan)  # it did follow, up to the limit
        assert np.abs(np.diff(sent)).max() <= 0.1 + 1e-9  # max_step_rad per control step (config/so101.yaml)
        assert (
            joints[-1][0] > start + 0.5 and joints[-1][0] < upper_pan + 0.03
        )  # the arm too (servo overshoot)

        target_back = list(joints[-1])
        target_back[0] = 0.0

        def command_back() -> None:
            msg = JointTrajectory(joint_names=JOINTS)
            msg.points = [
                JointTrajectoryPoint(positions=target_back, time_from_start=Duration(seconds=0.1).to_msg())
            ]
            command_pub.publish(msg)

        estop_pub.publish(Empty())
        test.spin_for(0.5)  # commands sent before the e-stop arrived may still come in
        commands.clear()
        held = joints[-1][0]
        diagnostics.clear()
        test.spin_for(2.0, every=command_back, period=0.1)
        assert not commands and abs(joints[-1][0] - held) < 0.02, (held, joints[-1][0])  # latched: no command
        assert set(diagnostics) == {(2, "e-stop latched: publish on estop_reset to clear it")}, diagnostics
        reset_pub.publish(Empty())
        test.spin_for(3.0, every=command_back, period=0.1)
        assert joints[-1][0] < held - 0.5  # cleared: it follows again
        assert diagnostics[-1] == (0, "sending commands")
    finally:
        test.close()
        bridge.stop()
    assert "e-stop latched" in bridge.output()


OPENCV = "{type: opencv, index_or_path: 0, width: 640, height: 480, fps: 30}"
SO101_CAMERAS = f'"{{cameras: {{front: {OPENCV}, wrist: {OPENCV}}}}}"'  # what an SO-101 owner sets


@pytest.mark.parametrize(
    ("executable", "params", "expected"),
    [
        (
            "robot_bridge_node",
            {
                "robot_type": "so101_follower",
                "robot_port": "/dev/ttyVLA_MISSING",
                "robot_options": SO101_CAMERAS,
            },
            "/dev/ttyVLA_MISSING",
        ),
        (
            "teleop_node",
            {"teleop_type": "so101_leader", "teleop_port": "/dev/ttyVLA_MISSING"},
            "/dev/ttyVLA_MISSING",
        ),
        ("teleop_node", {"teleop_type": "keyboard"}, "teleop_node: error: "),  # keys, not positions
        (
            "teleop_node",
            {"teleop_type": "tabletop_keyboard", "teleop_options": '"{autopilot: true}"'},
            "in_process_teleop: true",  # the sim teleoperator needs its robot in the same process
        ),
        ("robot_bridge_node", {"robot_type": "so101_follower"}, "set robot_port"),
    ],
)
def test_a_device_that_cannot_work_ends_the_node_with_a_clear_error(tmp_path, executable, params, expected):
    node = NodeProcess(executable, tmp_path / "node.log", domain(), **params)
    try:
        node.process.wait(timeout=60)  # an error, not a hang
    finally:
        node.stop()
    assert node.process.returncode == 1
    lines = [line for line in node.output().splitlines() if ": error: " in line]
    assert len(lines) == 1 and expected in lines[0], node.output()[-3000:]
    assert "Traceback" not in node.output()


def test_devices_are_built_from_parameters_as_lerobot_tools_name_them():
    """vla_ros.lerobot_devices: LeRobot's config registry from ROS parameter strings, with errors that name
    the parameter to fix."""
    from vla_ros import lerobot_devices

    robot = lerobot_devices.make_robot("tabletop_sim", "", "sim_a", "{task: push_red_cube_left, seed: 7}")
    assert type(robot).__name__ == "TabletopSim" and robot.config.seed == 7 and robot.id == "sim_a"
    from lerobot.robots.config import RobotConfig

    cameras = lerobot_devices.parse_options(SO101_CAMERAS.strip('"'), "robot_options")
    config = lerobot_devices.device_config(
        RobotConfig, "robot", "so101_follower", "/dev/ttyACM0", "my_arm", cameras
    )
    assert config.port == "/dev/ttyACM0" and config.id == "my_arm" and config.cameras["front"].width == 640
    for args, message in [
        (("no_such_robot",), "unknown type 'no_such_robot'; known: "),
        (("so101_follower",), "needs ['port']: set robot_port"),
        (("tabletop_sim", "/dev/ttyACM0"), "robot_port: type 'tabletop_sim' has no port"),
        (("tabletop_sim", "", "", "{speed: 3}"), "robot_options: 'tabletop_sim' has no field(s) ['speed']"),
        (("tabletop_sim", "", "", "[1, 2]"), "robot_options: expected a mapping"),
        (("tabletop_sim", "", "", "{instructions: french}"), "instructions must be 'train' or 'heldout'"),
    ]:
        with pytest.raises(ValueError) as error:
            lerobot_devices.make_robot(*args)
        assert message in str(error.value), str(error.value)

    values = {"shoulder_pan.pos": 10.0, "gripper.pos": float("nan")}
    with pytest.raises(ValueError, match=r"no position for joint\(s\) \['shoulder_lift'"):
        lerobot_devices.positions_from(values, JOINTS, "teleop x")
    with pytest.raises(ValueError, match=r"non-finite position for joint\(s\) \['gripper'\]"):
        lerobot_devices.positions_from(values, ["shoulder_pan", "gripper"], "teleop x")
    action = lerobot_devices.action_from(np.arange(6.0), JOINTS)
    np.testing.assert_array_equal(lerobot_devices.positions_from(action, JOINTS, "a"), np.arange(6.0))
