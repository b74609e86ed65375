"""Headless rendering of the scene's cameras.

`configure_headless_gl()` must run before MuJoCo creates a GL context: it picks EGL (no display
needed) and, on a CPU-only machine, keeps Mesa's llvmpipe on one thread, which measured faster for
128x128 frames than spreading each small frame over both cores (and leaves the other core to a
second worker).
"""

from __future__ import annotations

import os

import numpy as np

from vla.contract import CAMERA_NAMES  # re-exported: the cameras every scene renders, in model order


def configure_headless_gl() -> None:
    """Default MUJOCO_GL=egl and LP_NUM_THREADS=1 unless the user set them."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("LP_NUM_THREADS", "1")


configure_headless_gl()

import mujoco  # noqa: E402  (must follow the GL configuration above)


class CameraRig:
    """Renders the named cameras of a model to uint8 (H, W, 3) images.

    One GL context per rig; call `close()` (or use as a context manager) to free it.
    """

    def __init__(
        self, model: mujoco.MjModel, height: int, width: int, cameras: tuple[str, ...] = CAMERA_NAMES
    ):
        missing = [name for name in cameras if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, name) < 0]
        if missing:
            raise ValueError(f"camera(s) {missing} not in model; it has {self.camera_names(model)}")
        self.cameras = cameras
        self.height, self.width = height, width
        self._renderer: mujoco.Renderer | None = mujoco.Renderer(model, height, width)

    @staticmethod
    def camera_names(model: mujoco.MjModel) -> list[str]:
        return [model.camera(i).name for i in range(model.ncam)]

    def render(self, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """{camera name: (H, W, 3) uint8} for the current state of `data`."""
        if self._renderer is None:
            raise RuntimeError("CameraRig is closed")
        images = {}
        for name in self.cameras:
            self._renderer.update_scene(data, camera=name)
            images[name] = self._renderer.render()  # a fresh array each call
        return images

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> CameraRig:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
