"""robot_bridge_node: any LeRobot `Robot` (so101_follower, the tabletop_sim plugin, ...) as a ROS 2 robot.

At the control rate it follows <controller_name>/joint_trajectory (as a joint_trajectory_controller does)
or, with `command_type: joint_state`, a leader arm's joint states; every command goes through the safety
layer of `vla_ros.safety` (rate limit from the last command, joint limits last, a latching e-stop that
survives restarts, no motion while a measured joint is implausible) and is sent with
`robot.send_action` (and published on ~/command, radians). Why it holds goes to the latched ~/status and to
/diagnostics ("<node>: robot", at once on a change and every `diagnostics_period_s`). It then reads
`robot.get_observation()` and publishes joint_states (radians) and the cameras' images (rgb8) on the topics
sim_bridge_node uses, so policy_node and recorder_node run unchanged against either bridge.

The robot is built by LeRobot's config registry from `robot_type`, `robot_port`, `robot_id` and
`robot_options` (`vla_ros.lerobot_devices`). Before any command arrives nothing is sent: the arm keeps
the position it has. A simulated robot also gets sim_bridge_node's instruction (latched), `success`
(latched Bool) and ~/reset service (`vla_ros.sim_episode`).
"""

from __future__ import annotations

import json
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Empty, String
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from vla_ros import lerobot_devices, parameters, safety
from vla_ros.bridge_parameters import ROBOT_BRIDGE, TELEOP_DEVICE
from vla_ros.diagnostics import condition
from vla_ros.estop_store import EStopStore, default_state_file
from vla_ros.policy_reporting import diagnostic_array
from vla_ros.sim_episode import SimEpisode
from vla_ros.teleop_node import TeleopNode, run_device_node
from vla_ros.topics import LATCHED
from vla_ros.trajectory import TrajectoryFollower, trajectory_points
from vla_ros.units import PolicyUnits, ordered_positions


def joint_state_message(stamp, names, radians) -> JointState:
    msg = JointState(name=list(names), position=[float(q) for q in radians])
    msg.header.stamp = stamp
    return msg


def image_message(stamp, camera: str, frame: np.ndarray) -> Image:
    """(H, W, 3) uint8 RGB -> sensor_msgs/Image rgb8."""
    msg = Image(height=frame.shape[0], width=frame.shape[1], encoding="rgb8", step=frame.shape[1] * 3)
    msg.header.stamp, msg.header.frame_id = stamp, f"{camera}_camera"
    msg.data = np.ascontiguousarray(frame, np.uint8).tobytes()
    return msg


def take_pending(subscription) -> None:
    """Run `subscription`'s callback now on every message waiting for it.

    rclpy's executor serves a ready timer before ready subscriptions, so a control tick that overruns its
    period (a slow robot read, a loaded CPU) is always ready again and would starve the e-stop and command
    topics; each tick reads them itself first (the executor's own `_take_subscription`, synchronously)."""
    with subscription.handle:
        while (
            taken := subscription.handle.take_message(subscription.msg_type, subscription.raw)
        ) is not None:
            subscription.callback(taken[0])


