"""Asynchronous chunk execution on a tick clock (one tick = one control period).

The policy predicts T actions from an observation taken at tick `o`: they are the targets for ticks
o+1 ... o+T. The scheduler keeps a plan (tick -> target), asks for the next chunk when at most
`request_ahead` planned steps remain, and merges a chunk when it arrives: steps already in the past are
dropped, and the first `blend_steps` steps that overlap the old plan are cross-faded linearly from old
to new, so the arm sees no jump at the boundary. When inference takes fewer ticks than `request_ahead`,
the next chunk lands before the plan runs out and the arm never waits.
"""

from __future__ import annotations

import numpy as np


class ChunkScheduler:
    def __init__(self, request_ahead: int, blend_steps: int):
        if request_ahead < 1 or blend_steps < 0:
            raise ValueError("request_ahead must be >= 1 and blend_steps >= 0")
        self.request_ahead = request_ahead
        self.blend_steps = blend_steps
        self.plan: dict[int, np.ndarray] = {}
        self.pending_since: int | None = None  # tick of the observation an outstanding request used

    def reset(self) -> None:
        self.plan.clear()
        self.pending_since = None

    def remaining(self, tick: int) -> int:
        """Planned steps after `tick`."""
        return sum(1 for t in self.plan if t > tick)

    def wants_request(self, tick: int) -> bool:
        return self.pending_since is None and self.remaining(tick) <= self.request_ahead

    def requested(self, tick: int) -> None:
        """A request went out with the observation of `tick`."""
        self.pending_since = tick

    def cancel_request(self) -> None:
        self.pending_since = None

    def merge(self, actions: np.ndarray, observation_tick: int, now_tick: int) -> None:
        """Merge a chunk (T, J) computed from the observation of `observation_tick`; `now_tick` is current."""
        self.pending_since = None
        self.plan = {t: a for t, a in self.plan.items() if t > now_tick}
        overlap = 0
        for k, action in enumerate(np.asarray(actions, np.float64)):
            tick = observation_tick + 1 + k
            if tick <= now_tick:
                continue  # the moment for this step has passed while inference ran
            if tick in self.plan and overlap < self.blend_steps:
                weight = (overlap + 1) / (self.blend_steps + 1)  # new chunk's share, rising to 1
                self.plan[tick] = (1 - weight) * self.plan[tick] + weight * action
                overlap += 1
            else:
                self.plan[tick] = action

    def horizon(self, tick: int, steps: int) -> np.ndarray | None:
        """Targets for ticks tick+1 ... (at most `steps`, consecutive), or None when nothing is planned."""
        targets = []
        for t in range(tick + 1, tick + 1 + steps):
            if t not in self.plan:
                break
            targets.append(self.plan[t])
        return np.stack(targets) if targets else None

    def advance(self, tick: int) -> None:
        """Forget targets at or before `tick`."""
        self.plan = {t: a for t, a in self.plan.items() if t > tick}


def stretch(actions: np.ndarray, factor: float) -> np.ndarray:
    """(T, J) -> (ceil(T * factor), J): the same path, linearly resampled to take `factor` times longer."""
    actions = np.asarray(actions, np.float64)
    if factor == 1.0:
        return actions
    steps = int(np.ceil(len(actions) * factor))
    source = np.arange(1, len(actions) + 1, dtype=np.float64)  # step k reaches actions[k-1] at time k
    times = np.arange(1, steps + 1, dtype=np.float64) / factor
    return np.stack([np.interp(times, source, column) for column in actions.T], axis=1)


def drift_reason(joints: np.ndarray, last_command: np.ndarray, units, replan_error_rad: float) -> str:
    """Why the plan no longer fits the robot, or "": an arm joint (J,) rad farther than `replan_error_rad`
    from the last command's first point (reset, moved by hand, or the controller did not follow). The
    gripper is left out: it stops on a grasped object, short of its command."""
    error = np.abs(joints - last_command)
    error[units.joint_names.index(units.gripper_joint)] = 0.0
    worst = int(np.argmax(error))
    if error[worst] <= replan_error_rad:
        return ""
    return f"{units.joint_names[worst]} is {error[worst]:.2f} rad from the last command"
