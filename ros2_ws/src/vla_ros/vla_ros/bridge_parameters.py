"""Parameters of robot_bridge_node and teleop_node (the LeRobot device nodes), as plain data like
`vla_ros.parameters`; config/so101.yaml's shared entries (joints, limits, rate, cameras, max_step_rad,
the safety tolerances) apply to them as to every node."""

from __future__ import annotations

from vla_ros.parameters import CAMERAS, DIAGNOSTICS_PERIOD, ROBOT, SAFETY, Param

# A LeRobot device as its own tools name it: --robot.type / --robot.port / --robot.id / other fields.
ROBOT_DEVICE = [
    Param("robot_type", "so101_follower", "LeRobot robot type (so101_follower, tabletop_sim, any plugin)"),
    Param(
        "robot_port",
        "",
        "serial port of the robot's motor bus, e.g. /dev/ttyACM0 ('' for a type without one)",
    ),
    Param("robot_id", "", "robot id: names its calibration file (as lerobot-calibrate --robot.id)"),
    Param(
        "robot_options",
        "",
        "other config fields of robot_type as a YAML mapping, e.g. '{cameras: {front: {type: opencv, "
        "index_or_path: 0, width: 640, height: 480, fps: 30}}}' or '{task: push_red_cube_left}'",
    ),
]

TELEOP_DEVICE = [
    Param("teleop_type", "so101_leader", "LeRobot teleoperator type (so101_leader, tabletop_keyboard, ...)"),
    Param("teleop_port", "", "serial port of the leader arm, e.g. /dev/ttyACM1"),
    Param("teleop_id", "", "teleoperator id: names its calibration file"),
    Param(
        "teleop_options", "", "other config fields of teleop_type as a YAML mapping, e.g. '{autopilot: true}'"
    ),
    Param("leader_topic", "leader/joint_states", "where the teleoperator's positions are published (rad)"),
]

ROBOT_BRIDGE = (
    ROBOT
    + CAMERAS
    + SAFETY
    + ROBOT_DEVICE
    + [
        Param("controller_name", "arm_controller", "follows <controller_name>/joint_trajectory"),
        Param(
            "command_type",
            "joint_trajectory",
            "what the robot follows: policy_node's trajectories, or joint states (a leader arm)",
            choices=("joint_trajectory", "joint_state"),
        ),
        Param(
            "command_topic",
            "",
            "topic of the commands; '' = <controller_name>/joint_trajectory or leader/joint_states by type",
        ),
        Param(
            "max_step_rad",
            [0.1, 0.1, 0.1, 0.1, 0.1, 1.0],
            "largest change per joint between consecutive commands sent to the robot (rad per control step)",
        ),
        Param(
            "max_command_age_s",
            0.2,
            "joint_state commands older than this are not followed: the robot holds (s)",
            0.001,
            10.0,
        ),
        Param("estop_topic", "estop", "std_msgs/Empty: latch the e-stop (nothing is sent to the robot)"),
        Param("estop_reset_topic", "estop_reset", "std_msgs/Empty: clear the e-stop"),
        DIAGNOSTICS_PERIOD,
        Param(
            "in_process_teleop",
            False,
            "also run teleop_node (its teleop_* parameters) in this process, ticked after each robot step: "
            "for teleoperators that read the simulated robot they drive (tabletop_keyboard)",
        ),
    ]
    + TELEOP_DEVICE  # handed to the in-process teleop_node (a launch file sets them on this node)
)

TELEOP = ROBOT + TELEOP_DEVICE
