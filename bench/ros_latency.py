"""Observation-to-command latency and the control rate held, through ROS 2 on this machine.

Starts sim_bridge_node and policy_node as processes (real rclpy, a private DDS domain), lets the closed
loop run, and reports:
- observation-to-command latency p50 / p99: from the capture stamp of the oldest camera frame a chunk was
  computed from to the first command built from that chunk (the node measures it on the ROS clock and
  reports it on /diagnostics): transport, queueing, inference and waiting for the control tick;
- commands per second received by a subscriber, and the gaps between commands (p50 / p99 / max).

    .venv/bin/python bench/ros_latency.py --export exports/tabletop_nano --seconds 60 [--variant int8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ros_harness import DriverNode, NodeProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="export folder (vla export)")
    parser.add_argument("--variant", default="fp32")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--task", default="pick_red_cube")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from diagnostic_msgs.msg import DiagnosticArray
    from trajectory_msgs.msg import JointTrajectory

    domain = 42
    logs = Path(tempfile.mkdtemp(prefix="ros_latency_"))
    bridge = NodeProcess("sim_bridge_node", logs / "bridge.log", domain, task=args.task)
    policy = NodeProcess(
        "policy_node",
        logs / "policy.log",
        domain,
        export_dir=args.export,
        variant=args.variant,
        autostart="true",
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
        if not driver.spin_until(lambda: len(arrivals) > 30, 120):
            print(policy.output()[-3000:], bridge.output()[-3000:])
            return 1
        start, first = time.monotonic(), len(arrivals)
        driver.spin_for(args.seconds)
        elapsed = time.monotonic() - start
    finally:
        driver.close()
        policy.stop()
        bridge.stop()
    window = np.diff(arrivals[first:]) * 1e3
    last = next(d for d in reversed(diagnostics) if d.get("obs_to_command_p50_ms"))
    figures = {
        "export": str(args.export),
        "variant": args.variant,
        "seconds": elapsed,
        "commands_per_s": (len(arrivals) - first) / elapsed,
        "command_gap_ms": {k: float(np.percentile(window, q)) for k, q in (("p50", 50), ("p99", 99))}
        | {"max": float(window.max())},
        "obs_to_command_ms": {
            "p50": float(last["obs_to_command_p50_ms"]),
            "p99": float(last["obs_to_command_p99_ms"]),
        },
        "inference_ms": {"p50": float(last["inference_p50_ms"]), "p99": float(last["inference_p99_ms"])},
        "starved_ticks": int(last["starved_ticks"]),
        "commands": int(last["commands"]),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
