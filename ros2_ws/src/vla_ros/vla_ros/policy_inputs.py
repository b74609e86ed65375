"""The policy node's latest inputs, shared between the subscription callbacks and the control tick.

Pure data and rules (no rclpy): the node's callbacks convert messages and call `receive_*` under its lock;
the control tick reads a consistent snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vla.contract import OBS_STATE, camera_key
from vla_ros.safety import JointFault, JointStateCheck, SafetyConfig, input_staleness
from vla_ros.units import ordered_positions


@dataclass
class Inputs:
    """Latest inputs with their receipt times (time.monotonic seconds) and header stamps (ROS time, s;
    0 when the sender does not stamp)."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)
    frame_stamps: dict[str, float] = field(default_factory=dict)
    frame_times: dict[str, float | None] = field(default_factory=dict)
    joints_rad: np.ndarray | None = None  # the last trusted joint state (J,)
    joints_time: float | None = None
    joints_stamp: float = 0.0
    joint_fault: JointFault | None = None  # set by an untrusted reading, cleared by the next trusted one
    instruction: str = ""
    instruction_count: int = 0  # instruction messages received: each one starts a new task
    instruction_time: float | None = None
    instruction_error: str = ""  # the last instruction message was empty: hold until a usable one

    def receipt_times(self) -> dict[str, float | None]:
        return dict(self.frame_times) | {"joint_states": self.joints_time}

    def stamps(self) -> dict[str, float | None]:
        return dict(self.frame_stamps) | {"joint_states": self.joints_stamp}

    def frames_newer_than(self, times: dict[str, float | None]) -> bool:
        """Every camera has a frame received after its time in `times` (a camera missing there: any frame)."""
        since = {camera: times.get(camera) or float("-inf") for camera in self.frame_times}
        return all(t is not None and t > since[camera] for camera, t in self.frame_times.items())

    def receive_frame(self, camera: str, frame: np.ndarray, now: float, stamp: float) -> None:
        """A converted frame (H, W, 3) uint8 of `camera`, received at `now` with header stamp `stamp`."""
        self.frames[camera] = frame
        self.frame_times[camera] = now
        self.frame_stamps[camera] = stamp

    def receive_joints(self, joints: np.ndarray | None, fault: JointFault | None, now: float, stamp: float):
        """A joint state read by `read_joints`: its fault replaces the last one; only a trusted reading
        (no fault) updates the joints, their receipt time and stamp."""
        self.joint_fault = fault
        if fault is None:
            self.joints_rad, self.joints_time, self.joints_stamp = joints, now, stamp

    def observation(self, units) -> tuple[dict, float, dict[str, float | None]]:
        """The runtime's observation from the latest frames and trusted joints (policy units, without the
        instruction), the capture stamp of its oldest frame (ROS time, s) and its frames' receipt times."""
        obs = {camera_key(camera): frame for camera, frame in self.frames.items()}
        obs[OBS_STATE] = units.to_policy(self.joints_rad)
        return obs, min(self.frame_stamps.values()), dict(self.frame_times)

    def receive_instruction(self, text: str, topic: str, now: float) -> None:
        """A message on the instruction topic. Empty or whitespace-only is an error (the policy needs an
        instruction; an empty one is never turned into an action): the node holds until a usable one."""
        self.instruction = text.strip()
        self.instruction_count += 1
        self.instruction_time = now
        self.instruction_error = (
            ""
            if self.instruction
            else f"empty instruction on {topic}: publish a non-empty instruction to continue"
        )


@dataclass(frozen=True)
class Hold:
    """Why the control tick sends nothing. `reason` stays the same while its cause lasts (reports change
    with it); `detail` (ages, values) changes per tick and goes to the diagnostics' values only. `error`:
    a fault (ERROR) rather than a passing wait (WARN). `drop_plan`: forget the plan and the inference in
    flight, so commands start again from the measured joints once the hold ends."""

    reason: str
    error: bool = False
    drop_plan: bool = True
    detail: str = ""


def input_hold(
    inputs: Inputs, estop_latched: bool, now: float, ros_now: float, config: SafetyConfig, topic: str
) -> Hold | None:
    """The first rule that stops the commands, worst first, or None: the e-stop, a joint fault, a stale
    input (by receipt time or header stamp, see `safety.input_staleness`), an empty instruction, no
    instruction yet. `now`: monotonic s (receipt clock); `ros_now`: the node's ROS time (stamp clock)."""
    if estop_latched:
        return Hold("e-stop latched", error=True)
    if inputs.joint_fault is not None:
        return Hold(inputs.joint_fault.reason, error=True, detail=inputs.joint_fault.detail)
    stale = input_staleness(now, inputs.receipt_times(), ros_now, inputs.stamps(), config)
    if stale:
        # Keep the plan: its steps are tied to ticks, so a blip (one late frame on a busy machine) costs
        # one tick without a command, not a restart from a fresh inference. Steps whose tick passes
        # while holding are never sent, so a long outage still ends in a new chunk from new inputs.
        reason = "stale input: " + ", ".join(f"{name} ({why})" for name, (why, _) in stale.items())
        detail = ", ".join(f"{name} {age:.3f} s" for name, (_, age) in stale.items())
        return Hold(reason, drop_plan=False, detail=detail)
    if inputs.instruction_error:
        return Hold(inputs.instruction_error, error=True)
    if not inputs.instruction:
        return Hold(f"no instruction yet (topic {topic})")
    return None


def refusal_hold(abstain: float, threshold: float, instruction: str) -> Hold:
    """The hold while the policy refuses `instruction`: its abstain (vla.policy: the probability that the
    instruction names nothing in view) is at or above `threshold`. A WARN, not a fault; it forgets the plan
    (nothing queued from earlier chunks is sent). The value goes to the detail, so the reason, and with it
    the reports, stay the same from one refused chunk to the next."""
    return Hold(
        "abstaining: the instruction names nothing in view",
        detail=f"abstain {abstain:.2f} >= abstain_threshold {threshold:g} for {instruction!r}",
    )


def stamp_seconds(stamp) -> float:
    """builtin_interfaces/Time -> seconds (0.0 for an unstamped message)."""
    return stamp.sec + stamp.nanosec * 1e-9


def read_joints(
    msg, joint_names, joint_check: JointStateCheck, now: float
) -> tuple[np.ndarray | None, JointFault | None]:
    """A JointState message's positions (J,) rad in `joint_names` order, and its fault (None: trusted).
    A message that lacks a joint or is not finite is a fault; the next one is then judged on the limits."""
    try:
        joints = ordered_positions(msg.name, msg.position, joint_names)
        return joints, joint_check.check(joints, now)
    except ValueError as error:
        joint_check.forget()
        return None, JointFault(str(error), str(error))
