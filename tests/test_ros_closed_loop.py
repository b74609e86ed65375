"""The closed loop through ROS 2: sim_bridge_node + policy_node (the shipped policy, exported for the
runtime) as separate processes complete a seeded episode.

The task is `push_yellow_cube_left`, the shipped policy's most reliable (100 % in `vla eval` at 100
episodes, docs/RESULTS.md). Under test is the ROS path: cameras and joint states out, chunked trajectories
in, resets between episodes. A task the policy cannot do would not show it. Through ROS the push succeeds
on 12 of seeds 0–11 (`bench/ros_success.py`, 2026-12-04), so the test asks for one success in up to six
episodes. The code before 706448d, which planned each new episode from the previous scene, got 1–3 of 12
with an earlier policy and would fail it often. Asking for most of a handful would catch less for the ROS
path than it would add in chance failures; the bench holds that figure.
"""

from __future__ import annotations

import pytest

from tests.ros_harness import DriverNode, NodeProcess
from tests.test_ros_nodes import domain

pytestmark = [pytest.mark.ros, pytest.mark.slow]

TASK = "push_yellow_cube_left"


def test_closed_loop_through_ros_completes_a_task(shipped_export, tmp_path):
    """sim_bridge_node + policy_node, the shipped policy: seeded episodes until one succeeds (6 at most)."""
    from rclpy.qos import QoSDurabilityPolicy, QoSProfile
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    max_episodes, ros_domain = 6, domain()
    bridge = NodeProcess("sim_bridge_node", tmp_path / "bridge.log", ros_domain, task=TASK, seed=0)
    policy = NodeProcess(
        "policy_node", tmp_path / "policy.log", ros_domain, export_dir=shipped_export, autostart="true"
    )
    test = DriverNode(ros_domain)
    outcomes, latest = [], [False]
    latched = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL)
    test.node.create_subscription(Bool, "success", lambda m: latest.__setitem__(0, m.data), latched)
    try:
        while len(outcomes) < max_episodes and not any(outcomes):
            if outcomes:
                test.call(Trigger, "vla_sim_bridge/reset", Trigger.Request(), timeout=60)
                latest[0] = False
            # The push allows 10 s of simulated time at 30 Hz; the first episode also waits for start-up.
            outcomes.append(test.spin_until(lambda: latest[0], timeout=45 if not outcomes else 25))
    finally:
        test.close()
        policy.stop()
        bridge.stop()
    assert any(outcomes), f"no success in {len(outcomes)} episodes\n{policy.output()[-2000:]}"
    assert "Traceback" not in policy.output() + bridge.output()
