"""Topic wiring shared by the nodes: the latched QoS, the per-camera image subscriptions and the
trajectory message a command goes out as."""

from __future__ import annotations

from collections.abc import Callable

from rclpy.duration import Duration
from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

# Late joiners get the last message (instruction, status, success flag).
LATCHED = QoSProfile(
    depth=1, reliability=QoSReliabilityPolicy.RELIABLE, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL
)


def subscribe_cameras(node, params: dict, on_image: Callable[[str, str, object], None]) -> list:
    """One sensor-data subscription per camera (`camera_names` / `camera_topics`; `<topic>/compressed`
    with `compressed_images`); `on_image(camera, topic, msg)`. Returns the subscriptions."""
    compressed = params["compressed_images"]
    message_type = CompressedImage if compressed else Image
    subscriptions = []
    for camera, topic in zip(params["camera_names"], params["camera_topics"], strict=True):
        topic = f"{topic}/compressed" if compressed else topic
        callback = lambda msg, c=camera, t=topic: on_image(c, t, msg)  # noqa: E731
        subscriptions.append(node.create_subscription(message_type, topic, callback, qos_profile_sensor_data))
    return subscriptions


def trajectory_message(joint_names, commands, period_s: float) -> JointTrajectory:
    """(H, J) radian commands -> a JointTrajectory whose point k is reached (k+1) * period_s after receipt.

    header.stamp stays 0: "start now", the joint_trajectory_controller convention.
    """
    msg = JointTrajectory(joint_names=list(joint_names))
    for k, positions in enumerate(commands, start=1):
        since_receipt = Duration(seconds=k * period_s).to_msg()
        point = JointTrajectoryPoint(positions=[float(x) for x in positions], time_from_start=since_receipt)
        msg.points.append(point)
    return msg


def destroy_handles(node, handles: list) -> None:
    """Destroy the subscriptions, timers and (lifecycle) publishers in `handles` (a configuration's)."""
    from rclpy.lifecycle import LifecyclePublisher
    from rclpy.publisher import Publisher
    from rclpy.subscription import Subscription
    from rclpy.timer import Timer

    for handle in handles:
        if isinstance(handle, LifecyclePublisher):
            node.destroy_lifecycle_publisher(handle)
        elif isinstance(handle, Publisher):
            node.destroy_publisher(handle)
        elif isinstance(handle, Subscription):
            node.destroy_subscription(handle)
        elif isinstance(handle, Timer):
            node.destroy_timer(handle)
