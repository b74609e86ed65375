"""Observation-to-command latency and the control rate held, through ROS 2 on this machine, per bridge.

For each bridge in `--bridges` in turn (sim_bridge_node: the simulator's own node; robot_bridge_node: the
tabletop_sim LeRobot robot behind the safety layer), starts it and policy_node as processes (real rclpy,
a private DDS domain), lets the closed loop run for `--seconds`, and reports:
- observation-to-command latency p50 / p99: from the capture stamp of the oldest camera frame a chunk was
  computed from to the first command built from that chunk (policy_node measures it on the ROS clock and
  reports it on /diagnostics): transport, queueing, inference and sending;
- inference time p50 / p99 (the same report);
- commands per second received by a subscriber, and the gaps between commands (p50 / p99 / max).

The two bridges publish the same topics at the same rate and stamp frames when they publish them, so the
difference between their rows is the bridge. The export defaults to the shipped policy, exported now.

    .venv/bin/python bench/ros_latency.py --seconds 60 --bridges sim_bridge_node,robot_bridge_node \
        --json docs/results/ros_latency.json
    .venv/bin/python bench/ros_latency.py --export exports/tabletop_nano --bridge robot_bridge_node

`--vla-ros PATH` runs the nodes from another copy of the vla_ros package (an older checkout) to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ros_harness import DriverNode, NodeProcess

GOAL_P99_MS = 50.0  # issue 36


def bridge_params(executable: str, task: str) -> dict:
    """Parameters of each way to put the simulator on ROS."""
    params = {
        "sim_bridge_node": {"task": task},
        "robot_bridge_node": {"robot_type": "tabletop_sim", "robot_options": f'"{{task: {task}}}"'},
    }
    if executable not in params:
        raise SystemExit(f"unknown bridge {executable!r}; expected one of {sorted(params)}")
    return params[executable]


def measure(executable: str, params: dict, export: Path, variant: str, seconds: float, domain: int) -> dict:
    from diagnostic_msgs.msg import DiagnosticArray
    from trajectory_msgs.msg import JointTrajectory

    logs = Path(tempfile.mkdtemp(prefix=f"{executable}_latency_"))
    bridge = NodeProcess(executable, logs / "bridge.log", domain, **params)
    policy = NodeProcess(
        "policy_node", logs / "policy.log", domain, export_dir=export, variant=variant, autostart="true"
    )
    driver = DriverNode(domain, "ros_latency_bench")
    arrivals: list[float] = []
    diagnostics: list[dict] = []
    driver.node.create_subscription(
        JointTrajectory, "arm_controller/joint_trajectory", lambda m: arrivals.append(time.monotonic()), 10
    )
    driver.node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        lambda m: diagnostics.extend({v.key: v.value for v in s.values} for s in m.status),
        10,
    )
    try:
        if not driver.spin_until(lambda: len(arrivals) > 30, 300):
            raise RuntimeError(
                f"{executable}: no commands\n{policy.output()[-3000:]}\n{bridge.output()[-3000:]}"
            )
        start, first = time.monotonic(), len(arrivals)
        driver.spin_for(seconds)
        elapsed = time.monotonic() - start
    finally:
        driver.close()
        policy.stop()
        bridge.stop()
    gaps = np.diff(arrivals[first:]) * 1e3
    last = next(d for d in reversed(diagnostics) if d.get("obs_to_command_p50_ms"))

    def percentiles(p50: float, p99: float) -> dict:
        return {"p50": round(float(p50), 1), "p99": round(float(p99), 1)}

    return {
        "seconds": round(elapsed, 1),
        "commands_per_s": round((len(arrivals) - first) / elapsed, 2),
        "command_gap_ms": percentiles(*np.percentile(gaps, [50, 99])) | {"max": round(float(gaps.max()), 1)},
        "obs_to_command_ms": percentiles(last["obs_to_command_p50_ms"], last["obs_to_command_p99_ms"]),
        "inference_ms": percentiles(last["inference_p50_ms"], last["inference_p99_ms"]),
        "starved_ticks": int(last["starved_ticks"]),
        "commands": int(last["commands"]),
        "chunks": int(last["chunks"]),
        # Other processes on the machine skew every figure above: the 1-minute load average at the end.
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def shipped_export() -> Path:
    from vla.default_policy import SHIPPED_POLICY
    from vla.export import export_policy

    out = Path(tempfile.mkdtemp(prefix="shipped_export_")) / "export"
    return export_policy(SHIPPED_POLICY, out, variants=["fp32"], progress=lambda message: None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--export", type=Path, help="export folder (default: the shipped policy, exported now)"
    )
    parser.add_argument("--variant", default="fp32")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per bridge")
    parser.add_argument("--task", default="push_yellow_cube_left")
    bridges = parser.add_mutually_exclusive_group()
    bridges.add_argument("--bridge", help="one bridge: sim_bridge_node (default) or robot_bridge_node")
    bridges.add_argument("--bridges", help="comma-separated bridges measured one after the other")
    parser.add_argument("--vla-ros", type=Path, help="run the nodes from this vla_ros package folder")
    parser.add_argument("--machine", default=platform.processor() or platform.machine(), help="for the JSON")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    names = (args.bridges or args.bridge or "sim_bridge_node").split(",")
    params = {name: bridge_params(name, args.task) for name in names}
    if args.vla_ros is not None:  # NodeProcess passes the environment on to the nodes
        os.environ["PYTHONPATH"] = f"{args.vla_ros.resolve()}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    export = args.export or shipped_export()
    figures = {
        "machine": args.machine,
        "load_average_1min_start": round(os.getloadavg()[0], 2),
        "export": str(args.export or "shipped policy (vla.default_policy), exported fp32"),
        "variant": args.variant,
        "task": args.task,
        "node": str(args.vla_ros or "this checkout"),
        "goal_obs_to_command_p99_ms": GOAL_P99_MS,
    }
    for domain, name in enumerate(names, start=61):
        figures[name] = measure(name, params[name], export, args.variant, args.seconds, domain)
        print(name, json.dumps(figures[name]), flush=True)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
