"""The policy node's safety rules, as pure functions of time and data (units: radians, seconds).

- Stale or missing inputs -> hold. An input is stale when its last message was received more than
  `max_input_age_s` ago, or when its header.stamp is older than that by more than the tolerated clock
  offset between sender and node (a camera that keeps sending with a frozen stamp is stale too).
- A measured joint beyond its limits by more than `joint_limit_tolerance_rad`, or moving faster than
  `max_joint_speed_rad_s` between two readings (a glitch, a miscalibration, a robot pushed past a stop)
  is a fault -> hold until a plausible reading arrives.
- A latching e-stop: once triggered, nothing is sent until an explicit reset; with an `EStopStore` the
  latch survives a restart of the node.
- A policy answer without one of its fields (actions, confidence, abstain), or with a non-finite one, is
  untrusted -> the chunk is dropped.
- An abstaining chunk (its `abstain`, the policy's probability that the instruction names nothing in view,
  at or above `abstain_threshold`) -> hold: nothing from it is sent, and the plan is forgotten; the next
  chunk below the threshold resumes.
- Consecutive commands differ by at most `max_step_rad` per joint per control step, and every command is
  clamped to the joint limits last, so nothing outside the limits is ever sent.
- Low-confidence chunks (the policy's mean max-bin probability) can slow down or hold.

Holding means publishing nothing: the trajectory controller finishes the short horizon it has (see
`command_horizon_steps`) and keeps the last position. Nothing here ever produces a zero pose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vla.contract import ABSTAIN_THRESHOLD
from vla_ros.estop_store import EStopStore

LOW_CONFIDENCE_MODES = ("ignore", "slow", "hold")


@dataclass(frozen=True)
class SafetyConfig:
    lower_rad: np.ndarray  # (J,) joint lower limits
    upper_rad: np.ndarray  # (J,) joint upper limits
    max_step_rad: np.ndarray  # (J,) largest change between consecutive commands, per control step
    max_input_age_s: float  # older camera frames or joint states stop the commands
    low_confidence_threshold: float = 0.0  # chunks whose mean confidence is below this...
    low_confidence_mode: str = "slow"  # ...are slowed down (time stretched by slow_factor) or held
    slow_factor: float = 2.0
    joint_limit_tolerance_rad: float = 0.1  # a measured joint further beyond a limit is a fault
    max_joint_speed_rad_s: float = 10.0  # a measured joint moving faster between readings is a fault
    max_clock_offset_s: float = 0.1  # tolerated sender clock offset plus capture-to-receipt latency
    abstain_threshold: float = ABSTAIN_THRESHOLD  # a chunk whose abstain is at or above this is held

    def __post_init__(self) -> None:
        if self.low_confidence_mode not in LOW_CONFIDENCE_MODES:
            raise ValueError(
                f"low_confidence_mode {self.low_confidence_mode!r}; expected one of {LOW_CONFIDENCE_MODES}"
            )
        if np.any(self.lower_rad >= self.upper_rad):
            raise ValueError("joint_lower_limits must be below joint_upper_limits for every joint")
        if np.any(self.max_step_rad <= 0) or self.max_input_age_s <= 0 or self.slow_factor < 1:
            raise ValueError("max_step_rad and max_input_age_s must be positive, slow_factor >= 1")
        tolerances = (self.joint_limit_tolerance_rad, self.max_clock_offset_s)
        if min(tolerances) < 0 or self.max_joint_speed_rad_s <= 0:
            raise ValueError(
                "joint_limit_tolerance_rad and max_clock_offset_s must be >= 0, max_joint_speed_rad_s > 0"
            )
        if not 0.0 <= self.abstain_threshold <= 1.0:  # a probability: outside, always or never held
            raise ValueError(f"abstain_threshold {self.abstain_threshold:g} must be in [0, 1]")


def stale_inputs(now: float, last_received: dict[str, float | None], max_age_s: float) -> list[str]:
    """Names of inputs never received or older than `max_age_s` (times in seconds, same clock as `now`)."""
    return [
        f"{name} ({'never received' if t is None else f'{now - t:.3f} s old'})"
        for name, t in last_received.items()
        if t is None or now - t > max_age_s
    ]


def input_staleness(
    now: float,
    last_received: dict[str, float | None],
    ros_now: float,
    stamps: dict[str, float | None],
    config: SafetyConfig,
) -> dict[str, tuple[str, float]]:
    """Stale inputs: name -> (why, age in s). `why` is a fixed phrase (a hold reason built from it stays the
    same while the fault lasts); the age changes every tick and goes to the diagnostics' values only.

    `now` / `last_received`: receipt times on the node's monotonic clock. `ros_now` / `stamps`: the node's
    ROS time and each input's last header.stamp (s); a stamp of 0 (or None) means the sender does not
    stamp its messages, and only the receipt time is judged. A stamp is old when older than
    `max_input_age_s + max_clock_offset_s`, and from the future when ahead by more than the offset.
    """
    stale: dict[str, tuple[str, float]] = {}
    for name, received in last_received.items():
        stamp = stamps.get(name)
        if received is None:
            stale[name] = ("never received", float("inf"))
        elif now - received > config.max_input_age_s:
            stale[name] = ("late", now - received)
        elif stamp:
            stamp_age = ros_now - stamp
            if stamp_age > config.max_input_age_s + config.max_clock_offset_s:
                stale[name] = ("old header.stamp", stamp_age)
            elif -stamp_age > config.max_clock_offset_s:
                stale[name] = ("header.stamp in the future", stamp_age)
    return stale


def received_before(last_received: dict[str, float | None], moment: float) -> list[str]:
    """Names of inputs not received since `moment` (a new task waits for these before it plans)."""
    return [name for name, t in last_received.items() if t is None or t <= moment]


@dataclass(frozen=True)
class JointFault:
    """Why a joint state cannot be trusted. `reason` names the joints and the rule and stays the same while
    the fault lasts (a hold reason); `detail` carries the measured values (for the log and diagnostics)."""

    reason: str
    detail: str


class JointStateCheck:
    """Plausibility of measured joint positions (J,) in radians, one reading after another.

    A reading is a fault when a joint is beyond its limits by more than `joint_limit_tolerance_rad`, or when
    a joint moved from the previous reading faster than `max_joint_speed_rad_s`. The interval between two
    readings is measured by receipt time, which transport jitter shortens or lengthens: it is widened by
    `max_input_age_s` (a later reading would be stale anyway). The previous reading is the reference even
    when it was a fault, so a robot that really moved (a reset, a push) is trusted again from the second
    reading at its new place, while a glitch costs the reading into it and the one out of it.
    """

    def __init__(self, joint_names: Sequence[str], config: SafetyConfig):
        self.joint_names = tuple(joint_names)
        self.config = config
        self._previous: tuple[np.ndarray, float] | None = None  # (joints (J,) rad, receipt time s)

    def forget(self) -> None:
        """No reference reading: the next one is judged on the limits only (after a missing or NaN one)."""
        self._previous = None

    def check(self, joints_rad: np.ndarray, time_s: float) -> JointFault | None:
        q = np.asarray(joints_rad, np.float64)
        cfg = self.config
        beyond = np.maximum(cfg.lower_rad - q, q - cfg.upper_rad)  # (J,) > 0 outside the limits
        previous, self._previous = self._previous, (q, time_s)
        bad = np.flatnonzero(beyond > cfg.joint_limit_tolerance_rad)
        if bad.size:
            names = [self.joint_names[i] for i in bad]
            detail = "; ".join(
                f"{self.joint_names[i]} = {q[i]:.3f} rad, "
                f"limits [{cfg.lower_rad[i]:.3f}, {cfg.upper_rad[i]:.3f}]"
                for i in bad
            )
            return JointFault(
                f"joint_states: {', '.join(names)} beyond the joint limits by more than "
                f"joint_limit_tolerance_rad = {cfg.joint_limit_tolerance_rad:g} rad",
                f"joint_states: {detail}: check the calibration and the robot; holding",
            )
        if previous is None:
            return None
        q0, t0 = previous
        dt = max(time_s - t0, 0.0)
        allowed = cfg.max_joint_speed_rad_s * (dt + cfg.max_input_age_s)
        bad = np.flatnonzero(np.abs(q - q0) > allowed)
        if bad.size:
            names = [self.joint_names[i] for i in bad]
            detail = "; ".join(f"{self.joint_names[i]} {q0[i]:.3f} -> {q[i]:.3f} rad" for i in bad)
            return JointFault(
                f"joint_states: {', '.join(names)} moved faster than max_joint_speed_rad_s = "
                f"{cfg.max_joint_speed_rad_s:g} rad/s (an implausible reading)",
                f"joint_states: {detail} in {dt:.3f} s: a sensor glitch or a robot moved by force; holding",
            )
        return None


# The fields of a policy's answer (the `infer(obs)` contract of vla.policy), each checked before it is used.
CHUNK_FIELDS = ("actions", "confidence", "abstain")


@dataclass(frozen=True)
class ChunkVerdict:
    """What the node does with one policy answer: schedule `targets`, or send nothing from it, because it
    cannot be trusted or is held for low confidence (`problem`, reported as an error), or because the
    policy abstains (`abstaining`: it says the instruction names nothing in view; a hold, not a fault)."""

    targets: np.ndarray | None = None  # (T', J) radian targets for the scheduler
    problem: str = ""
    abstaining: bool = False
    abstain: float | None = None  # the answer's abstain probability, None when the answer is untrusted


def chunk_problem(chunk: dict) -> str | None:
    """Why a policy answer cannot be trusted, naming the field (missing, non-finite, or an abstain that is
    not one probability in [0, 1]), or None."""
    missing = [name for name in CHUNK_FIELDS if name not in chunk]
    if missing:
        return f"no {', '.join(missing)} in the policy's answer: chunk dropped"
    actions = np.asarray(chunk["actions"], np.float64)
    if not np.all(np.isfinite(actions)):
        steps = sorted({int(i) for i in np.argwhere(~np.isfinite(actions))[:, 0]})
        return f"non-finite actions at chunk step(s) {steps}: chunk dropped"
    if not np.all(np.isfinite(chunk["confidence"])):
        return "non-finite confidence: chunk dropped"
    abstain = np.asarray(chunk["abstain"], np.float64)
    if abstain.size != 1:
        return f"abstain has shape {abstain.shape}, expected one value: chunk dropped"
    if not np.isfinite(abstain.item()):
        return "non-finite abstain: chunk dropped"
    if not 0.0 <= abstain.item() <= 1.0:
        return f"abstain {abstain.item():g} outside [0, 1]: chunk dropped"
    return None


def judge_chunk(chunk: dict | None, error: str | None, config: SafetyConfig, units) -> ChunkVerdict:
    """A policy answer -> its `ChunkVerdict`, the first rule that applies: untrusted (`chunk_problem`, or
    `error` when inference failed and `chunk` is None) -> dropped; abstain >= `abstain_threshold` ->
    abstaining, whatever its actions; low confidence -> stretched in time (slow mode) or held (hold mode,
    a `problem`); else its actions as targets.

    `chunk`: the runtime's dict ("actions" (T, J) in policy units, "confidence" (T,), "abstain" ()).
    `units`: a `vla_ros.units.PolicyUnits`.
    """
    from vla_ros.chunking import stretch

    problem = error or chunk_problem(chunk)
    if problem:
        return ChunkVerdict(problem=problem)
    abstain = float(np.asarray(chunk["abstain"]).item())
    if abstain >= config.abstain_threshold:
        return ChunkVerdict(abstaining=True, abstain=abstain)
    scale = confidence_time_scale(chunk["confidence"], config)
    if scale is None:
        problem = f"low confidence {float(np.mean(chunk['confidence'])):.2f}: chunk held"
        return ChunkVerdict(problem=problem, abstain=abstain)
    return ChunkVerdict(targets=stretch(units.to_ros(chunk["actions"]), scale), abstain=abstain)


def confidence_time_scale(confidence: np.ndarray, config: SafetyConfig) -> float | None:
    """1.0 (normal), slow_factor (stretch time), or None (hold) for a chunk's confidence."""
    if (
        float(np.mean(confidence)) >= config.low_confidence_threshold
        or config.low_confidence_mode == "ignore"
    ):
        return 1.0
    return config.slow_factor if config.low_confidence_mode == "slow" else None


