"""Demonstrations of a retry: the expert's first grasp is aimed beside the cube, closes on nothing, and
the expert opens, rises and grasps again from the scene as it is then (`ScriptedExpert.retry`).

Why: every failed episode of the shipped policy (`nano_stream`, 100 episodes per task) ran to the time
limit after a missed grasp, holding its closed, empty gripper still (`bench/chunk_trace.py`, docs/LOG.md
2026-12-04). The expert never misses, so no demonstration shows what follows a grasp that closed on
nothing; DAgger with the expert's timed plan as the labeller could not show it either (its labels jump,
docs/LOG.md 2026-12-02). Here the expert misses on purpose and re-plans from the state it reached, so
every label it records after the miss is a move from the state it was recorded in.

What training keeps of such an episode: the frames from the miss on (`Episode.retry_step`), when the
retry succeeds. The approach before it was aimed off the cube on purpose, and a policy must not learn
that. The miss shows in the observation as the gripper's measured opening: ~33 % around a held cube,
falling through ~12 % towards 0 when the jaws closed on nothing (sim/expert.py GRIPPER_OPEN = 60).

Measured (docs/LOG.md, 2026-12-04 evening): at a share of 0.3 for 55 min on CPU it did not teach a retry.
The policy learnt instead to stop above an off-centre cube, the state the retry's rise leaves it in, and
scored 15 points below the same run without misses. Off by default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sim.expert import Waypoint, first_close_index

MISS_SEED_STREAM = 0x4D155  # keeps the miss's random draw apart from the layout's and the noise's


@dataclass(frozen=True)
class GraspMiss:
    share: float  # share of the grasping episodes whose first grasp is aimed beside the cube
    # Sideways, across the jaws' closing direction, to either side (m). At 2 cm the pads already close
    # beside a 3 cm cube (measured: the gripper reads 0 % after the close, the cube untouched).
    offset_m: tuple[float, float] = (0.02, 0.035)

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"the share of missed grasps must be in [0, 1], got {self.share}")
        low, high = self.offset_m
        if not 0 < low <= high:
            raise ValueError(f"the miss's sideways offset must be 0 < low <= high (m), got {self.offset_m}")

    def draw(self, seed: int) -> float | None:
        """The episode's signed sideways offset (m), or None when its grasp is left alone."""
        rng = np.random.default_rng([seed, MISS_SEED_STREAM])
        if rng.random() >= self.share:
            return None
        return float(rng.choice([-1.0, 1.0]) * rng.uniform(*self.offset_m))


def aim_beside(plan: list[Waypoint], offset_m: float) -> list[Waypoint]:
    """`plan` with every waypoint up to and including its first closing one moved `offset_m` sideways, at
    right angles to the jaws' closing direction (the first closing waypoint's yaw). A plan without a
    grasp (a push) comes back unchanged."""
    closing = first_close_index(plan)
    if closing is None:
        return list(plan)
    yaw = plan[closing].yaw
    sideways = offset_m * np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    return [replace(w, pos=w.pos + sideways) if i <= closing else w for i, w in enumerate(plan)]
