"""Perturbed expert demonstrations: the arm is pushed off the plan, the recorded action brings it back.

Why: a policy cloned from clean demonstrations sees states on the expert's path only, where the next
joint targets follow almost exactly from the current joints and their motion. The shipped policy learnt
that shortcut: on held-out episodes, giving it another frame's camera images moves its arm error by
0.5 degrees, another frame's joint state by 20 (`bench/held_out.py --swap`, docs/LOG.md 2026-11-28).
In closed loop its own small errors take it off that path and nothing in the data says how to come back.

Here (after DART, Laskey et al. 2017) the *executed* action is the expert's plus a burst of offset now and
then, while the *recorded* action stays the expert's own target. The recorded states then lie off the
expert's path, labelled with actions that return to it, and only the cameras (where the cube is) tell the
policy where the path lies. The expert does not replan, so a burst that knocks a cube off course fails
the episode, and failed episodes are discarded as always.

Bursts: after a quiet gap of `gap_s` seconds, every arm joint gets its own constant offset, uniform in
+-`degrees`, for `burst_s` seconds (both drawn uniformly from their ranges). The gripper is never
perturbed. Everything is drawn from the episode's seed, so a perturbed episode is as reproducible as a
clean one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NOISE_SEED_STREAM = 0x5EED  # keeps the noise's random stream apart from the layout's for the same seed


@dataclass(frozen=True)
class ExpertNoise:
    degrees: float  # largest offset per arm joint (so101_follower units: degrees)
    burst_s: tuple[float, float] = (0.2, 0.6)  # how long one offset is held, seconds
    gap_s: tuple[float, float] = (0.5, 1.5)  # unperturbed time between bursts, seconds

    def __post_init__(self) -> None:
        if self.degrees < 0:
            raise ValueError(f"expert noise must be at least 0 degrees, got {self.degrees}")
        for name, (low, high) in (("burst_s", self.burst_s), ("gap_s", self.gap_s)):
            if not 0 < low <= high:
                raise ValueError(f"expert noise {name} must be 0 < low <= high, got {(low, high)}")

    def process(self, seed: int, arm_joints: int, control_hz: float) -> BurstProcess:
        rng = np.random.default_rng([seed, NOISE_SEED_STREAM])
        return BurstProcess(self, rng, arm_joints, control_hz)


class BurstProcess:
    """One episode's offsets: `next()` gives the (arm_joints,) offset in degrees for the next step."""

    def __init__(self, noise: ExpertNoise, rng: np.random.Generator, arm_joints: int, control_hz: float):
        self.noise, self.rng, self.arm_joints, self.control_hz = noise, rng, arm_joints, control_hz
        self.offset = np.zeros(arm_joints)
        self.steps_left = self._steps(noise.gap_s)  # an episode starts quiet
        self.in_burst = False

    def _steps(self, seconds: tuple[float, float]) -> int:
        return max(1, round(self.rng.uniform(*seconds) * self.control_hz))

    def next(self) -> np.ndarray:
        if self.steps_left == 0:
            self.in_burst = not self.in_burst
            if self.in_burst:
                self.offset = self.rng.uniform(-self.noise.degrees, self.noise.degrees, self.arm_joints)
                self.steps_left = self._steps(self.noise.burst_s)
            else:
                self.offset = np.zeros(self.arm_joints)
                self.steps_left = self._steps(self.noise.gap_s)
        self.steps_left -= 1
        return self.offset.copy()
