"""Per-joint normalisation of state and actions to [-1, 1], from a LeRobot dataset's stats.json.

Bounds are the 1st and 99th percentiles (as FAST / openpi do) rather than min/max, so one outlier frame
does not squeeze every other value into a few bins; values outside map beyond [-1, 1] (the action
tokenizer clips them). Saved as JSON in every checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla.contract import ACTION, ENVIRONMENT_STATE, OBS_STATE

MIN_SPAN = 1e-3  # a joint that never moved still gets a usable scale (units: degrees / percent)


@dataclass(frozen=True)
class RangeNormalizer:
    """Maps [low, high] (per dimension, shape (D,)) onto [-1, 1] and back."""

    low: np.ndarray
    high: np.ndarray

    def normalize(self, x: np.ndarray) -> np.ndarray:
        span = np.maximum(self.high - self.low, MIN_SPAN)
        return ((np.asarray(x, np.float32) - self.low) / span * 2.0 - 1.0).astype(np.float32)

    def unnormalize(self, y: np.ndarray) -> np.ndarray:
        span = np.maximum(self.high - self.low, MIN_SPAN)
        return ((np.asarray(y, np.float32) + 1.0) / 2.0 * span + self.low).astype(np.float32)

    def to_dict(self) -> dict:
        return {"low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> RangeNormalizer:
        return cls(np.asarray(data["low"], np.float32), np.asarray(data["high"], np.float32))


@dataclass(frozen=True)
class Normalization:
    state: RangeNormalizer
    action: RangeNormalizer
    # Object positions (the auxiliary localisation target, vla/models/environment_head.py); None when the
    # training data has no `observation.environment_state`.
    environment_state: RangeNormalizer | None = None

    @classmethod
    def from_lerobot_stats(cls, stats: dict, state_key: str = OBS_STATE, action_key: str = ACTION):
        """From LeRobot stats (meta/stats.json): q01/q99 when present, else min/max. The environment
        state's bounds are taken when the stats have them."""

        def bounds(key: str) -> RangeNormalizer:
            if key not in stats:
                raise KeyError(f"stats.json has no entry for {key!r}")
            entry = stats[key]
            low, high = ("q01", "q99") if "q01" in entry and "q99" in entry else ("min", "max")
            return RangeNormalizer(
                np.asarray(entry[low], np.float32).reshape(-1),
                np.asarray(entry[high], np.float32).reshape(-1),
            )

        environment = bounds(ENVIRONMENT_STATE) if ENVIRONMENT_STATE in stats else None
        return cls(bounds(state_key), bounds(action_key), environment)

    def save(self, path: Path) -> None:
        data = {"state": self.state.to_dict(), "action": self.action.to_dict()}
        if self.environment_state is not None:
            data["environment_state"] = self.environment_state.to_dict()
        Path(path).write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> Normalization:
        data = json.loads(Path(path).read_text())
        environment = data.get("environment_state")
        return cls(
            RangeNormalizer.from_dict(data["state"]),
            RangeNormalizer.from_dict(data["action"]),
            RangeNormalizer.from_dict(environment) if environment is not None else None,
        )
