"""Every node's parameters: name, type (from the default), range and description, as plain data.

`declare(node, specs)` declares them on an rclpy node with descriptors (ros2 param describe shows the
text and range); the launch-file tests check launch files and config/so101.yaml against these specs.
"""

from __future__ import annotations

from dataclasses import dataclass

from vla import contract


@dataclass(frozen=True)
class Param:
    name: str
    default: object  # its Python type is the parameter's type: bool, int, float, str, list[str], list[float]
    description: str
    low: float | None = None  # inclusive range for int and float parameters
    high: float | None = None
    choices: tuple[str, ...] = ()


SO101_JOINTS = list(contract.JOINT_NAMES)  # the defaults are the SO-101's, as in config/so101.yaml

ROBOT = [
    Param("joint_names", SO101_JOINTS, "joint order of the policy's state and actions (JointState names)"),
    Param("gripper_joint", contract.GRIPPER_JOINT, "joint whose policy unit is percent (0 closed, 100 open)"),
    Param("gripper_range_rad", list(contract.GRIPPER_RANGE_RAD), "gripper joint [closed, open] in radians"),
    Param("joint_lower_limits", list(contract.JOINT_LOWER_LIMITS_RAD), "lower joint limits (rad)"),
    Param("joint_upper_limits", list(contract.JOINT_UPPER_LIMITS_RAD), "upper joint limits (rad)"),
    Param("control_rate_hz", 30.0, "control rate (Hz); the policy was trained at 30", 1.0, 200.0),
]

CAMERAS = [
    Param("camera_names", ["front", "wrist"], "policy camera names, in the export's order"),
    Param(
        "camera_topics",
        ["camera/front/image_raw", "camera/wrist/image_raw"],
        "image topic per camera (relative topics follow the namespace)",
    ),
    Param("compressed_images", False, "subscribe to <topic>/compressed (sensor_msgs/CompressedImage)"),
    Param("image_width", 0, "expected frame width in px; 0 accepts any (frames are resized)", 0, 8192),
    Param("image_height", 0, "expected frame height in px; 0 accepts any", 0, 8192),
    Param("joint_states_topic", "joint_states", "sensor_msgs/JointState topic"),
    Param("instruction_topic", "instruction", "std_msgs/String instruction topic (latched)"),
]

# Rules on measured inputs and the e-stop latch (vla_ros.safety); any node that commands a robot uses them.
SAFETY = [
    Param(
        "joint_limit_tolerance_rad",
        0.1,
        "a measured joint further beyond its limits is a fault: hold (rad)",
        0.0,
        1.0,
    ),
    Param(
        "max_joint_speed_rad_s",
        10.0,
        "a measured joint moving faster between two readings is a fault (an implausible reading): hold",
        0.1,
        1000.0,
    ),
    Param(
        "max_clock_offset_s",
        0.1,
        "tolerated offset between the senders' clocks and this node's, plus the capture-to-receipt latency: "
        "an input whose header.stamp is older than max_input_age_s plus this, or ahead by more than this, "
        "is stale (s)",
        0.0,
        3600.0,
    ),
    Param(
        "estop_state_file",
        "",
        "file that keeps the e-stop latch across restarts, read at start-up; '' = "
        "$XDG_STATE_HOME/vla_ros/<node>.estop.json (~/.local/state when unset)",
    ),
]

# SafetyConfig fields that are the same-named parameters of every node that has them (policy_node only
# has the low-confidence and abstain rules).
SAFETY_FIELDS = (
    "joint_limit_tolerance_rad", "max_joint_speed_rad_s", "max_clock_offset_s",
    "low_confidence_threshold", "low_confidence_mode", "slow_factor", "abstain_threshold",
)  # fmt: skip


def safety_config(p: dict, max_input_age_s: float):
    """A node's `safety.SafetyConfig` from its parameter values `p` (joint limits and max_step_rad in rad,
    the SAFETY tolerances, the low-confidence rules where the node declares them); `max_input_age_s` is
    the node's own age limit (policy_node: inputs, robot_bridge_node: commands). Raises naming the
    parameter when a per-joint list does not have one value per joint."""
    import numpy as np

    from vla_ros.safety import SafetyConfig

    joints = len(p["joint_names"])
    for name in ("joint_lower_limits", "joint_upper_limits", "max_step_rad"):
        if len(p[name]) != joints:
            raise ValueError(f"parameter {name} has {len(p[name])} values for {joints} joints")
    return SafetyConfig(
        lower_rad=np.asarray(p["joint_lower_limits"], np.float64),
        upper_rad=np.asarray(p["joint_upper_limits"], np.float64),
        max_step_rad=np.asarray(p["max_step_rad"], np.float64),
        max_input_age_s=max_input_age_s,
        **{name: p[name] for name in SAFETY_FIELDS if name in p},
    )


# The heartbeat of a node's /diagnostics (it also publishes at once on every change of condition).
DIAGNOSTICS_PERIOD = Param("diagnostics_period_s", 0.5, "period of /diagnostics messages (s)", 0.05, 60.0)