class RobotBridgeNode(Node):
    def __init__(self, node_name: str = "vla_robot_bridge", **kwargs):
        super().__init__(node_name, **kwargs)
        parameters.declare(self, ROBOT_BRIDGE)
        p = self.p = parameters.values(self, ROBOT_BRIDGE)
        self.joint_names = tuple(p["joint_names"])
        self.safety = parameters.safety_config(p, max_input_age_s=p["max_command_age_s"])
        if len(p["camera_topics"]) != len(p["camera_names"]):
            raise ValueError("camera_topics and camera_names must have the same length")
        self.units = PolicyUnits(self.joint_names, p["gripper_joint"], *p["gripper_range_rad"])
        self.joint_check = safety.JointStateCheck(self.joint_names, self.safety)
        self.estop = safety.EStop(
            EStopStore(p["estop_state_file"] or default_state_file(self.get_fully_qualified_name()))
        )
        self.period_s = 1.0 / p["control_rate_hz"]
        self.robot = self._connect_robot()
        self.sim = SimEpisode.of(self.robot)
        # A teleoperator that reads this process's simulated robot (tabletop_keyboard): teleop_node's code,
        # hosted here and ticked right after each robot step.
        self.teleop_node = None
        if p["in_process_teleop"]:
            teleop_params = [Parameter(spec.name, value=p[spec.name]) for spec in TELEOP_DEVICE]
            self.teleop_node = TeleopNode(timer=False, parameter_overrides=teleop_params)

        self.image_pubs = {
            camera: self.create_publisher(Image, topic, qos_profile_sensor_data)
            for camera, topic in zip(p["camera_names"], p["camera_topics"], strict=True)
        }
        self.joints_pub = self.create_publisher(JointState, p["joint_states_topic"], qos_profile_sensor_data)
        self.status_pub = self.create_publisher(String, "~/status", LATCHED)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # What the robot was told, after the safety layer (radians): what to look at when the arm surprises.
        self.command_pub = self.create_publisher(JointState, "~/command", 10)
        if self.sim is not None:
            self.instruction_pub = self.create_publisher(String, p["instruction_topic"], LATCHED)
            self.success_pub = self.create_publisher(Bool, "success", LATCHED)
            self.create_service(Trigger, "~/reset", self._on_reset)

        self.command_topic = p["command_topic"] or (
            f"{p['controller_name']}/joint_trajectory"
            if p["command_type"] == "joint_trajectory"
            else p["leader_topic"]
        )
        if p["command_type"] == "joint_trajectory":
            command_sub = self.create_subscription(
                JointTrajectory, self.command_topic, self._on_trajectory, 10
            )
        else:
            command_sub = self.create_subscription(JointState, self.command_topic, self._on_joint_command, 10)
        self.tick_subscriptions = [  # e-stop first: it must act on the command that came with it
            self.create_subscription(Empty, p["estop_topic"], self._on_estop, 10),
            self.create_subscription(Empty, p["estop_reset_topic"], self._on_estop_reset, 10),
            command_sub,
        ]

        self.hold_reason = ""
        self.hold_is_error = False  # a fault (ERROR diagnostics), not a passing wait; the e-stop is its own
        self.last_error = ""  # a rejected command or reading since the last heartbeat
        self.last_logged_error = ""  # each error is logged once while it repeats
        self.following, self.joint_command = False, None  # set by _start_following once the robot is read
        self.counts = dict.fromkeys(["commands", "rejected_commands", "faults"], 0)
        self.measured_rad = self._observe()
        if self.measured_rad is None:
            raise RuntimeError(
                f"robot {p['robot_type']}: the first observation has no usable joint positions"
            )
        self._start_following()
        if self.sim is not None:
            self._publish_episode()
        if self.estop.latched:
            self.get_logger().warning(
                f"e-stop latched since before this start ({self.estop.store.path}): nothing is sent to the "
                f"robot until a message on {p['estop_reset_topic']}"
            )
        self.create_timer(self.period_s, self._tick)
        self.create_timer(p["diagnostics_period_s"], self._heartbeat)
        self._publish_diagnostics()
        self.get_logger().info(
            f"robot {p['robot_type']} connected; following {self.command_topic} ({p['command_type']})"
        )

    # ----- devices ---------------------------------------------------------------------------------
    def _connect_robot(self):
        p = self.p
        robot = lerobot_devices.make_robot(
            p["robot_type"], p["robot_port"], p["robot_id"], p["robot_options"]
        )
        what = f"robot {p['robot_type']}"
        lerobot_devices.check_joint_features(robot.action_features, self.joint_names, f"{what} action")
        lerobot_devices.check_joint_features(
            robot.observation_features, self.joint_names, f"{what} observation"
        )
        if not getattr(robot.config, "use_degrees", True):
            raise ValueError(f"{what}: use_degrees is false; the bridge needs degrees (robot_options '{{}}')")
        missing = [c for c in p["camera_names"] if c not in robot.observation_features]
        if missing:
            cameras = [k for k, v in robot.observation_features.items() if isinstance(v, tuple)]
            raise ValueError(
                f"{what} has no camera(s) {missing} (it has {cameras}): add them to robot_options "
                "'{cameras: {...}}' or set camera_names"
            )
        # Never the interactive calibration inside a node: an uncalibrated arm is an error, not a prompt.
        robot.connect(calibrate=False)
        if not robot.is_calibrated:
            robot.disconnect()
            raise ValueError(
                f"{what} id {p['robot_id']!r} is not calibrated (or its calibration file differs from the "
                f"motors): run lerobot-calibrate --robot.type={p['robot_type']} "
                f"--robot.port={p['robot_port']} --robot.id={p['robot_id']} first"
            )
        return robot

    # ----- commands --------------------------------------------------------------------------------
    def _start_following(self) -> None:
        """Forget every command: the next one starts from where the robot is (start-up, reset, e-stop)."""
        self.follower = TrajectoryFollower(self.measured_rad, self.period_s)
        self.following = False  # nothing is sent before a command arrives
        self.joint_command: tuple[np.ndarray, float] | None = None  # (J,) rad, receipt time
        self.previous_command: np.ndarray | None = None

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        try:
            times, points = trajectory_points(msg, self.joint_names)
            self.follower.receive(times, points)
        except ValueError as error:
            self._reject(f"{self.command_topic} rejected: {error}")
            return
        self.following = self.following or len(msg.points) > 0

    def _on_joint_command(self, msg: JointState) -> None:
        try:
            self.joint_command = (
                ordered_positions(msg.name, msg.position, self.joint_names),
                time.monotonic(),
            )
        except ValueError as error:
            self._reject(f"{self.command_topic} rejected: {error}")

    def _on_estop(self, msg: Empty) -> None:
        self.estop.trigger(f"message on {self.p['estop_topic']}")
        self._start_following()
        self._hold("e-stop latched")

    def _on_estop_reset(self, msg: Empty) -> None:
        if self.estop.latched or self.estop.store_error:
            self.estop.reset()
            self.get_logger().info("e-stop cleared")

    def _target(self, now: float) -> tuple[np.ndarray | None, str]:
        """(J,) radians to command now, or (None, why nothing is sent)."""
        if self.estop.latched:
            return None, "e-stop latched"
        if self.p["command_type"] == "joint_trajectory":
            return (self.follower.step(), "") if self.following else (None, "no command yet")
        if self.joint_command is None:
            return None, "no command yet"
        positions, received = self.joint_command
        if now - received > self.safety.max_input_age_s:
            return None, f"{self.command_topic} older than max_command_age_s"
        return positions, ""

    # ----- control ---------------------------------------------------------------------------------
    def _tick(self) -> None:
        for subscription in self.tick_subscriptions:
            take_pending(subscription)
        now = time.monotonic()
        target, reason = self._target(now)
        if target is not None and self.fault is None:
            start = self.previous_command if self.previous_command is not None else self.measured_rad
            command = safety.limit_commands(target[None], start, self.safety)[0]
            self.robot.send_action(
                lerobot_devices.action_from(self.units.to_policy(command), self.joint_names)
            )
            self.previous_command = command
            self.counts["commands"] += 1
            stamp = self.get_clock().now().to_msg()
            self.command_pub.publish(joint_state_message(stamp, self.joint_names, command))
            if self.sim is not None and self.sim.after_step():
                self.success_pub.publish(Bool(data=True))
            self._hold("")
        elif target is not None:
            self._hold(self.fault, error=True)
        elif reason != "no command yet":
            self._hold(reason)
        measured = self._observe()
        if measured is not None:
            self.measured_rad = measured
        if self.sim is not None and self.sim.new_episode():
            self._start_following()
            self._publish_episode()
        if self.teleop_node is not None:
            self.teleop_node.publish_once()

    def _observe(self) -> np.ndarray | None:
        """Read the robot, publish its joints and cameras; returns the joints (J,) rad, None if unusable.
        Sets `self.fault` while the reading cannot be trusted (nothing is then sent)."""
        observation = self.robot.get_observation()
        stamp = self.get_clock().now().to_msg()
        try:
            degrees = lerobot_devices.positions_from(
                observation, self.joint_names, f"robot {self.p['robot_type']}"
            )
        except ValueError as error:
            self.fault = str(error)
            self.joint_check.forget()
            self._reject(self.fault)
            return None
        radians = self.units.to_ros(degrees)
        fault = self.joint_check.check(radians, time.monotonic())
        self.fault = fault.reason if fault else None
        if fault:
            self.counts["faults"] += 1
        self.joints_pub.publish(joint_state_message(stamp, self.joint_names, radians))
        for camera, publisher in self.image_pubs.items():
            publisher.publish(image_message(stamp, camera, observation[camera]))
        return radians

    # ----- simulated episodes ----------------------------------------------------------------------
    def _publish_episode(self) -> None:
        self.instruction_pub.publish(String(data=self.robot.instruction))
        self.success_pub.publish(Bool(data=False))
        self.get_logger().info(f"episode: {json.dumps(self.sim.describe())}")

    def _on_reset(self, request, response):
        self.robot.reset_scene()
        self.sim.new_episode()
        measured = self._observe()  # the new scene, published at once
        if measured is not None:
            self.measured_rad = measured
        self._start_following()
        self._publish_episode()
        response.success, response.message = True, json.dumps(self.sim.describe())
        return response

    # ----- reporting -------------------------------------------------------------------------------
    def _reject(self, message: str) -> None:
        self.counts["rejected_commands"] += 1
        if message != self.last_logged_error:
            self.get_logger().error(message)
            self.last_logged_error = message
        if message != self.last_error:
            self.last_error = message
            self._publish_diagnostics()

    def _hold(self, reason: str, error: bool = False) -> None:
        """Say once why nothing is sent ('' = sending again): on the log, the latched ~/status and
        /diagnostics."""
        if reason == self.hold_reason:
            return
        if reason:
            self.get_logger().warning(f"holding: {reason}")
        else:
            self.get_logger().info(f"sending commands (was holding: {self.hold_reason})")
        self.hold_reason, self.hold_is_error = reason, error
        self.status_pub.publish(String(data=json.dumps({"holding": reason, **self.counts})))
        self._publish_diagnostics()

    def _heartbeat(self) -> None:
        self._publish_diagnostics()
        self.last_error = ""  # each rejected command is reported until the next heartbeat

    def _publish_diagnostics(self) -> None:
        p = self.p
        following = self.following or self.joint_command is not None
        now = condition(
            following,
            self.hold_reason,
            self.hold_is_error,
            self.estop.latched,
            self.estop.store_error,
            self.last_error,
        )
        values = {
            "robot_type": p["robot_type"],
            "command_topic": self.command_topic,
            "hold_reason": self.hold_reason,
            "last_error": self.last_error,
            "estop_latched": self.estop.latched,
            "estop_triggers": self.estop.triggers,
            "estop_state_file": str(self.estop.store.path),
        } | self.counts
        hardware = f"{p['robot_type']} {p['robot_port'] or p['robot_id']}".strip()
        self.diagnostics_pub.publish(diagnostic_array(self, "robot", now, hardware, values))

    def destroy_node(self) -> None:
        # Also called by rclpy's shutdown on a node whose constructor failed half-way.
        if getattr(self, "teleop_node", None) is not None:
            self.teleop_node.destroy_node()  # before the robot it reads
        robot = getattr(self, "robot", None)
        if robot is not None and robot.is_connected:
            robot.disconnect()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    run_device_node(RobotBridgeNode, args)


if __name__ == "__main__":
    main()
