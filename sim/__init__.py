"""MuJoCo simulation of the SO-101 on a tabletop: scene, tasks, scripted experts, gymnasium env.

Importing `sim` selects headless EGL rendering (MUJOCO_GL=egl) unless the user chose otherwise; it must
be imported before `mujoco` for that to take effect. It also registers the gymnasium id
`vla/Tabletop-v0`.
"""

from sim.render import configure_headless_gl

configure_headless_gl()

from sim.registration import TABLETOP_ENV_ID, register_envs  # noqa: E402

register_envs()

__all__ = ["TABLETOP_ENV_ID"]
