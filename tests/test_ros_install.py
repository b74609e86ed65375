"""The dev install carries a working rclpy (ROS 2 Kilted wheels): a node talks to itself over DDS.

Run in a subprocess, as the ROS nodes will be: the wheels' .pth hook re-executes the interpreter to set
library paths, which must work from a plain venv python.
"""

import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import rclpy
    from rclpy.node import Node
    from std_msgs.msg import String
    from sensor_msgs.msg import JointState
    from trajectory_msgs.msg import JointTrajectory

    rclpy.init()
    node = Node("install_probe")
    received = []
    node.create_subscription(String, "probe", lambda msg: received.append(msg.data), 10)
    publisher = node.create_publisher(String, "probe", 10)
    for _ in range(100):
        publisher.publish(String(data="hello"))
        rclpy.spin_once(node, timeout_sec=0.05)
        if received:
            break
    print("received:", received[0] if received else None)
    node.destroy_node()
    rclpy.shutdown()
    """
)


@pytest.mark.ros
def test_rclpy_node_round_trip():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "received: hello" in result.stdout
