"""policy_node's event path (issue 36): a chunk is requested when the frames arrive, and its first command
goes out when the inference finishes, not at the next control tick.

The node runs at 2 Hz while the fake robot publishes at 30 Hz, and asks for a chunk at every tick
(request_ahead_steps covers the whole chunk; one request per tick at most). The tick sends at most one
command per period; the event path adds one per chunk, between the ticks. Commands are counted by their
DDS source timestamps (the node's clock when it sent them) against the tick period, and the node's own
observation-to-command latency is compared with the period: figures relative to the tick, not to how
fast the machine is.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from vla_ros import bridge_parameters, parameters
from vla_ros.policy_inputs import Inputs

from tests.ros_harness import DriverNode, NodeProcess
from tests.test_ros_nodes import Monitor, domain
from tests.test_ros_safety_faults import StampedRobot

pytestmark = [pytest.mark.ros]
RATE_HZ = 2.0
PERIOD = 1 / RATE_HZ


def test_frames_newer_than_the_last_request():
    inputs = Inputs(frame_times={"front": 1.0, "wrist": None})
    assert not inputs.frames_newer_than({})  # the wrist camera has sent nothing yet
    inputs.frame_times["wrist"] = 1.1
    assert inputs.frames_newer_than({})
    assert not inputs.frames_newer_than({"front": 1.0, "wrist": 1.0})  # the front frame was used already
    inputs.frame_times["front"] = 1.2
    assert inputs.frames_newer_than({"front": 1.0, "wrist": 1.0})


def test_both_commanding_nodes_build_their_safety_config_from_the_same_parameters():
    policy = {spec.name: spec.default for spec in parameters.POLICY} | {"low_confidence_threshold": 0.4}
    bridge = {spec.name: spec.default for spec in bridge_parameters.ROBOT_BRIDGE}
    from_policy = parameters.safety_config(policy, max_input_age_s=0.05)
    from_bridge = parameters.safety_config(bridge, max_input_age_s=0.2)
    np.testing.assert_array_equal(from_policy.max_step_rad, from_bridge.max_step_rad)
    np.testing.assert_array_equal(from_policy.lower_rad, policy["joint_lower_limits"])
    assert from_policy.max_clock_offset_s == from_bridge.max_clock_offset_s == 0.1
    assert (from_policy.max_input_age_s, from_bridge.max_input_age_s) == (0.05, 0.2)
    assert from_policy.low_confidence_threshold == 0.4 and from_bridge.low_confidence_threshold == 0.0
    with pytest.raises(ValueError, match="parameter max_step_rad has 5 values for 6 joints"):
        parameters.safety_config(bridge | {"max_step_rad": [0.1] * 5}, max_input_age_s=0.2)


@pytest.mark.slow
def test_commands_follow_each_chunk_between_ticks(debug_export, tmp_path):
    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import Empty

    _, export = debug_export
    ros_domain = domain()
    policy = NodeProcess(
        "policy_node",
        tmp_path / "policy.log",
        ros_domain,
        export_dir=export,
        control_rate_hz=RATE_HZ,
        # Frames come at 30 Hz: generous ages, so a test process starved on a busy machine is no hold.
        max_input_age_s=2 * PERIOD,
        max_clock_offset_s=PERIOD,
        request_ahead_steps=100,  # a new chunk whenever none is in flight
        autostart="true",
    )
    test = DriverNode(ros_domain)
    try:
        robot, monitor = StampedRobot(test), Monitor(test)  # stamped: the node measures latency
        values: list[dict] = []
        test.node.create_subscription(
            DiagnosticArray,
            "/diagnostics",
            lambda m: values.extend({v.key: v.value for v in s.values} for s in m.status),
            10,
        )
        estop = test.node.create_publisher(Empty, "estop", 10)
        assert test.spin_until(lambda: len(monitor.commands) > 5, 60, robot.publish), policy.output()[-3000:]

        # The tick alone sends at most one command per period: 13 in 12 periods. Each chunk (one a period)
        # adds one more, between the ticks: about 24.
        periods = 12
        start = time.time()
        test.spin_for((periods + 1) * PERIOD, robot.publish)  # one more period for the last to arrive
        sent = [t for t, _ in monitor.commands if start <= t < start + periods * PERIOD]
        assert len(sent) >= 1.5 * (periods + 1), (sent, policy.output()[-3000:])

        # Every chunk got a command of its own besides the ticks' (no wall-clock threshold here: the
        # latency itself is a figure, bench/ros_latency.py).
        latest = next(v for v in reversed(values) if v.get("obs_to_command_p50_ms"))
        assert int(latest["chunks"]) > 0 and int(latest["commands"]) > int(latest["chunks"]), latest

        # The e-stop stops the event path too: no command from a chunk in flight or from new frames.
        estop.publish(Empty())
        pressed = time.time()
        test.spin_for(4 * PERIOD, robot.publish)
        assert monitor.commands_after(pressed + 2 * PERIOD) == 0, policy.output()[-3000:]
    finally:
        test.close()
        code = policy.stop()
    assert code == 0, policy.output()
    assert "Traceback" not in policy.output()
