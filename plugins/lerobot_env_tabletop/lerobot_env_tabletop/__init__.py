"""LeRobot env plugin for the tabletop suite.

`lerobot.utils.import_utils.register_third_party_plugins()` imports every installed distribution named
`lerobot_env_*`; importing this one registers a gymnasium id per task
(`lerobot_env_tabletop/<task name>`) and the `EnvConfig` choice `tabletop`, so
`lerobot-eval --env.type=tabletop --env.task=pick_red_cube ...` builds the environment.
"""

import importlib.util

import gymnasium as gym

import sim  # noqa: F401  (selects headless EGL before mujoco loads)
from sim.tasks import suite_tasks

PACKAGE = "lerobot_env_tabletop"

for _task in suite_tasks("tabletop"):
    _env_id = f"{PACKAGE}/{_task.name}"
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point="sim.env:TabletopEnv", kwargs={"task": _task.name})

if importlib.util.find_spec("lerobot") is not None:
    from lerobot_env_tabletop import configuration_tabletop as configuration_tabletop
