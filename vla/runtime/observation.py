"""Checking an observation dict against the policy's inputs; shared by `VLAPolicy` and `RuntimePolicy`."""

from __future__ import annotations

import numpy as np

from vla.contract import camera_key, observation_keys
from vla.runtime.errors import BadInputError

__all__ = ["camera_frames", "instruction_text", "observation_keys"]


def camera_frames(obs: dict, cameras: tuple[str, ...] | list[str]) -> list[np.ndarray]:
    """The (H, W, 3) uint8 frame of each camera, in order; a missing key or a bad frame raises naming it."""
    expected = observation_keys(cameras)
    missing = [k for k in expected if k not in obs]
    if missing:
        raise KeyError(f"observation is missing {missing}; expected {expected}")
    frames = []
    for camera in cameras:
        key = camera_key(camera)
        image = np.asarray(obs[key])
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"{key}: expected (H, W, 3) uint8, got {image.shape} {image.dtype}")
        frames.append(image)
    return frames


def instruction_text(obs: dict) -> str:
    """The instruction (`obs["task"]`) as a string; an empty or whitespace-only one raises BadInputError
    (a ValueError): a policy given no instruction must not act (docs: "an empty instruction is an error,
    never an action")."""
    text = obs.get("task")
    if not isinstance(text, str):
        raise BadInputError(f"task: expected the instruction as a string, got {type(text).__name__}")
    if not text.strip():
        raise BadInputError(f"task: the instruction is empty ({text!r}); give the policy an instruction")
    return text
