"""Following a JointTrajectory the way ros2_control's joint_trajectory_controller does, on a tick clock.

A trajectory received before tick `r` starts at the position commanded at that moment; point k is
reached `time_from_start_k` after receipt; positions in between are linear; after the last point the
last position is held.
"""

from __future__ import annotations

import numpy as np

from vla_ros.units import ordered_positions


def trajectory_points(msg, joint_names: list[str]) -> tuple[list[float], np.ndarray]:
    """A JointTrajectory message's (times_s (K,), positions (K, J) rad in `joint_names` order).

    ValueError (naming the joint) for a missing, unknown or non-finite joint, as `ordered_positions`."""
    points = np.array([ordered_positions(msg.joint_names, p.positions, joint_names) for p in msg.points])
    times_s = [p.time_from_start.sec + p.time_from_start.nanosec * 1e-9 for p in msg.points]
    return times_s, points


class TrajectoryFollower:
    def __init__(self, start: np.ndarray, period_s: float):
        self.period_s = period_s
        self.command = np.asarray(start, np.float64)  # (J,) radians: what the arm is told to hold now
        self._times: np.ndarray | None = None  # (K+1,) seconds, 0 = receipt
        self._positions: np.ndarray | None = None  # (K+1, J)
        self._elapsed_ticks = 0

    def reset(self, start: np.ndarray) -> None:
        self.command = np.asarray(start, np.float64)
        self._times = self._positions = None

    def receive(self, times_s: list[float], positions: np.ndarray) -> None:
        """A new trajectory replaces the old one from the current command onwards."""
        positions = np.asarray(positions, np.float64)
        if len(times_s) == 0:
            return
        if np.any(np.diff(times_s) <= 0) or times_s[0] <= 0:
            raise ValueError("trajectory time_from_start values must be positive and increasing")
        self._times = np.concatenate([[0.0], times_s])
        self._positions = np.vstack([self.command, positions])
        self._elapsed_ticks = 0

    def step(self) -> np.ndarray:
        """The command for the next control step (one period later)."""
        if self._times is not None:
            self._elapsed_ticks += 1
            t = min(self._elapsed_ticks * self.period_s, self._times[-1])
            self.command = np.array([np.interp(t, self._times, column) for column in self._positions.T])
        return self.command
