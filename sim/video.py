"""Writing frame sequences to H.264 mp4 files with PyAV (the encoder LeRobot also depends on)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np


def write_mp4(path: Path, frames: Iterable[np.ndarray], fps: float) -> Path:
    """Encode (H, W, 3) uint8 frames as H.264 (yuv420p, plays everywhere). Returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = None
        for frame in frames:
            if stream is None:
                height, width = frame.shape[:2]
                stream = container.add_stream("libx264", rate=round(fps))
                stream.width, stream.height = width - width % 2, height - height % 2
                stream.pix_fmt = "yuv420p"
            image = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(frame[: stream.height, : stream.width]), format="rgb24"
            )
            container.mux(stream.encode(image))
        if stream is None:
            raise ValueError(f"no frames to write to {path}")
        container.mux(stream.encode(None))
    return path
