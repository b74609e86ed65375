"""A ROS 2 bag (MCAP) of camera, joint and leader topics -> one episode of a LeRobot v3 dataset.

The bag is what `ros2 bag record` writes while someone teleoperates the arm: the cameras, the follower's
`joint_states` (the observation), the leader's `leader/joint_states` or the controller's JointTrajectory
(the action) and, optionally, the `instruction` string. It is read with the pure-Python `rosbags`
library (no ROS install) and resampled the way `recorder_node` samples live topics: at `fps`, each frame
holds the latest message of every topic; frames where any input is older than `max_frame_age_s` are
skipped, as the recorder skips them. Positions on the topics are radians (REP 103); the dataset stores
so101_follower units (degrees, gripper 0-100), converted by `vla_ros.units.PolicyUnits`, the one
conversion every node uses. Frames go through `vla.data.recorder.DatasetRecorder`, the writer of
`vla record` and `recorder_node`, so the dataset is the same format.

Everything that can be checked before writing (the bag opens, each topic exists with a usable type and
has messages) is checked first; an error later (a corrupt frame) discards the episode, and removes
the dataset folder when this run created it. A bad bag never leaves a half-made dataset.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vla.contract import GRIPPER_JOINT, GRIPPER_RANGE_RAD, JOINT_NAMES

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
JOINT_STATE = "sensor_msgs/msg/JointState"
JOINT_TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
STRING = "std_msgs/msg/String"
NS_PER_S = 1_000_000_000


class BagError(ValueError):
    """A bag that cannot become a dataset; the message names the bag and the topic."""


@dataclass(frozen=True)
class BagTopics:
    """Absolute topic names in the bag (what `ros2 bag record` saw, namespace included)."""

    cameras: dict[str, str] = field(
        default_factory=lambda: {"front": "/camera/front/image_raw", "wrist": "/camera/wrist/image_raw"}
    )
    joint_states: str = "/joint_states"
    action: str = "/leader/joint_states"  # sensor_msgs/JointState, or a JointTrajectory (first point)
    instruction: str = "/instruction"  # std_msgs/String; optional when `task` is given


@dataclass(frozen=True)
class BagConversion:
    """How the bag is sampled and converted. Robot fields match config/so101.yaml."""

    topics: BagTopics = field(default_factory=BagTopics)
    fps: int = 30
    max_frame_age_s: float = 0.2  # recorder_node's default: skip frames with an input older than this
    task: str = ""  # the episode's instruction; '' reads it from the instruction topic
    joint_names: tuple[str, ...] = JOINT_NAMES
    gripper_joint: str = GRIPPER_JOINT
    gripper_range_rad: tuple[float, float] = GRIPPER_RANGE_RAD  # [closed, open]
    vcodec: str = "libsvtav1"

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.max_frame_age_s <= 0:
            raise ValueError("fps and max_frame_age_s must be positive")


def absolute_topic(topic: str, namespace: str = "") -> str:
    """A node-relative topic (`camera/front/image_raw`) as recorded in a bag: `/<namespace>/<topic>`."""
    if topic.startswith("/"):
        return topic
    prefix = "/" + namespace.strip("/") if namespace.strip("/") else ""
    return f"{prefix}/{topic}"


def conversion_from_params(params_file: Path | None, namespace: str = "", **overrides) -> BagConversion:
    """A BagConversion from a vla_ros parameters file (config/so101.yaml: robot, camera and recorder
    entries of its first section), topics resolved in `namespace`; `overrides` replace fields."""
    values: dict = {}
    if params_file is not None:
        import yaml

        try:
            document = yaml.safe_load(Path(params_file).read_text())
            values = next(iter(document.values()))["ros__parameters"]
        except (OSError, yaml.YAMLError, AttributeError, KeyError, StopIteration, TypeError) as error:
            raise BagError(
                f"{params_file}: not a ROS parameters file (<node>: ros__parameters: ...): {error}"
            ) from error
    default = BagConversion()
    names = values.get("camera_names")
    topics = BagTopics(
        cameras={
            name: absolute_topic(topic, namespace)
            for name, topic in zip(names, values["camera_topics"], strict=True)
        }
        if names
        else {
            name: absolute_topic(topic.lstrip("/"), namespace)
            for name, topic in default.topics.cameras.items()
        },
        joint_states=absolute_topic(values.get("joint_states_topic", "joint_states"), namespace),
        action=absolute_topic(values.get("action_topic", "leader/joint_states"), namespace),
        instruction=absolute_topic(values.get("instruction_topic", "instruction"), namespace),
    )
    fields = {
        "topics": topics,
        "fps": round(values.get("control_rate_hz", default.fps)),
        "max_frame_age_s": values.get("max_frame_age_s", default.max_frame_age_s),
        "joint_names": tuple(values.get("joint_names", default.joint_names)),
        "gripper_joint": values.get("gripper_joint", default.gripper_joint),
        "gripper_range_rad": tuple(values.get("gripper_range_rad", default.gripper_range_rad)),
        "vcodec": values.get("vcodec", default.vcodec),
    }
    return BagConversion(**(fields | {k: v for k, v in overrides.items() if v is not None}))


@dataclass(frozen=True)
class BagEpisode:
    """What one conversion wrote."""

    root: Path
    episode_index: int
    frames: int
    skipped: int  # grid times with a stale input (not recorded)
    task: str


@dataclass
class _Latest:
    """The latest value of every input and its bag time (ns); filled as messages stream by."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)
    state: np.ndarray | None = None
    action: np.ndarray | None = None
    task: str = ""
    times: dict[str, int | None] = field(default_factory=dict)