def limit_commands(
    targets: np.ndarray, previous: np.ndarray, config: SafetyConfig, time_scale: float = 1.0
) -> np.ndarray:
    """(H, J) targets -> rate limited from `previous` (J,) step by step, then clamped to the joint limits.

    The clamp comes last, so every command is inside the limits even when `previous` is not (the first
    command after a start from a measured joint slightly beyond a limit): the limits win over the rate
    limit there. Each clamped command is the reference of the next step. `time_scale` > 1 stretches each
    step in time, so the allowed change per step grows with it.
    """
    out = np.empty_like(np.asarray(targets, np.float64))
    current = np.asarray(previous, np.float64)
    step = config.max_step_rad * time_scale
    for k, target in enumerate(np.asarray(targets, np.float64)):
        current = current + np.clip(target - current, -step, step)
        current = np.clip(current, config.lower_rad, config.upper_rad)
        out[k] = current
    return out


class EStop:
    """A latching emergency stop: `trigger()` holds until `reset()`; counts both for diagnostics.

    With a `store`, the latch is read from it at construction and written on every change, so a restart of
    the node (a crash, kill -9, a relaunch) comes back latched. A store that cannot be written leaves the
    latch in memory and says why in `store_error`; one that cannot be read counts as latched.
    """

    def __init__(self, store: EStopStore | None = None) -> None:
        self.store = store
        self.latched = False
        self.triggers = 0
        self.store_error = ""
        if store is not None:
            self.latched, self.store_error = store.load()

    def trigger(self, reason: str = "e-stop") -> None:
        self.latched = True
        self.triggers += 1
        self._save(reason)

    def reset(self) -> None:
        self.latched = False
        self._save("reset")

    def _save(self, reason: str) -> None:
        if self.store is None:
            return
        try:
            self.store.save(self.latched, reason)
            self.store_error = ""
        except OSError as error:
            self.store_error = f"cannot write the e-stop state file {self.store.path}: {error}"
