"""policy_node: the VLA policy as a ROS 2 lifecycle node, with the safety rules of `vla_ros.safety`.

configure  loads the export folder with the torch-free runtime and warms it up
activate   starts control; deactivate stops sending (the arm holds); cleanup frees the model

Subscribes camera images (sensor-data QoS), joint states, the instruction (latched), e-stop and reset.
Publishes <controller>/joint_trajectory (a short horizon of the plan every control period),
/diagnostics and a latched ~/status. Inference runs on its own thread; see `vla_ros.chunking`.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.duration import Duration
from rclpy.lifecycle import LifecyclePublisher, State, TransitionCallbackReturn
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.publisher import Publisher
from rclpy.qos import qos_profile_sensor_data
from rclpy.subscription import Subscription
from rclpy.timer import Timer
from sensor_msgs.msg import JointState
from std_msgs.msg import Empty, String
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from vla_ros import chunking, images, parameters, safety
from vla_ros.spin import run
from vla_ros.topics import LATCHED, subscribe_cameras
from vla_ros.units import PolicyUnits, ordered_positions


@dataclass
class Inputs:
    """Latest inputs with their receipt times (time.monotonic seconds); shared with callbacks."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)
    frame_stamps: dict[str, float] = field(default_factory=dict)  # header.stamp of each frame (ROS time, s)
    frame_times: dict[str, float | None] = field(default_factory=dict)
    joints_rad: np.ndarray | None = None
    joints_time: float | None = None
    instruction: str = ""
    instruction_count: int = 0  # instruction messages received: each one starts a new task
    instruction_time: float | None = None


