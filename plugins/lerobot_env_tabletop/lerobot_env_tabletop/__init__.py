"""LeRobot env plugin for the tabletop suite.

`lerobot.utils.import_utils.register_third_party_plugins()` imports every installed distribution named
`lerobot_env_*`; importing this one registers the gymnasium id `lerobot_env_tabletop/Tabletop-v0` (task and
suite as keyword arguments), one id per task of the `tabletop` suite (`lerobot_env_tabletop/<task name>`),
and the `EnvConfig` choice `tabletop`, so `lerobot-eval --env.type=tabletop --env.task=push_red_cube_right
--env.suite=tabletop_compose ...` builds the environment for any composed task (sim/tasks/compose.py).
"""

import importlib.util

import gymnasium as gym

import sim  # noqa: F401  (selects headless EGL before mujoco loads)
from sim.tasks import suite_tasks

PACKAGE = "lerobot_env_tabletop"
COMPOSED_ENV_ID = f"{PACKAGE}/Tabletop-v0"  # any task of any suite, by keyword arguments

if COMPOSED_ENV_ID not in gym.registry:
    gym.register(id=COMPOSED_ENV_ID, entry_point="sim.env:TabletopEnv")

for _task in suite_tasks("tabletop"):
    _env_id = f"{PACKAGE}/{_task.name}"
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point="sim.env:TabletopEnv", kwargs={"task": _task.name})

if importlib.util.find_spec("lerobot") is not None:
    from lerobot_env_tabletop import configuration_tabletop as configuration_tabletop