def convert_bag(bag: Path, root: Path, conversion: BagConversion = BagConversion()) -> BagEpisode:
    """Append the bag as one episode to the dataset at `root` (created when it does not exist).

    `bag` is a `.mcap` file or a rosbag2 folder (metadata.yaml beside the storage files). Raises BagError
    naming the bag and the topic for a missing topic, a wrong message type, an empty topic, an unreadable
    bag or a frame that cannot be decoded; nothing is then left in `root` that was not there before.
    """
    from rosbags.highlevel import AnyReader
    from rosbags.typesys import Stores, get_typestore

    bag, root = Path(bag), Path(root)
    if not bag.exists():
        raise BagError(f"{bag}: no such file or folder")
    try:
        reader = AnyReader([bag], default_typestore=get_typestore(Stores.ROS2_JAZZY))
        reader.open()
    except Exception as error:  # rosbags raises several types for a file that is not a bag
        raise BagError(f"{bag}: cannot read as a rosbag2 / MCAP bag: {error}") from error
    try:
        connections = _check_topics(bag, reader, conversion)
        return _write_episode(bag, root, reader, connections, conversion)
    finally:
        reader.close()


def _check_topics(bag: Path, reader, conversion: BagConversion) -> dict[str, list]:
    """Role -> the bag's connections for it; raises BagError naming the first topic that is unusable."""
    topics = conversion.topics
    wanted = {f"camera:{name}": (topic, IMAGE_TYPES) for name, topic in topics.cameras.items()}
    wanted["joint_states"] = (topics.joint_states, (JOINT_STATE,))
    wanted["action"] = (topics.action, (JOINT_STATE, JOINT_TRAJECTORY))
    if not conversion.task:
        wanted["instruction"] = (topics.instruction, (STRING,))
    present = {c.topic for c in reader.connections}
    connections: dict[str, list] = {}
    for role, (topic, types) in wanted.items():
        found = [c for c in reader.connections if c.topic == topic]
        if not found:
            hint = " (or give the task with --task)" if role == "instruction" else ""
            raise BagError(f"{bag}: topic {topic} not in the bag{hint}; it has {sorted(present)}")
        bad = sorted({c.msgtype for c in found if c.msgtype not in types})
        if bad:
            raise BagError(f"{bag}: topic {topic} has type {bad[0]}; expected one of {list(types)}")
        if sum(c.msgcount for c in found) == 0:
            raise BagError(f"{bag}: topic {topic} has no messages")
        connections[role] = found
    return connections


