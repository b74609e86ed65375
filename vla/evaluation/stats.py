"""Binomial confidence intervals for success rates."""

from __future__ import annotations

import math


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927) for a success rate; 95 % by default. Returns (low, high) in [0, 1].

    Unlike the normal approximation it stays inside [0, 1] and is sensible at 0 or n successes, which is
    where small evaluation runs usually land.
    """
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z**2 / trials
    centre = (p + z**2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
