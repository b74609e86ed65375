"""`vla data from-bag`: an MCAP bag written here (with `rosbags`, as `ros2 bag record` would) becomes a
LeRobot v3 episode that `vla data check` passes and LeRobot loads; bad bags fail with one line naming the
bag and topic, and leave no dataset behind (nor damage one that exists).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

JOINTS = ["shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper"]
GRIPPER_RANGE_RAD = (-0.17453298, 1.7453292)  # config/so101.yaml: gripper 0 % and 100 %
SIZE = 32  # px, square frames
RATE_HZ = 30
INSTRUCTION = "push the yellow cube to the left"


def follower_rad(k: int) -> np.ndarray:
    """The follower's joints at message k (radians): a ramp per joint, the gripper at mid-range."""
    return np.array([0.01 * k, -0.02 * k, 0.5, -0.3, 0.0, 0.7853997], np.float64)


def leader_rad(k: int) -> np.ndarray:
    return follower_rad(k) + 0.05


def write_bag(
    path: Path,
    messages: int = 30,
    topics: tuple[str, ...] = ("front", "wrist", "joints", "leader", "instruction"),
    corrupt_frame_at: int | None = None,
    silent: tuple[str, ...] = (),
) -> Path:
    """An MCAP rosbag2 at `path` (a folder with metadata.yaml and one .mcap), `messages` of each topic at
    30 Hz of bag time; `silent` topics are declared but get no messages. Returns the .mcap file."""
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    types = store.types
    Time, Header = types["builtin_interfaces/msg/Time"], types["std_msgs/msg/Header"]
    Image, JointState = types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/JointState"]
    String = types["std_msgs/msg/String"]
    start_ns = 1_700_000_000 * 10**9
    with Writer(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connections = {}
        for name in ("front", "wrist"):
            if name in topics:
                connections[name] = writer.add_connection(
                    f"/camera/{name}/image_raw", Image.__msgtype__, typestore=store
                )
        if "joints" in topics:
            connections["joints"] = writer.add_connection(
                "/joint_states", JointState.__msgtype__, typestore=store
            )
        if "leader" in topics:
            connections["leader"] = writer.add_connection(
                "/leader/joint_states", JointState.__msgtype__, typestore=store
            )
        if "instruction" in topics:
            connections["instruction"] = writer.add_connection(
                "/instruction", String.__msgtype__, typestore=store
            )
            writer.write(
                connections["instruction"],
                start_ns,
                store.serialize_cdr(String(INSTRUCTION), String.__msgtype__),
            )
        for k in range(messages):
            t_ns = start_ns + k * 10**9 // RATE_HZ + 1_000_000  # 1 ms after the instruction
            header = Header(stamp=Time(sec=t_ns // 10**9, nanosec=t_ns % 10**9), frame_id="")
            for name, value in (("front", 40), ("wrist", 200)):
                if name not in connections or name in silent:
                    continue
                pixels = np.full((SIZE, SIZE, 3), value, np.uint8)
                data = pixels.reshape(-1)[: -7 if k == corrupt_frame_at else None]
                msg = Image(header, SIZE, SIZE, "rgb8", 0, SIZE * 3, data)
                writer.write(connections[name], t_ns, store.serialize_cdr(msg, Image.__msgtype__))
            for name, positions in (("joints", follower_rad(k)), ("leader", leader_rad(k))):
                if name in connections:
                    msg = JointState(header, JOINTS, positions, np.zeros(0), np.zeros(0))
                    writer.write(connections[name], t_ns, store.serialize_cdr(msg, JointState.__msgtype__))
    (mcap,) = path.glob("*.mcap")
    return mcap


def run_cli(*argv: str) -> int:
    """`vla data ...` through the subcommand module, as vla/cli.py wires it."""
    from vla import cli_data

    parser = argparse.ArgumentParser(prog="vla")
    cli_data.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.run(args)


def test_bag_becomes_an_episode_that_check_passes_and_lerobot_loads(tmp_path, capsys):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    mcap = write_bag(tmp_path / "teleop_bag")
    root = tmp_path / "dataset"
    assert run_cli("from-bag", str(mcap), str(root)) == 0
    out = capsys.readouterr().out
    assert f"episode 0 from {mcap}" in out and repr(INSTRUCTION) in out

    assert run_cli("check", str(root)) == 0
    assert "OK: 0 errors" in capsys.readouterr().out

    dataset = LeRobotDataset("local/dataset", root=root)
    # Messages at 0..29 periods (+1 ms) are sampled at the first message's time and each period after it:
    # 29 grid times fall before the last message, so 29 frames.
    assert dataset.meta.total_episodes == 1 and len(dataset) == 29
    degrees = np.rad2deg(follower_rad(10))
    frame = dataset[10]
    state, action = frame["observation.state"].numpy(), frame["action"].numpy()
    np.testing.assert_allclose(state[:5], degrees[:5], atol=1e-3)  # arm joints: radians -> degrees
    assert state[5] == pytest.approx(50.0, abs=1e-3)  # gripper at mid-range -> 50 %
    np.testing.assert_allclose(action[:5], np.rad2deg(leader_rad(10))[:5], atol=1e-3)
    assert frame["task"] == INSTRUCTION
    front = frame["observation.images.front"].numpy()  # (3, H, W) float in [0, 1]
    assert front.shape == (3, SIZE, SIZE) and abs(front.mean() - 40 / 255) < 0.05

    # A second bag appends a second episode, with the task given on the command line.
    second = write_bag(tmp_path / "second_bag", messages=12, topics=("front", "wrist", "joints", "leader"))
    assert run_cli("from-bag", str(second), str(root), "--task", "wave") == 0
    assert LeRobotDataset("local/dataset", root=root).meta.total_episodes == 2


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_topic", "topic /leader/joint_states not in the bag"),
        ("empty_topic", "topic /camera/wrist/image_raw has no messages"),
        ("not_a_bag", "cannot read as a rosbag2 / MCAP bag"),
        ("missing_file", "no such file or folder"),
        ("truncated", "/bag.mcap: "),  # cut mid-file, as a full disk or a killed recorder leaves it
    ],
)
def test_bad_bag_is_one_line_naming_it_and_leaves_no_dataset(tmp_path, capsys, case, expected):
    if case == "missing_topic":
        bag = write_bag(tmp_path / "bag", topics=("front", "wrist", "joints", "instruction"))
    elif case == "empty_topic":
        bag = write_bag(tmp_path / "bag", silent=("wrist",))
    elif case == "not_a_bag":
        bag = tmp_path / "recording.mcap"
        bag.write_bytes(b"this is not an MCAP file")
    elif case == "truncated":
        bag = write_bag(tmp_path / "bag")
        bag.write_bytes(bag.read_bytes()[: bag.stat().st_size * 2 // 3])
    else:
        bag = tmp_path / "nothing.mcap"
    root = tmp_path / "dataset"
    assert run_cli("from-bag", str(bag), str(root)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and str(bag) in err, err
    assert not root.exists()


def test_corrupt_frame_mid_bag_leaves_the_existing_dataset_intact(tmp_path, capsys):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = tmp_path / "dataset"
    assert run_cli("from-bag", str(write_bag(tmp_path / "good")), str(root)) == 0
    bad = write_bag(tmp_path / "bad", corrupt_frame_at=15)
    assert run_cli("from-bag", str(bad), str(root)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/camera/front/image_raw" in err and "bytes of data" in err, err
    assert run_cli("check", str(root)) == 0
    assert LeRobotDataset("local/dataset", root=root).meta.total_episodes == 1

    # A new dataset from the same bad bag is removed again.
    assert run_cli("from-bag", str(bad), str(tmp_path / "fresh")) == 1
    assert not (tmp_path / "fresh").exists()


def test_topics_and_units_come_from_the_nodes_parameters_file():
    """`--params-file config/so101.yaml --namespace arm1`: the nodes' topics, as a bag records them."""
    from vla.data.from_bag import conversion_from_params

    config = Path(__file__).resolve().parent.parent / "ros2_ws" / "src" / "vla_ros" / "config" / "so101.yaml"
    conversion = conversion_from_params(config, "arm1", task="wave")
    assert conversion.topics.cameras == {
        "front": "/arm1/camera/front/image_raw",
        "wrist": "/arm1/camera/wrist/image_raw",
    }
    assert (conversion.topics.joint_states, conversion.topics.action) == (
        "/arm1/joint_states",
        "/arm1/leader/joint_states",
    )
    assert conversion.fps == 30 and conversion.task == "wave" and conversion.joint_names == tuple(JOINTS)
    assert conversion.gripper_range_rad == pytest.approx(GRIPPER_RANGE_RAD)