POLICY = (
    ROBOT
    + CAMERAS
    + SAFETY
    + [
        Param("export_dir", "", "export folder written by `vla export` (required)"),
        Param("variant", "fp32", "graph variant", choices=("fp32", "fp16", "int8")),
        Param("provider", "cpu", "onnxruntime execution provider", choices=("cpu", "cuda", "tensorrt")),
        Param("threads", 0, "CPU threads for inference; 0 = all cores", 0, 256),
        Param("default_instruction", "", "instruction used until one arrives on instruction_topic"),
        Param("controller_name", "arm_controller", "commands go to <controller_name>/joint_trajectory"),
        Param("max_input_age_s", 0.05, "hold when any camera frame or joint state is older (s)", 0.001, 10.0),
        Param(
            "max_step_rad",
            [0.1, 0.1, 0.1, 0.1, 0.1, 1.0],
            "largest change per joint between consecutive commands (rad per control step)",
        ),
        Param(
            "command_horizon_steps",
            3,
            "trajectory points per command; on a stop the arm holds after them",
            1,
            100,
        ),
        Param(
            "replan_error_rad",
            0.5,
            "replan from the measured state when an arm joint is this far from the last command (a reset, "
            "a push by hand); the gripper is left out: a grasped object stops it short",
            0.01,
            10.0,
        ),
        Param("request_ahead_steps", 4, "request the next chunk when this many planned steps remain", 1, 100),
        Param("blend_steps", 3, "steps cross-faded from the old chunk into the new one", 0, 100),
        Param(
            "low_confidence_threshold", 0.0, "chunks below this mean confidence are slowed or held", 0.0, 1.0
        ),
        Param(
            "low_confidence_mode",
            "slow",
            "what a low-confidence chunk does",
            choices=("ignore", "slow", "hold"),
        ),
        Param("slow_factor", 2.0, "time stretch of a low-confidence chunk in 'slow' mode", 1.0, 10.0),
        Param(
            "abstain_threshold",
            contract.ABSTAIN_THRESHOLD,
            "hold (send nothing, forget the plan) while a chunk's abstain, the policy's probability that the "
            "instruction names nothing in view, is at or above this; 0 always holds",
            0.0,
            1.0,
        ),
        Param("estop_topic", "estop", "std_msgs/Empty: latch the e-stop"),
        Param("estop_reset_topic", "estop_reset", "std_msgs/Empty: clear the e-stop"),
        DIAGNOSTICS_PERIOD,
        Param("autostart", False, "configure and activate at start-up (no lifecycle manager needed)"),
    ]
)

SIM_BRIDGE = ROBOT + [
    Param("camera_names", ["front", "wrist"], "cameras to publish, as camera/<name>/image_raw"),
    Param("joint_states_topic", "joint_states", "sensor_msgs/JointState topic"),
    Param("instruction_topic", "instruction", "std_msgs/String instruction topic (latched)"),
    Param("controller_name", "arm_controller", "follows <controller_name>/joint_trajectory"),
    Param("suite", "tabletop", "task suite"),
    Param("task", "pick_red_cube", "task name ('' cycles through the suite at each reset)"),
    Param("seed", 0, "layout seed of the first episode; each reset takes the next", 0, 2**31 - 1),
    Param("instructions", "train", "instruction templates", choices=("train", "heldout")),
    Param("image_size", 128, "camera frames, px (square)", 16, 1024),
    Param(
        "episode_seconds",
        0.0,
        "an episode's time limit (s; 0: the task's own, the policy's); raise it for a person teleoperating",
        0.0,
        3600.0,
    ),
]

RECORDER = (
    ROBOT
    + CAMERAS
    + [
        Param("dataset_root", "", "LeRobot v3 dataset folder (created, or resumed when it exists)"),
        Param("action_topic", "leader/joint_states", "commanded action topic"),
        Param(
            "action_type",
            "joint_state",
            "message type of action_topic",
            choices=("joint_state", "joint_trajectory"),
        ),
        Param("max_frame_age_s", 0.2, "frames are not recorded while any input is older (s)", 0.001, 10.0),
        Param("vcodec", "libsvtav1", "video codec of the dataset's cameras"),
    ]
)


def declare(node, specs: list[Param]) -> None:
    """Declare `specs` on an rclpy node with descriptors (type, range, choices in the description)."""
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    for spec in specs:
        description = spec.description + (f" (one of: {', '.join(spec.choices)})" if spec.choices else "")
        descriptor = ParameterDescriptor(description=description)
        if isinstance(spec.default, float) and spec.low is not None:
            descriptor.floating_point_range = [FloatingPointRange(from_value=spec.low, to_value=spec.high)]
        elif isinstance(spec.default, int) and not isinstance(spec.default, bool) and spec.low is not None:
            descriptor.integer_range = [
                IntegerRange(from_value=int(spec.low), to_value=int(spec.high), step=1)
            ]
        node.declare_parameter(spec.name, spec.default, descriptor)


def values(node, specs: list[Param]) -> dict:
    """Current values by name; a choice outside its list raises naming the parameter."""
    result = {spec.name: node.get_parameter(spec.name).value for spec in specs}
    for spec in specs:
        if spec.choices and result[spec.name] not in spec.choices:
            raise ValueError(f"parameter {spec.name}={result[spec.name]!r}; expected one of {spec.choices}")
    return result
