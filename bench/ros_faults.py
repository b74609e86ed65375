"""Faults injected into policy_node by an independent rclpy "robot" process: what the node did, the
commands it sent outside the joint limits (must be 0) and how long it took to hold.

Starts policy_node as a process (the shipped export unless --export, the config/so101.yaml settings, an
e-stop state file in a temporary folder) and plays the robot from this process: two cameras and stamped
joint states at 30 Hz, the arm following each command's first point, and the instruction. Each fault runs
from a healthy, commanding node:

  impossible_joint   shoulder_pan reads 100 rad for 1.5 s (finite, impossible)
  beyond_limit       shoulder_pan reads 0.4 rad beyond its upper limit for 1.5 s
  stale_camera       the front camera stops for 1.5 s
  frozen_stamp       the front camera keeps sending, its header.stamp frozen, for 1.5 s
  nan_joint          elbow_flex reads NaN for 1.5 s
  estop_kill_restart e-stop, kill -9, restart with autostart, 3 s watched, then estop_reset
  estop_cleanup      e-stop, deactivate -> cleanup -> configure -> activate, 3 s watched, then estop_reset
  empty_instruction  "   " on the instruction topic for 1.5 s, then a real one
  flood              the robot publishes as fast as it can for 1.5 s, 3 joint states per pair of frames
                     (the rates reached are in the row; the node must keep going)

"held": no command came in the second half of the fault; "time to hold" is then the time from the injection
to the last command received after it (0: none came). --vla-ros PATH runs
the node from another copy of the vla_ros package (e.g. an older checkout) to compare.

    .venv/bin/python bench/ros_faults.py [--export DIR] [--json docs/results/ros_faults.json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ros_harness import (
    CONFIG,
    DriverNode,
    NodeProcess,
    image_message,
    joint_message,
    lifecycle_from_new_process,
)

SETTINGS = yaml.safe_load(CONFIG.read_text())["/**"]["ros__parameters"]
LOWER, UPPER = np.array(SETTINGS["joint_lower_limits"]), np.array(SETTINGS["joint_upper_limits"])
PERIOD = 1 / SETTINGS["control_rate_hz"]
FAULT_S = 1.5
HOME = np.array([0.0, -0.3, 0.4, 0.6, 0.0, 0.5])  # radians, inside every limit


class Robot:
    """The fake robot: publishes, follows commands, and carries the fault switches."""

    def __init__(self, driver: DriverNode):
        from rclpy.qos import QoSDurabilityPolicy, QoSProfile, qos_profile_sensor_data
        from sensor_msgs.msg import Image, JointState
        from std_msgs.msg import Empty, String
        from trajectory_msgs.msg import JointTrajectory

        node = driver.node
        self.clock = node.get_clock()
        self.cameras = {
            c: node.create_publisher(Image, f"camera/{c}/image_raw", qos_profile_sensor_data)
            for c in ("front", "wrist")
        }
        self.joints = node.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
        latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
        self.instruction = node.create_publisher(String, "instruction", latched)
        self.estop = node.create_publisher(Empty, "estop", 10)
        self.estop_reset = node.create_publisher(Empty, "estop_reset", 10)
        self.frame = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
        self.position = HOME.copy()
        self.override: dict[int, float] = {}  # joint index -> reading (a fault)
        self.front_on, self.frozen_stamp = True, None
        self.commands: list[tuple[float, np.ndarray]] = []  # (receipt time, (H, J))
        self.published = {"joint_states": 0, "frames": 0}  # messages sent, for the rates of a flood
        self.status: list[tuple[float, dict]] = []
        node.create_subscription(JointTrajectory, "arm_controller/joint_trajectory", self._on_command, 100)
        node.create_subscription(
            String,
            "vla_policy/status",
            lambda m: self.status.append((time.monotonic(), json.loads(m.data))),
            QoSProfile(depth=10, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL),  # a restart's first status
        )
        self.say("pick up the red cube")

    def say(self, text: str) -> None:
        from std_msgs.msg import String

        self.instruction.publish(String(data=text))

    def _on_command(self, msg) -> None:
        points = np.array([p.positions for p in msg.points])
        self.commands.append((time.monotonic(), points))
        self.position = points[0].copy()  # the controller follows

    def publish(self, cameras: bool = True) -> None:
        stamp = self.clock.now().to_msg()
        for camera, publisher in self.cameras.items():
            if not cameras or (camera == "front" and not self.front_on):
                continue
            msg = image_message(self.frame)
            msg.header.stamp = self.frozen_stamp if camera == "front" and self.frozen_stamp else stamp
            publisher.publish(msg)
            self.published["frames"] += 1
        reading = self.position.copy()
        for joint, value in self.override.items():
            reading[joint] = value
        joints = joint_message(reading)
        joints.header.stamp = stamp
        self.joints.publish(joints)
        self.published["joint_states"] += 1

    def commands_between(self, start: float, end: float = float("inf")) -> list[tuple[float, np.ndarray]]:
        return [(t, c) for t, c in self.commands if start < t <= end]


def outside(commands) -> int:
    """Commands (messages) with any point outside the joint limits."""
    return sum(1 for _, c in commands if np.any(c > UPPER + 1e-9) or np.any(c < LOWER - 1e-9))


def what_it_said(robot: Robot, start: float, end: float) -> tuple[str, list[str]]:
    """The node's own words on ~/status between `start` and `end`: the detail in effect at `end` (what
    the fault left it doing) and every distinct non-OK detail on the way."""
    said = [(t, s) for t, s in robot.status if t <= end]
    last = said[-1][1]["detail"] if said else ""
    seen = [s["detail"] for t, s in said if t > start and s.get("level", "warn") != "ok"]
    return last, list(dict.fromkeys(seen))


class Bench:
    def __init__(self, export: Path, vla_ros: Path | None):
        self.export, self.domain = export, 57
        self.logs = Path(tempfile.mkdtemp(prefix="ros_faults_"))
        if vla_ros is not None:  # run the node from another copy of the package
            os.environ["PYTHONPATH"] = f"{vla_ros}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        self.starts = 0
        self.policy = self.start_policy()
        self.driver = DriverNode(self.domain, "ros_faults_robot")
        self.robot = Robot(self.driver)

    def start_policy(self) -> NodeProcess:
        self.starts += 1
        return NodeProcess(
            "policy_node",
            self.logs / f"policy{self.starts}.log",
            self.domain,
            export_dir=self.export,
            autostart="true",
            estop_state_file=self.logs / "estop.json",
        )

    def healthy(self, timeout: float = 90) -> bool:
        since = time.monotonic()
        return self.driver.spin_until(
            lambda: len(self.robot.commands_between(since)) > 10, timeout, self.robot.publish
        )

    def run(
        self, name: str, inject, clear, watch_s: float = FAULT_S, publish=None, period: float = PERIOD
    ) -> dict:
        """Healthy -> inject() -> watch for `watch_s` (publishing with `publish` every `period`) -> clear()
        -> healthy again; returns the row of the table."""
        robot = self.robot
        if not self.healthy():
            return {
                "fault": name,
                "node_did": "never commanded before the fault",
                "commands_outside_limits": None,
            }
        injected, published = time.monotonic(), dict(robot.published)
        inject()
        self.driver.spin_for(watch_s, publish or robot.publish, period)
        cleared = time.monotonic()
        watched = robot.commands_between(injected, cleared)
        rates = {k: round((robot.published[k] - published[k]) / (cleared - injected)) for k in published}
        clear()
        recovered = self.healthy(60)
        # Held: nothing in the second half of the fault (a frozen stamp is only stale after max_input_age_s +
        # max_clock_offset_s); the time to hold is then that of the last command after the injection.
        late = [t for t, _ in watched if t > injected + watch_s / 2]
        said, seen = what_it_said(robot, injected, cleared)
        return {
            "fault": name,
            "held": not late,
            "node_did": (f"held ({said})" if not late else f"kept sending ({len(watched)} commands)")
            + ("" if recovered else "; did not resume"),
            "commands_during_fault": len(watched),
            "commands_outside_limits": outside(robot.commands_between(injected)),
            "time_to_hold_s": round(max((t for t, _ in watched), default=injected) - injected, 3)
            if not late
            else None,
            "resumed": recovered,
            "status_details_during_fault": seen,
            "command_times_s": [round(t - injected, 3) for t, _ in watched],  # after the injection
            "robot_publish_hz": rates,
        }

    def joint_fault(self, joint: int, value: float):
        return lambda: self.robot.override.__setitem__(joint, value), lambda: self.robot.override.clear()

    def estop_then(self, name: str, action) -> dict:
        """E-stop, then `action()` (a restart or a lifecycle cycle), 3 s watched, then estop_reset."""
        from std_msgs.msg import Empty

        def inject():
            self.robot.estop.publish(Empty())
            self.driver.spin_for(0.5, self.robot.publish, PERIOD)
            action()

        return self.run(name, inject, lambda: self.robot.estop_reset.publish(Empty()), watch_s=3.0)

    def kill_and_restart(self) -> None:
        self.policy.stop(signal.SIGKILL)
        self.policy = self.start_policy()
        since = time.monotonic()  # wait for the new process to be up (it reports its lifecycle)
        self.driver.spin_until(
            lambda: any(s["lifecycle"] == "active" for t, s in self.robot.status if t > since),
            60,
            self.robot.publish,
        )

    def lifecycle_cycle(self) -> None:
        for transition in (4, 2, 1, 3):  # deactivate, cleanup, configure, activate
            lifecycle_from_new_process(self.domain, transition)

    def flood(self) -> None:
        for _ in range(3):  # 3 joint states and one frame per camera each millisecond, as far as it keeps up
            self.robot.publish(cameras=False)
        self.robot.publish()

    def close(self) -> None:
        self.driver.close()
        self.policy.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, help="export folder (vla export); default: the shipped policy")
    parser.add_argument("--vla-ros", type=Path, help="run policy_node from this vla_ros package folder")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    export = args.export or shipped_export()
    bench = Bench(export.resolve(), args.vla_ros)
    robot, rows = bench.robot, []
    try:
        rows.append(bench.run("impossible_joint (shoulder_pan 100 rad)", *bench.joint_fault(0, 100.0)))
        rows.append(
            bench.run("beyond_limit (shoulder_pan limit + 0.4 rad)", *bench.joint_fault(0, UPPER[0] + 0.4))
        )
        rows.append(
            bench.run(
                "stale_camera (front stops)",
                lambda: setattr(robot, "front_on", False),
                lambda: setattr(robot, "front_on", True),
            )
        )
        rows.append(
            bench.run(
                "frozen_stamp (front header.stamp frozen)",
                lambda: setattr(robot, "frozen_stamp", robot.clock.now().to_msg()),
                lambda: setattr(robot, "frozen_stamp", None),
            )
        )
        rows.append(bench.run("nan_joint (elbow_flex NaN)", *bench.joint_fault(2, float("nan"))))
        rows.append(bench.estop_then("estop + kill -9 + restart (autostart)", bench.kill_and_restart))
        rows.append(bench.estop_then("estop + deactivate/cleanup/configure/activate", bench.lifecycle_cycle))
        rows.append(
            bench.run(
                'empty_instruction ("   ")',
                lambda: robot.say("   "),
                lambda: robot.say("pick up the red cube"),
            )
        )
        rows.append(
            flood := bench.run(
                "flood (robot publishing as fast as it can)",
                lambda: None,
                lambda: None,
                publish=bench.flood,
                period=1e-3,
            )
        )
        rates = flood.get("robot_publish_hz", {})
        flood["node_did"] += (
            f" (robot: {rates.get('joint_states')} joint states/s, {rates.get('frames')} frames/s)"
        )
    finally:
        bench.close()
    result = {
        "export": str(export),
        "node": str(args.vla_ros or "this checkout"),
        "control_rate_hz": SETTINGS["control_rate_hz"],
        "max_input_age_s": SETTINGS["max_input_age_s"],
        "rows": rows,
        "logs": str(bench.logs),
    }
    print(markdown(rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r.get("commands_outside_limits") == 0 for r in rows) else 1


def markdown(rows: list[dict]) -> str:
    lines = [
        "| fault | what the node did | commands outside limits | time to hold (s) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        hold = "-" if r.get("time_to_hold_s") is None else f"{r['time_to_hold_s']:.3f}"
        lines.append(f"| {r['fault']} | {r['node_did']} | {r.get('commands_outside_limits')} | {hold} |")
    return "\n".join(lines)


def shipped_export() -> Path:
    from vla.default_policy import SHIPPED_POLICY
    from vla.export import export_policy

    out = Path(tempfile.mkdtemp(prefix="ros_faults_export_")) / "export"
    return Path(export_policy(SHIPPED_POLICY, out, variants=["fp32"], progress=lambda message: None))


if __name__ == "__main__":
    sys.exit(main())
