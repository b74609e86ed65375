"""Task success through ROS 2 against the same seeds in `vla eval`: what the ROS path costs a policy.

Starts sim_bridge_node (seed 0, then `~/reset` for 1, 2, ...) and policy_node with an export as
processes (real rclpy, a private DDS domain), and counts the episodes whose latched `/success` turns
true within the task's time limit (plus slack for start-up). Compare with `per_episode` of
`vla eval --policy <export> --task <task>` on seeds 0..N-1.

    .venv/bin/python bench/ros_success.py --export exports/tabletop_nano --episodes 12 \
        [--param blend_steps:=0 ...]   # parameters over config/so101.yaml, given to both nodes
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ros_harness import DriverNode, NodeProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export", type=Path, required=True, help="export folder (vla export)")
    parser.add_argument("--task", default="push_yellow_cube_left")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=45.0, help="wall seconds per episode")
    parser.add_argument("--param", action="append", default=[], help="NAME:=VALUE for both nodes")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    overrides = dict(param.split(":=", 1) for param in args.param)

    from rclpy.qos import QoSDurabilityPolicy, QoSProfile
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    domain, logs = 43, Path(tempfile.mkdtemp(prefix="ros_success_"))
    bridge = NodeProcess("sim_bridge_node", logs / "bridge.log", domain, task=args.task, seed=0, **overrides)
    policy = NodeProcess(
        "policy_node",
        logs / "policy.log",
        domain,
        export_dir=args.export.resolve(),
        autostart="true",
        **overrides,
    )
    driver = DriverNode(domain)
    latest, outcomes = [False], []
    latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
    driver.node.create_subscription(Bool, "success", lambda m: latest.__setitem__(0, m.data), latched)
    try:
        for seed in range(args.episodes):
            if seed:
                driver.call(Trigger, "vla_sim_bridge/reset", Trigger.Request(), timeout=60)
                latest[0] = False
            outcomes.append(driver.spin_until(lambda: latest[0], timeout=args.timeout))
            print(f"seed {seed}: {'success' if outcomes[-1] else 'failure'}", flush=True)
    finally:
        driver.close()
        policy.stop()
        bridge.stop()
    result = {"task": args.task, "export": str(args.export), "parameters": overrides}
    result |= {"seeds": list(range(len(outcomes)))}
    result |= {"successes": sum(outcomes), "episodes": len(outcomes), "per_seed": outcomes}
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
