"""Topic wiring shared by the nodes: the latched QoS and the per-camera image subscriptions."""

from __future__ import annotations

from collections.abc import Callable

from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage, Image

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
