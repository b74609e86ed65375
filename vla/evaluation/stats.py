"""Binomial confidence intervals for success rates, and the AUROC of a score that predicts an outcome."""

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


def auroc(scores: list[float], positives: list[bool]) -> float:
    """Area under the ROC curve of `scores` ranking the positive cases above the negative ones: the chance
    that a random positive outscores a random negative, ties counting half (Mann-Whitney U / (n+ n-)).
    0.5 is chance, 1.0 a perfect ranking. ValueError when either class is empty (no curve to draw)."""
    if len(scores) != len(positives):
        raise ValueError(f"auroc: {len(scores)} scores for {len(positives)} outcomes")
    positive = [s for s, p in zip(scores, positives, strict=True) if p]
    negative = [s for s, p in zip(scores, positives, strict=True) if not p]
    if not positive or not negative:
        raise ValueError(f"auroc needs both classes; got {len(positive)} positive, {len(negative)} negative")
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))
