"""teleop_node: a LeRobot `Teleoperator` (so101_leader, or any teleoperator plugin that gives absolute joint
positions) published as leader/joint_states (radians) for recorder_node and robot_bridge_node.

At the control rate it reads `teleop.get_action()` ({"<joint>.pos": degrees, gripper 0-100}, as
so101_leader gives) and publishes a sensor_msgs/JointState in REP 103 units (`vla_ros.units`). The
teleoperator is built by LeRobot's config registry from `teleop_type`, `teleop_port`, `teleop_id` and
`teleop_options` (`vla_ros.lerobot_devices`); one that gives no joint positions (LeRobot's `keyboard`
gives pressed keys) is refused at start with the joints it lacks. A reading with a missing or non-finite
joint is not published (recorder_node then sees the leader go stale and skips those frames).

A teleoperator that needs its simulated robot in the same process (`tabletop_keyboard`) runs inside
robot_bridge_node instead (`in_process_teleop: true`).
"""

from __future__ import annotations

import sys

from rclpy.node import Node
from sensor_msgs.msg import JointState

from vla_ros import lerobot_devices, parameters
from vla_ros.bridge_parameters import TELEOP
from vla_ros.spin import run
from vla_ros.units import PolicyUnits


class TeleopNode(Node):
    def __init__(self, node_name: str = "vla_teleop", timer: bool = True, **kwargs):
        """`timer`: publish at the control rate on its own; False when robot_bridge_node hosts this node and
        calls `publish_once` after each robot step."""
        super().__init__(node_name, **kwargs)
        parameters.declare(self, TELEOP)
        p = self.p = parameters.values(self, TELEOP)
        self.joint_names = tuple(p["joint_names"])
        self.units = PolicyUnits(self.joint_names, p["gripper_joint"], *p["gripper_range_rad"])
        self.what = f"teleop {p['teleop_type']}"
        self.teleop = lerobot_devices.make_teleoperator(
            p["teleop_type"], p["teleop_port"], p["teleop_id"], p["teleop_options"]
        )
        lerobot_devices.check_joint_features(self.teleop.action_features, self.joint_names, self.what)
        self.teleop.connect(calibrate=False)  # never an interactive prompt inside a node
        if not self.teleop.is_calibrated:
            self.teleop.disconnect()
            raise ValueError(
                f"{self.what} id {p['teleop_id']!r} is not calibrated: run lerobot-calibrate "
                f"--teleop.type={p['teleop_type']} --teleop.port={p['teleop_port']} "
                f"--teleop.id={p['teleop_id']}"
            )
        try:  # one reading now: a teleoperator that cannot give positions fails at start, not every tick
            lerobot_devices.positions_from(self.teleop.get_action(), self.joint_names, self.what)
        except LookupError as error:  # tabletop_keyboard without its simulated robot in this process
            raise LookupError(
                f"{self.what}: {error}; a teleoperator that reads a simulated robot runs inside "
                "robot_bridge_node (in_process_teleop: true)"
            ) from None
        self.publisher = self.create_publisher(JointState, p["leader_topic"], 10)
        self.last_error = ""
        self.published = 0
        if timer:
            self.create_timer(1.0 / p["control_rate_hz"], self.publish_once)
        self.get_logger().info(f"{self.what} connected; publishing {p['leader_topic']}")

    def publish_once(self) -> None:
        """Read the teleoperator and publish its positions (radians) once."""
        try:
            action = self.teleop.get_action()
            degrees = lerobot_devices.positions_from(action, self.joint_names, self.what)
        except ValueError as error:
            if str(error) != self.last_error:  # once per distinct error, not every tick
                self.get_logger().error(str(error))
            self.last_error = str(error)
            return
        self.last_error = ""
        msg = JointState(name=list(self.joint_names), position=self.units.to_ros(degrees).tolist())
        msg.header.stamp = self.get_clock().now().to_msg()
        self.publisher.publish(msg)
        self.published += 1

    def destroy_node(self) -> None:
        teleop = getattr(self, "teleop", None)  # None when the constructor failed half-way
        if teleop is not None and teleop.is_connected:
            teleop.disconnect()
        super().destroy_node()


def run_device_node(make_node, args: list[str] | None = None) -> None:
    """`vla_ros.spin.run`, but a device that cannot be built or connected (a bad parameter, a missing serial
    port, an uncalibrated arm, a missing driver package) ends the process with one line on stderr and exit
    code 1, not a traceback."""
    try:
        run(make_node, args)
    except (ValueError, ConnectionError, OSError, LookupError, ImportError) as error:
        message = " ".join(str(error).split())  # LeRobot's messages span lines: one line here
        print(f"{sys.argv[0].rsplit('/', 1)[-1]}: error: {message}", file=sys.stderr)
        sys.exit(1)


def main(args: list[str] | None = None) -> None:
    run_device_node(TeleopNode, args)


if __name__ == "__main__":
    main()
