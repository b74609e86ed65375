"""policy_node: the VLA policy as a ROS 2 lifecycle node, with the safety rules of `vla_ros.safety`.

configure  loads the export folder with the torch-free runtime and warms it up
activate   starts control; deactivate stops sending (the arm holds); cleanup frees the model

Subscribes camera images (sensor-data QoS), joint states, the instruction (latched), e-stop and reset.
Publishes <controller>/joint_trajectory (a short horizon of the plan every control period), and the
reports of `vla_ros.policy_reporting` (/diagnostics, latched ~/status and ~/estop_latched). Inference runs
on its own thread; see `vla_ros.chunking`. The e-stop is there from start-up, in every lifecycle state,
and its latch is kept in a state file (`vla_ros.estop_store`): a restart or a cleanup never clears it.

Latency: a chunk is requested once every camera has a frame newer than the last request's (the image
callback), and its first command goes out when the inference thread wakes the executor (a guard
condition). The tick keeps the rate and requests itself when cameras are slower; every path passes
`_inputs_trusted`.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Empty, String
from trajectory_msgs.msg import JointTrajectory

from vla_ros import chunking, images, parameters, safety
from vla_ros.estop_store import EStopStore, default_state_file
from vla_ros.inference_worker import InferenceWorker, start_inference
from vla_ros.policy_inputs import Hold, Inputs, input_hold, read_joints, refusal_hold, stamp_seconds
from vla_ros.policy_reporting import PolicyReporter, RateLimitedLog, log_estop_at_start
from vla_ros.spin import run_lifecycle
from vla_ros.topics import LATCHED, destroy_handles, subscribe_cameras, trajectory_message
from vla_ros.units import PolicyUnits

COUNTERS = ("commands", "chunks", "chunks_dropped", "abstained_chunks", "rejected_images",
            "rejected_joint_states", "starved_ticks", "replans")  # fmt: skip


class PolicyNode(LifecycleNode):
    def __init__(self, node_name: str = "vla_policy", **kwargs):
        super().__init__(node_name, **kwargs)
        self.runtime = None
        self.worker: InferenceWorker | None = None  # before a parameter can fail: destroy_node reads it
        parameters.declare(self, parameters.POLICY)
        self.active = False
        self._handles: list = []  # subscriptions, timers and publishers created by configure
        self.log = RateLimitedLog(self.get_logger())
        self._reset_state()
        # The e-stop, its latch and the reports live as long as the process, not a configuration.
        param = lambda name: self.get_parameter(name).value  # noqa: E731
        path = param("estop_state_file") or default_state_file(self.get_fully_qualified_name())
        self.estop = safety.EStop(EStopStore(path))
        self.reporter = PolicyReporter(self, param("diagnostics_period_s"))
        self.create_subscription(Empty, param("estop_topic"), self._on_estop, 10)
        self.create_subscription(Empty, param("estop_reset_topic"), self._on_estop_reset, 10)
        # Triggered from the inference thread when a result is ready: wakes the executor to use it at once.
        self.chunk_ready = self.create_guard_condition(self._on_chunk_ready)
        log_estop_at_start(self.get_logger(), self.estop, param("estop_reset_topic"))
        self.reporter.publish_estop()
        self.reporter.changed()

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
        self.hold_reason = ""
        self.reporter.changed()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        self._drop_plan()  # any inference still running belongs to the old activation
        self.active = True
        self.hold_reason, self.hold_is_error = "waiting for the first chunk", False
        self.reporter.changed()
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        self.generation += 1
        self._hold("deactivated")
        self.reporter.changed()
        return super().on_deactivate(state)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._release()
        self.reporter.changed()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.active = False
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def destroy_node(self) -> None:
        if self.worker is not None:  # an inference thread cut off at exit aborts the process (C++ terminate)
            self.worker.stop()
        super().destroy_node()

    # ----- set-up ------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self.inputs = Inputs()
        self.lock = threading.Lock()
        self.tick = 0
        self.generation = 0
        self.previous_command: np.ndarray | None = None
        self.planned_instruction_count = 0  # the instruction message the current plan was made for
        self.inputs_needed_after: float | None = None  # a new task waits for inputs received after this
        self.hold_reason, self.hold_is_error, self.hold_detail = "unconfigured", False, ""
        self.refusal: Hold | None = None  # the policy refused the last chunk: hold until it accepts one
        self.last_abstain: float | None = None  # the newest answer's abstain (diagnostics)
        self._hold_logged = False  # the start of the current hold was logged: so is its end
        self.last_error = ""
        self.counts = dict.fromkeys(COUNTERS, 0)
        # Observation-to-command latency: from the capture stamp of the oldest frame a chunk was computed
        # from to the first command that uses the chunk (ROS clock, same machine), in ms.
        self.obs_to_command_ms: list[float] = []
        self._fresh_chunk_stamp: float | None = None
        self._requested_frame_times: dict[str, float | None] = {}  # receipt times, the last request's frames
        self._requested_tick: int | None = None  # the tick of the last request
        # (tick, start) of the last command: a second command in the same tick (a chunk that arrived after
        # the tick's command) is rate limited from the same start, never from the first one's first point.
        self._command_start: tuple[int, np.ndarray] | None = None

    def _configure_logic(self) -> None:
        p = self.p
        joints = tuple(p["joint_names"])
        self.units = PolicyUnits(joints, p["gripper_joint"], *p["gripper_range_rad"])
        self.safety = parameters.safety_config(p, max_input_age_s=p["max_input_age_s"])
        if len(p["camera_topics"]) != len(p["camera_names"]):
            raise ValueError("camera_topics and camera_names must have the same length")
        self.joint_check = safety.JointStateCheck(joints, self.safety)
        self.scheduler = chunking.ChunkScheduler(p["request_ahead_steps"], p["blend_steps"])
        self.period_s = 1.0 / p["control_rate_hz"]
        self.inputs = Inputs(
            frame_times=dict.fromkeys(p["camera_names"]), instruction=p["default_instruction"].strip()
        )

    def _load_runtime(self) -> None:
        self.runtime, self.worker = start_inference(self.p, self.get_logger(), self.chunk_ready.trigger)

    def _create_interfaces(self) -> None:
        p = self.p
        self._handles += subscribe_cameras(self, p, self._on_image)
        self._handles += [
            self.create_subscription(
                JointState, p["joint_states_topic"], self._on_joints, qos_profile_sensor_data
            ),
            self.create_subscription(String, p["instruction_topic"], self._on_instruction, LATCHED),
        ]
        self.trajectory_pub = self.create_lifecycle_publisher(
            JointTrajectory, f"{p['controller_name']}/joint_trajectory", 10
        )
        self._handles += [self.trajectory_pub, self.create_timer(self.period_s, self._control_tick)]

    def _release(self) -> None:
        destroy_handles(self, self._handles)
        self._handles = []
        if self.worker is not None:
            self.worker.stop()
        self.runtime = self.worker = None
        self._reset_state()

    # ----- callbacks -------------------------------------------------------------------------------
    def _on_image(self, camera: str, topic: str, msg) -> None:
        try:
            frame = images.message_to_rgb(topic, msg, self.p["image_width"], self.p["image_height"])
        except images.ImageError as error:
            self._reject("rejected_images", str(error))
            return
        with self.lock:
            self.inputs.receive_frame(camera, frame, time.monotonic(), stamp_seconds(msg.header.stamp))
            new_frames = self.inputs.frames_newer_than(self._requested_frame_times)
        # Plan from these frames now, not at the next tick; one request per tick at most (a chunk shorter
        # than request_ahead_steps would otherwise keep the CPU inferring at the camera rate).
        wanted = new_frames and self._requested_tick != self.tick and self.scheduler.wants_request(self.tick)
        instruction = self._inputs_trusted() if self.active and wanted else None
        if instruction is not None and self.scheduler.wants_request(self.tick):  # still, after a replan
            self._request_chunk(instruction)

    def _on_joints(self, msg: JointState) -> None:
        """A reading that cannot be trusted (missing or non-finite joint, beyond the limits, an impossible
        jump) is a fault: the control tick holds until a trusted one arrives. It never updates the joints."""
        now = time.monotonic()
        joints, fault = read_joints(msg, self.units.joint_names, self.joint_check, now)
        with self.lock:
            self.inputs.receive_joints(joints, fault, now, stamp_seconds(msg.header.stamp))
        if fault is not None:
            self._reject("rejected_joint_states", fault.detail)

    def _on_instruction(self, msg: String) -> None:
        with self.lock:
            self.inputs.receive_instruction(msg.data, self.p["instruction_topic"], time.monotonic())
            error = self.inputs.instruction_error
        if error:
            self.get_logger().error(error)

    def _on_estop(self, msg: Empty) -> None:
        self.estop.trigger(f"message on {self.get_parameter('estop_topic').value}")
        self.get_logger().warning("e-stop latched: no commands until a message on estop_reset")
        if self.estop.store_error:
            self.get_logger().error(self.estop.store_error)
        if self.runtime is not None:
            self._hold("e-stop latched", error=True)
        self.reporter.publish_estop()
        self.reporter.changed()

    def _on_estop_reset(self, msg: Empty) -> None:
        if self.estop.latched or self.estop.store_error:
            self.estop.reset()
            self.get_logger().info("e-stop cleared")
            if self.estop.store_error:
                self.get_logger().error(self.estop.store_error)
            if self.hold_reason == "e-stop latched":
                self.hold_reason, self.hold_is_error = "e-stop cleared", False
            self.reporter.publish_estop()
            self.reporter.changed()

    def _reject(self, counter: str, message: str) -> None:
        self.counts[counter] += 1
        if message != self.last_error:
            self.log.error(message)
        self.last_error = message
        self.reporter.changed()

    # ----- control ---------------------------------------------------------------------------------
    def _control_tick(self) -> None:
        self.tick += 1
        if not self.active:
            return
        self._merge_results()
        instruction = self._inputs_trusted()
        if instruction is None:
            return
        if self.scheduler.wants_request(self.tick):
            self._request_chunk(instruction)  # the fallback when the cameras are slower than the tick
        targets = self.scheduler.horizon(self.tick, self.p["command_horizon_steps"])
        if targets is None:
            if self.refusal is not None:
                return self._hold(self.refusal.reason, drop_plan=False, detail=self.refusal.detail)
            if self.counts["chunks"]:
                self.counts["starved_ticks"] += 1
            return self._hold("waiting for inference", drop_plan=False)
        self._send(targets)
        self.scheduler.advance(self.tick)

    def _on_chunk_ready(self) -> None:
        """An inference result is ready (the inference thread triggered `chunk_ready`): merge it, and send
        the first command from the new plan now, for the same ticks as the last tick's command. The tick
        does not advance: the timer keeps the control rate and its next command continues the plan."""
        if not self.active or self.worker is None:
            return
        self._merge_results()
        if self._fresh_chunk_stamp is None or self._inputs_trusted() is None:
            return
        targets = self.scheduler.horizon(self.tick, self.p["command_horizon_steps"])
        if targets is not None:
            self._send(targets)

    def _inputs_trusted(self) -> str | None:
        """The instruction to plan and command with, or None after holding (`_hold`) for the first rule of
        `input_hold` that stops the commands, or while a new task waits for inputs newer than its
        instruction. Forgets a plan that no longer fits (`_replan_if_stale`). Used by every path that
        requests a chunk or sends a command."""
        now, ros_now = time.monotonic(), self.get_clock().now().nanoseconds * 1e-9
        with self.lock:
            hold = input_hold(
                self.inputs, self.estop.latched, now, ros_now, self.safety, self.p["instruction_topic"]
            )
            received, instruction = self.inputs.receipt_times(), self.inputs.instruction
            instruction_count = self.inputs.instruction_count
            instruction_time = self.inputs.instruction_time
            joints = self.inputs.joints_rad
        if hold is not None:
            self._hold(hold.reason, hold.drop_plan, hold.error, hold.detail)
            return None
        self._replan_if_stale(joints, instruction_count, instruction_time)
        if self.inputs_needed_after is not None:
            # A new task often comes with a new scene (a reset): plan from the frames and joints that
            # follow the instruction, not from the last ones of the previous task.
            waiting = safety.received_before(received, self.inputs_needed_after)
            if waiting:
                reason = f"waiting for inputs newer than the instruction: {', '.join(waiting)}"
                self._hold(reason, drop_plan=False)
                return None
            self.inputs_needed_after = None
        return instruction

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
            limit = self.p["replan_error_rad"]
            reason = chunking.drift_reason(joints, self.previous_command, self.units, limit)
        if reason:
            self._drop_plan()
            self.counts["replans"] += 1
            self.log.info(f"replanning from the measured state: {reason}")

    def _drop_plan(self) -> None:
        """Forget the plan, any inference in flight and a refusal (it was for the plan): commands start
        again from the measured joints once a chunk is accepted."""
        self.scheduler.reset()
        self.previous_command = self._command_start = self.refusal = None
        self.generation += 1

    def _request_chunk(self, instruction: str) -> None:
        with self.lock:
            obs, stamp, frame_times = self.inputs.observation(self.units)
        obs["task"] = instruction
        if self.worker.request(obs, self.tick, self.generation, stamp):
            self.scheduler.requested(self.tick)
            self._requested_frame_times, self._requested_tick = frame_times, self.tick

    def _merge_results(self) -> None:
        for result in self.worker.results():
            if result.generation != self.generation:
                continue
            self.scheduler.cancel_request()
            verdict = safety.judge_chunk(result.chunk, result.error, self.safety, self.units)
            self.last_abstain = verdict.abstain  # None for an untrusted answer
            if verdict.problem:
                self._reject("chunks_dropped", verdict.problem)
            elif verdict.abstaining:
                self._refuse(verdict.abstain, result.instruction)
            else:
                self.scheduler.merge(verdict.targets, result.tick, self.tick)
                self._fresh_chunk_stamp = result.stamp
                self.counts["chunks"] += 1

    def _refuse(self, abstain: float, instruction: str) -> None:
        """The policy says `instruction` names nothing in view: hold, and forget the plan so that nothing
        queued from earlier chunks is sent either. Requests go on; the first chunk accepted resumes."""
        hold = refusal_hold(abstain, self.safety.abstain_threshold, instruction)
        self._hold(hold.reason, hold.drop_plan, hold.error, hold.detail)
        self.refusal = hold  # after the hold: forgetting the plan forgets a refusal
        self.counts["abstained_chunks"] += 1

    def _send(self, targets: np.ndarray) -> None:
        """Publish `targets` (H, J) rad for ticks tick+1 ..., rate limited (from the previous tick's command,
        else the measured joints), then clamped."""
        if self._command_start is not None and self._command_start[0] == self.tick:
            start = self._command_start[1]  # this tick's command is replaced, not followed
        else:
            with self.lock:
                start = self.previous_command if self.previous_command is not None else self.inputs.joints_rad
        self._command_start = (self.tick, start)
        commands = safety.limit_commands(targets, start, self.safety)  # rate limited, then clamped
        self.trajectory_pub.publish(trajectory_message(self.units.joint_names, commands, self.period_s))
        if self._fresh_chunk_stamp:  # the first command that uses the newest chunk
            now = self.get_clock().now().nanoseconds * 1e-9
            self.obs_to_command_ms.append((now - self._fresh_chunk_stamp) * 1e3)
            self._fresh_chunk_stamp = None
        self.previous_command = commands[0]
        self.counts["commands"] += 1
        if self.hold_reason:
            self.log.info(f"sending commands (was holding: {self.hold_reason})", always=self._hold_logged)
            self.hold_reason, self.hold_is_error, self.hold_detail = "", False, ""
            self.reporter.changed()

    def _hold(self, reason: str, drop_plan: bool = True, error: bool = False, detail: str = "") -> None:
        """Send nothing and say why. `reason` stays the same while its cause lasts (the status and the log
        change with it, never per tick); `detail` (ages, values) goes to the diagnostics only. `error` marks
        a fault (ERROR diagnostics) rather than a passing wait. `drop_plan` forgets the plan (see
        `_drop_plan`): the e-stop, a joint fault, deactivation."""
        if drop_plan:
            self._drop_plan()
        self.hold_detail = detail
        if (reason, error) != (self.hold_reason, self.hold_is_error):
            self.hold_reason, self.hold_is_error = reason, error
            self._hold_logged = (self.log.error if error else self.log.warning)(f"holding: {reason}")
            self.reporter.changed()


def main(args: list[str] | None = None) -> None:
    run_lifecycle(PolicyNode, args)


if __name__ == "__main__":
    main()
