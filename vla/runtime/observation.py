"""Checking an observation dict against the policy's inputs; shared by `VLAPolicy` and `RuntimePolicy`."""

from __future__ import annotations

import numpy as np


def observation_keys(cameras: tuple[str, ...] | list[str]) -> list[str]:
    return [f"observation.images.{c}" for c in cameras] + ["observation.state", "task"]


def camera_frames(obs: dict, cameras: tuple[str, ...] | list[str]) -> list[np.ndarray]:
    """The (H, W, 3) uint8 frame of each camera, in order; a missing key or a bad frame raises naming it."""
    expected = observation_keys(cameras)
    missing = [k for k in expected if k not in obs]
    if missing:
        raise KeyError(f"observation is missing {missing}; expected {expected}")
    frames = []
    for camera in cameras:
        key = f"observation.images.{camera}"
        image = np.asarray(obs[key])
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{key}: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        frames.append(image)
    return frames