class PolicyNode(LifecycleNode):
    def __init__(self, node_name: str = "vla_policy", **kwargs):
        super().__init__(node_name, **kwargs)
        parameters.declare(self, parameters.POLICY)
        self.runtime = None
        self.active = False
        self._handles: list = []  # subscriptions, timers and publishers created by configure
        self._reset_state()

    # ----- lifecycle -------------------------------------------------------------------------------
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        try:
            self.p = parameters.values(self, parameters.POLICY)
            self._configure_logic()
            self._load_runtime()
        except Exception as error:  # a bad parameter or export folder: report and stay unconfigured
            self.get_logger().error(f"configure failed: {error}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self._create_interfaces()
        self._publish_status("inactive", "configured")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self.scheduler.reset()
        self.previous_command = None
        self.generation += 1  # any inference still running belongs to the old activation
        self.active = True
        self._publish_status("active", "waiting for the first chunk")
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        self.generation += 1
        self._hold("deactivated")
        self._publish_status("inactive", "deactivated: holding")
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    # ----- set-up ------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self.inputs = Inputs()
        self.lock = threading.Lock()
        self.tick = 0
        self.generation = 0
        self.previous_command: np.ndarray | None = None
        self.planned_instruction_count = 0  # the instruction message the current plan was made for
        self.inputs_needed_after: float | None = None  # a new task waits for inputs received after this
        self.hold_reason = "unconfigured"
        self.last_error = ""
        self.counts = dict.fromkeys(
            [
                "commands",
                "chunks",
                "chunks_dropped",
                "rejected_images",
                "rejected_joint_states",
                "starved_ticks",
                "replans",
            ],
            0,
        )
        self.inference_ms: list[float] = []
        # Observation-to-command latency: from the capture stamp of the oldest frame a chunk was computed
        # from to the first command that uses the chunk (ROS clock, same machine), in ms.
        self.obs_to_command_ms: list[float] = []
        self._fresh_chunk_stamp: float | None = None
        self._results: queue.Queue = queue.Queue()
        self._requests: queue.Queue = queue.Queue(maxsize=1)
        self._worker: threading.Thread | None = None

    def _configure_logic(self) -> None:
        p = self.p
        joints = tuple(p["joint_names"])
        self.units = PolicyUnits(joints, p["gripper_joint"], *p["gripper_range_rad"])
        self.safety = safety.SafetyConfig(
            lower_rad=np.asarray(p["joint_lower_limits"], np.float64),
            upper_rad=np.asarray(p["joint_upper_limits"], np.float64),
            max_step_rad=np.asarray(p["max_step_rad"], np.float64),
            max_input_age_s=p["max_input_age_s"],
            low_confidence_threshold=p["low_confidence_threshold"],
            low_confidence_mode=p["low_confidence_mode"],
            slow_factor=p["slow_factor"],
        )
        for name in ("joint_lower_limits", "joint_upper_limits", "max_step_rad"):
            if len(p[name]) != len(joints):
                raise ValueError(f"parameter {name} has {len(p[name])} values for {len(joints)} joints")
        if len(p["camera_topics"]) != len(p["camera_names"]):
            raise ValueError("camera_topics and camera_names must have the same length")
        self.scheduler = chunking.ChunkScheduler(p["request_ahead_steps"], p["blend_steps"])
        self.estop = safety.EStop()
        self.period_s = 1.0 / p["control_rate_hz"]
        self.inputs = Inputs(
            frame_times=dict.fromkeys(p["camera_names"]), instruction=p["default_instruction"]
        )

    def _load_runtime(self) -> None:
        from vla.runtime import RuntimePolicy

        if not self.p["export_dir"]:
            raise ValueError("parameter export_dir is empty: set it to a `vla export` folder")
        start = time.monotonic()
        self.runtime = RuntimePolicy(
            self.p["export_dir"], self.p["variant"], self.p["provider"], self.p["threads"] or None
        )
        cameras = list(self.runtime.export.cameras)
        if cameras != list(self.p["camera_names"]):
            raise ValueError(
                f"camera_names {self.p['camera_names']} differ from the export's cameras {cameras}"
            )
        self.runtime.warmup()
        self.get_logger().info(
            f"loaded {self.p['export_dir']} ({self.p['variant']}, {self.p['provider']}) in "
            f"{time.monotonic() - start:.1f} s"
        )
        self._worker = threading.Thread(target=self._inference_loop, name="vla_inference", daemon=True)
        self._worker.start()

    def _create_interfaces(self) -> None:
        p = self.p
        self._handles += subscribe_cameras(self, p, self._on_image)
        self._handles += [
            self.create_subscription(
                JointState, p["joint_states_topic"], self._on_joints, qos_profile_sensor_data
            ),
            self.create_subscription(String, p["instruction_topic"], self._on_instruction, LATCHED),
            self.create_subscription(Empty, p["estop_topic"], self._on_estop, 10),
            self.create_subscription(Empty, p["estop_reset_topic"], self._on_estop_reset, 10),
        ]
        self.trajectory_pub = self.create_lifecycle_publisher(
            JointTrajectory, f"{p['controller_name']}/joint_trajectory", 10
        )
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.status_pub = self.create_publisher(String, "~/status", LATCHED)
        self._handles += [
            self.trajectory_pub,
            self.diagnostics_pub,
            self.status_pub,
            self.create_timer(self.period_s, self._control_tick),
            self.create_timer(p["diagnostics_period_s"], self._publish_diagnostics),
        ]

    def _release(self) -> None:
        for handle in self._handles:
            if isinstance(handle, LifecyclePublisher):
                self.destroy_lifecycle_publisher(handle)
            elif isinstance(handle, Publisher):
                self.destroy_publisher(handle)
            elif isinstance(handle, Subscription):
                self.destroy_subscription(handle)
            elif isinstance(handle, Timer):
                self.destroy_timer(handle)
        self._handles = []
        self.status_pub = None
        if self._worker is not None:
            self._requests.put(None)  # stops the worker
            self._worker.join(timeout=5)
        self.runtime = None
        self._reset_state()

    # ----- callbacks -------------------------------------------------------------------------------
    def _on_image(self, camera: str, topic: str, msg) -> None:
        try:
            frame = images.message_to_rgb(topic, msg, self.p["image_width"], self.p["image_height"])
        except images.ImageError as error:
            self._reject("rejected_images", str(error))
            return
        with self.lock:
            self.inputs.frames[camera] = frame
            self.inputs.frame_times[camera] = time.monotonic()
            self.inputs.frame_stamps[camera] = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9

    def _on_joints(self, msg: JointState) -> None:
        try:
            joints = ordered_positions(msg.name, msg.position, self.units.joint_names)
        except ValueError as error:
            self._reject("rejected_joint_states", str(error))
            return
        with self.lock:
            self.inputs.joints_rad = joints
            self.inputs.joints_time = time.monotonic()

    def _on_instruction(self, msg: String) -> None:
        with self.lock:
            self.inputs.instruction = msg.data.strip()
            self.inputs.instruction_count += 1
            self.inputs.instruction_time = time.monotonic()

    def _on_estop(self, msg: Empty) -> None:
        self.estop.trigger()
        self.get_logger().warning("e-stop latched: no commands until a message on estop_reset")
        self._hold("e-stop latched")

    def _on_estop_reset(self, msg: Empty) -> None:
        if self.estop.latched:
            self.estop.reset()
            self.get_logger().info("e-stop cleared")

    def _reject(self, counter: str, message: str) -> None:
        self.counts[counter] += 1
        if message != self.last_error:
            self.get_logger().error(message)
        self.last_error = message

    # ----- control ---------------------------------------------------------------------------------
    def _control_tick(self) -> None:
        self.tick += 1
        if not self.active:
            return
        self._merge_results()
        now = time.monotonic()
        with self.lock:
            ages = dict(self.inputs.frame_times) | {"joint_states": self.inputs.joints_time}
            instruction = self.inputs.instruction
            instruction_count = self.inputs.instruction_count
            instruction_time = self.inputs.instruction_time
            joints = self.inputs.joints_rad
        stale = safety.stale_inputs(now, ages, self.safety.max_input_age_s)
        if self.estop.latched:
            return self._hold("e-stop latched")
        if stale:
            # Keep the plan: its steps are tied to ticks, so a blip (one late frame on a busy machine) costs
            # one tick without a command, not a restart from a fresh inference. Steps whose tick passes
            # while holding are never sent, so a long outage still ends in a new chunk from new inputs.
            return self._hold("stale input: " + ", ".join(stale), drop_plan=False)
        if not instruction:
            return self._hold(f"no instruction yet (topic {self.p['instruction_topic']})")
        self._replan_if_stale(joints, instruction_count, instruction_time)
        if self.inputs_needed_after is not None:
            # A new task often comes with a new scene (a reset): plan from the frames and joints that
            # follow the instruction, not from the last ones of the previous task.
            waiting = safety.received_before(ages, self.inputs_needed_after)
            if waiting:
                reason = f"waiting for inputs newer than the instruction: {', '.join(waiting)}"
                return self._hold(reason, drop_plan=False)
            self.inputs_needed_after = None
        if self.scheduler.wants_request(self.tick):
            self._request_chunk(instruction)
        targets = self.scheduler.horizon(self.tick, self.p["command_horizon_steps"])
        if targets is None:
            if self.counts["chunks"]:
                self.counts["starved_ticks"] += 1
            return self._hold("waiting for inference", drop_plan=False)
        self._send(targets)
        self.scheduler.advance(self.tick)

    def _replan_if_stale(
        self, joints: np.ndarray, instruction_count: int, instruction_time: float | None
    ) -> None:
        """Forget the plan when it no longer fits: a new instruction message (a new task, even with the same
        words), or an arm joint far from the last command (the robot was reset or moved by hand, or the
        controller did not follow). Commands then start again from the measured state."""
        reason = ""
        if instruction_count != self.planned_instruction_count:
            reason = "new instruction" if self.planned_instruction_count else ""
            self.planned_instruction_count = instruction_count
            self.inputs_needed_after = instruction_time
        elif self.previous_command is not None:
            error = np.abs(joints - self.previous_command)
            error[self.units.joint_names.index(self.units.gripper_joint)] = 0.0
            worst = int(np.argmax(error))
            if error[worst] > self.p["replan_error_rad"]:
                name = self.units.joint_names[worst]
                reason = f"{name} is {error[worst]:.2f} rad from the last command"
        if reason:
            self.scheduler.reset()
            self.previous_command = None
            self.generation += 1
            self.counts["replans"] += 1
            self.get_logger().info(f"replanning from the measured state: {reason}")

    def _request_chunk(self, instruction: str) -> None:
        with self.lock:
            obs = {f"observation.images.{c}": f for c, f in self.inputs.frames.items()}
            obs["observation.state"] = self.units.to_policy(self.inputs.joints_rad)
            stamp = min(self.inputs.frame_stamps.values())
        obs["task"] = instruction
        try:
            self._requests.put_nowait((obs, self.tick, self.generation, stamp))
            self.scheduler.requested(self.tick)
        except queue.Full:
            pass

    def _inference_loop(self) -> None:
        while (request := self._requests.get()) is not None:
            obs, tick, generation, stamp = request
            start = time.perf_counter()
            try:
                chunk = self.runtime.infer(obs)
            except Exception as error:  # report and keep the node alive; the controller holds meanwhile
                self._results.put((None, tick, generation, stamp, f"inference failed: {error}"))
                continue
            self.inference_ms.append((time.perf_counter() - start) * 1e3)
            self._results.put((chunk, tick, generation, stamp, None))

    def _merge_results(self) -> None:
        while not self._results.empty():
            chunk, tick, generation, stamp, error = self._results.get_nowait()
            if generation != self.generation:
                continue
            self.scheduler.cancel_request()
            problem = error or safety.chunk_problem(chunk["actions"], chunk["confidence"], self.safety)
            scale = None if problem else safety.confidence_time_scale(chunk["confidence"], self.safety)
            if problem is None and scale is None:
                problem = f"low confidence {float(np.mean(chunk['confidence'])):.2f}: chunk held"
            if problem:
                self._reject("chunks_dropped", problem)
                continue
            actions = chunking.stretch(self.units.to_ros(chunk["actions"]), scale)
            self.scheduler.merge(actions, tick, self.tick)
            self._fresh_chunk_stamp = stamp
            self.counts["chunks"] += 1

    def _send(self, targets: np.ndarray) -> None:
        with self.lock:
            start = self.previous_command if self.previous_command is not None else self.inputs.joints_rad
        commands = safety.limit_commands(targets, start, self.safety)
        msg = JointTrajectory()
        msg.joint_names = list(self.units.joint_names)  # header.stamp 0: start now (controller convention)
        for k, positions in enumerate(commands, start=1):
            seconds = k * self.period_s
            msg.points.append(
                JointTrajectoryPoint(
                    positions=positions.tolist(),
                    time_from_start=Duration(seconds=seconds).to_msg(),
                )
            )
        self.trajectory_pub.publish(msg)
        if self._fresh_chunk_stamp:  # the first command that uses the newest chunk
            now = self.get_clock().now().nanoseconds * 1e-9
            self.obs_to_command_ms.append((now - self._fresh_chunk_stamp) * 1e3)
            self._fresh_chunk_stamp = None
        self.previous_command = commands[0]
        self.counts["commands"] += 1
        if self.hold_reason:
            self.get_logger().info(f"sending commands (was holding: {self.hold_reason})")
            self.hold_reason = ""
            self._publish_status("active", "sending commands")

    def _hold(self, reason: str, drop_plan: bool = True) -> None:
        """Send nothing and say why (once per reason). `drop_plan` also forgets the plan and any inference in
        flight (the e-stop, deactivation): commands then start again from the measured joints."""
        if drop_plan:
            self.scheduler.reset()
            self.previous_command = None
            self.generation += 1
        if reason != self.hold_reason:
            self.hold_reason = reason
            self.get_logger().warning(f"holding: {reason}")
            self._publish_status("active" if self.active else "inactive", f"holding: {reason}")

    # ----- reporting -------------------------------------------------------------------------------
    def _publish_status(self, lifecycle: str, detail: str) -> None:
        if getattr(self, "status_pub", None) is not None:
            self.status_pub.publish(String(data=json.dumps({"lifecycle": lifecycle, "detail": detail})))

    def _publish_diagnostics(self) -> None:
        if self.last_error or self.estop.latched:
            level, message = DiagnosticStatus.ERROR, self.last_error or "e-stop latched"
        elif self.hold_reason and self.active:
            level, message = DiagnosticStatus.WARN, f"holding: {self.hold_reason}"
        else:
            level, message = DiagnosticStatus.OK, "sending commands" if self.active else "inactive"
        latency = np.percentile(self.inference_ms[-200:], [50, 99]) if self.inference_ms else [0.0, 0.0]
        values = {
            "active": self.active,
            "hold_reason": self.hold_reason,
            "last_error": self.last_error,
            "estop_latched": self.estop.latched,
            "inference_p50_ms": f"{latency[0]:.1f}",
            "inference_p99_ms": f"{latency[1]:.1f}",
            "obs_to_command_p50_ms": f"{np.percentile(self.obs_to_command_ms[-500:], 50):.1f}"
            if self.obs_to_command_ms
            else "",
            "obs_to_command_p99_ms": f"{np.percentile(self.obs_to_command_ms[-500:], 99):.1f}"
            if self.obs_to_command_ms
            else "",
        } | self.counts
        status = DiagnosticStatus(
            level=level,
            name=f"{self.get_name()}: policy",
            message=message,
            hardware_id=self.p["export_dir"],
            values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
        )
        array = DiagnosticArray(status=[status])
        array.header.stamp = self.get_clock().now().to_msg()
        self.diagnostics_pub.publish(array)
        self.last_error = ""  # each error is reported in the next diagnostics message


def main(args: list[str] | None = None) -> None:
    def make() -> PolicyNode:
        node = PolicyNode()
        if node.get_parameter("autostart").value:
            node.trigger_configure()
            node.trigger_activate()
        return node

    run(make, args)


if __name__ == "__main__":
    main()
