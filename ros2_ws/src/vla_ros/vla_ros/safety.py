"""The policy node's safety rules, as pure functions of time and data (units: radians, seconds).

- Stale or missing inputs (any camera or the joint states older than `max_input_age_s`) -> hold.
- A latching e-stop: once triggered, nothing is sent until an explicit reset.
- Non-finite actions -> the chunk is dropped.
- Every command is clamped to the joint limits, and consecutive commands differ by at most
  `max_step_rad` per joint per control step.
- Low-confidence chunks (the policy's mean max-bin probability) can slow down or hold.

Holding means publishing nothing: the trajectory controller finishes the short horizon it has (see
`command_horizon_steps`) and keeps the last position. Nothing here ever produces a zero pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

    def __post_init__(self) -> None:
        if self.low_confidence_mode not in LOW_CONFIDENCE_MODES:
            raise ValueError(
                f"low_confidence_mode {self.low_confidence_mode!r}; expected one of {LOW_CONFIDENCE_MODES}"
            )
        if np.any(self.lower_rad >= self.upper_rad):
            raise ValueError("joint_lower_limits must be below joint_upper_limits for every joint")
        if np.any(self.max_step_rad <= 0) or self.max_input_age_s <= 0 or self.slow_factor < 1:
            raise ValueError("max_step_rad and max_input_age_s must be positive, slow_factor >= 1")


def stale_inputs(now: float, last_received: dict[str, float | None], max_age_s: float) -> list[str]:
    """Names of inputs never received or older than `max_age_s` (times in seconds, same clock as `now`)."""
    return [
        f"{name} ({'never received' if t is None else f'{now - t:.3f} s old'})"
        for name, t in last_received.items()
        if t is None or now - t > max_age_s
    ]


def received_before(last_received: dict[str, float | None], moment: float) -> list[str]:
    """Names of inputs not received since `moment` (a new task waits for these before it plans)."""
    return [name for name, t in last_received.items() if t is None or t <= moment]


def chunk_problem(actions: np.ndarray, confidence: np.ndarray, config: SafetyConfig) -> str | None:
    """Why a chunk must be dropped (non-finite values), or None."""
    if not np.all(np.isfinite(actions)):
        steps = sorted({int(i) for i in np.argwhere(~np.isfinite(actions))[:, 0]})
        return f"non-finite actions at chunk step(s) {steps}: chunk dropped"
    if not np.all(np.isfinite(confidence)):
        return "non-finite confidence: chunk dropped"
    return None


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
    """(H, J) targets -> clamped to the joint limits and rate limited from `previous` (J,), step by step.

    `time_scale` > 1 stretches each step in time, so the allowed change per step grows with it.
    """
    out = np.empty_like(np.asarray(targets, np.float64))
    current = np.asarray(previous, np.float64)
    step = config.max_step_rad * time_scale
    for k, target in enumerate(np.clip(targets, config.lower_rad, config.upper_rad)):
        current = current + np.clip(target - current, -step, step)
        out[k] = current
    return out


class EStop:
    """A latching emergency stop: `trigger()` holds until `reset()`; counts both for diagnostics."""

    def __init__(self) -> None:
        self.latched = False
        self.triggers = 0

    def trigger(self) -> None:
        self.latched = True
        self.triggers += 1

    def reset(self) -> None:
        self.latched = False