def _write_episode(bag: Path, root: Path, reader, connections: dict[str, list], conversion) -> BagEpisode:
    from vla.data.features import so101_features
    from vla.data.recorder import DatasetRecorder

    created = not (root / "meta" / "info.json").exists()
    if created and root.exists() and any(root.iterdir()):
        raise BagError(f"{root}: exists and is not a LeRobot dataset; give a new or a dataset folder")
    frames = _frames(bag, reader, connections, conversion)
    recorder = None
    try:
        first = next(frames, None)
        if first is None:
            raise BagError(
                f"{bag}: no instant at which every topic had a message younger than "
                f"{conversion.max_frame_age_s} s: nothing to record"
            )
        images, state, action, task = first
        sizes = {camera: image.shape[:2] for camera, image in images.items()}
        recorder = DatasetRecorder(
            root, fps=conversion.fps, features=so101_features(sizes), vcodec=conversion.vcodec
        )
        recorder.add_frame(images, state, action, task)
        for images, state, action, task in frames:
            recorder.add_frame(images, state, action, task)
        count = recorder.frames_in_episode
        recorder.save_episode()
        episode = BagEpisode(root, recorder.num_episodes - 1, count, frames.skipped, first[3])
        recorder.close()
        return episode
    except BaseException:
        if recorder is not None:
            recorder.close()  # drops the unfinished episode; earlier episodes stay intact
        if created and root.exists():
            shutil.rmtree(root)
        raise


class _FrameStream:
    """Iterates (images, state, action, task) at the dataset's fps; `skipped` counts stale grid times."""

    def __init__(self, generator_factory):
        self.skipped = 0
        self._iterator = generator_factory(self)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._iterator)


def _frames(bag: Path, reader, connections: dict[str, list], conversion: BagConversion) -> _FrameStream:
    """Sample-and-hold at `fps` over the bag's receive times, as recorder_node's timer does live."""
    from vla_ros.images import message_to_rgb
    from vla_ros.units import PolicyUnits, ordered_positions

    units = PolicyUnits(
        tuple(conversion.joint_names), conversion.gripper_joint, *conversion.gripper_range_rad
    )
    role_of = {c.topic: role for role, found in connections.items() for c in found}
    max_age_ns = int(conversion.max_frame_age_s * NS_PER_S)
    inputs = [role for role in connections if role != "instruction"]

    def decode(role: str, topic: str, msg) -> None:
        if role.startswith("camera:"):
            latest.frames[role.split(":", 1)[1]] = message_to_rgb(topic, msg)
        elif role == "joint_states":
            latest.state = units.to_policy(ordered_positions(msg.name, msg.position, units.joint_names))
        elif role == "action":
            if hasattr(msg, "points"):  # JointTrajectory: the first point is what the arm was told now
                if len(msg.points) == 0:
                    return
                names, positions = msg.joint_names, msg.points[0].positions
            else:
                names, positions = msg.name, msg.position
            latest.action = units.to_policy(ordered_positions(names, positions, units.joint_names))
        else:
            latest.task = msg.data.strip()

    latest = _Latest(task=conversion.task, times=dict.fromkeys(inputs))

    def generate(stream: _FrameStream) -> Iterator[tuple]:
        start_ns: int | None = None  # grid time 0: when every input has arrived
        next_ns, index = None, 0  # the next grid time (ns) and its frame number
        all_connections = [c for found in connections.values() for c in found]
        messages, timestamp = reader.messages(connections=all_connections), 0
        while True:
            try:
                connection, timestamp, raw = next(messages)
            except StopIteration:
                return
            except Exception as error:  # a truncated or corrupt file: rosbags' own error types
                raise BagError(f"{bag}: unreadable after {timestamp / NS_PER_S:.3f} s: {error}") from error
            # Emit every grid time before this message: they see the inputs as they were.
            while next_ns is not None and next_ns < timestamp:
                ages = [next_ns - t for t in latest.times.values()]
                if max(ages) > max_age_ns or not latest.task:
                    stream.skipped += 1
                else:
                    yield dict(latest.frames), latest.state, latest.action, latest.task
                index += 1
                next_ns = start_ns + index * NS_PER_S // conversion.fps  # exact: no drift over long bags
            role = role_of[connection.topic]
            try:
                decode(role, connection.topic, reader.deserialize(raw, connection.msgtype))
            except Exception as error:  # ImageError, ValueError (joints), rosbags' deserialization errors
                raise BagError(
                    f"{bag}: {connection.topic} at {timestamp / NS_PER_S:.3f} s: {error}"
                ) from error
            if role != "instruction":
                latest.times[role] = timestamp
            if start_ns is None and all(t is not None for t in latest.times.values()):
                start_ns = next_ns = timestamp

    return _FrameStream(generate)
