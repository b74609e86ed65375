"""LeRobot `Robot` / `Teleoperator` objects built from ROS parameters; their `<joint>.pos` dicts as arrays.

A device is named the way LeRobot's own tools name it (`lerobot-teleoperate --robot.type=so101_follower
--robot.port=/dev/ttyACM0 --robot.id=my_arm`): a type registered in LeRobot's config registry (its own
robots, or an installed `lerobot_robot_*` / `lerobot_teleoperator_*` plugin such as `tabletop_sim`), a
port and an id where the type has them, and any other config fields as a YAML mapping
(`{cameras: {front: {type: opencv, index_or_path: 0, width: 640, height: 480, fps: 30}}}` or
`{task: push_red_cube_left, seed: 3}`), decoded by draccus exactly as the `--robot.<field>=` flags are.

Units: so101_follower / so101_leader report and take degrees (gripper 0-100) with their default
`use_degrees: true`; `vla_ros.units.PolicyUnits` converts those to radians for the topics.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
from collections.abc import Mapping, Sequence

import numpy as np

# LeRobot's plugin discovery (lerobot.utils.import_utils.register_third_party_plugins) narrowed to devices:
# the policy and env plugins would import torch for nothing.
DEVICE_PLUGIN_PREFIXES = ("lerobot_robot_", "lerobot_teleoperator_", "lerobot_camera_")
# LeRobot's own modules whose import registers the types an SO-101 owner uses (as lerobot-record does).
BUILTIN_MODULES = (
    "lerobot.cameras.opencv",
    "lerobot.cameras.realsense",
    "lerobot.robots.so_follower",
    "lerobot.robots.koch_follower",
    "lerobot.robots.omx_follower",
    "lerobot.teleoperators.so_leader",
    "lerobot.teleoperators.koch_leader",
    "lerobot.teleoperators.omx_leader",
    "lerobot.teleoperators.gamepad",
    "lerobot.teleoperators.keyboard",
)


def register_device_types() -> None:
    """Import LeRobot's device modules and every installed device plugin, so their types are registered."""
    for module in BUILTIN_MODULES:
        with contextlib.suppress(ImportError):  # an optional extra of lerobot (e.g. pyrealsense2) is missing
            importlib.import_module(module)
    for dist in importlib.metadata.distributions():
        name = (dist.metadata.get("Name") or "").replace("-", "_")
        if name.startswith(DEVICE_PLUGIN_PREFIXES):
            importlib.import_module(name)


def parse_options(text: str, parameter: str) -> dict:
    """A YAML mapping of extra config fields ('' = none); raises naming the parameter."""
    import yaml

    if not text.strip():
        return {}
    try:
        options = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"parameter {parameter}: not YAML: {error}") from None
    if not isinstance(options, dict):
        raise ValueError(f"parameter {parameter}: expected a mapping like '{{field: value}}', got {text!r}")
    return options


def device_config(registry, kind: str, type_name: str, port: str, device_id: str, options: dict):
    """A LeRobot config of `registry` (RobotConfig / TeleoperatorConfig) for `type_name`; port and id are
    set when given. Raises ValueError naming the type (listing the known ones) or the bad field."""
    import dataclasses

    import draccus

    register_device_types()
    try:
        config_class = registry.get_choice_class(type_name)
    except KeyError:
        known = ", ".join(sorted(registry.get_known_choices()))
        raise ValueError(f"parameter {kind}_type: unknown type {type_name!r}; known: {known}") from None
    fields = {f.name for f in dataclasses.fields(config_class)}
    values = dict(options)
    if port:
        if "port" not in fields:
            raise ValueError(f"parameter {kind}_port: type {type_name!r} has no port")
        values["port"] = port
    if device_id:
        values["id"] = device_id
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ValueError(
            f"parameter {kind}_options: {type_name!r} has no field(s) {unknown}; it has {sorted(fields)}"
        )
    missing = [
        f.name
        for f in dataclasses.fields(config_class)
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and f.name not in values
    ]
    if missing:
        raise ValueError(
            f"{kind} {type_name!r} needs {missing}: set {', '.join(f'{kind}_{m}' for m in missing)}"
        )
    try:
        return draccus.decode(config_class, values)
    except Exception as error:  # draccus wraps the config's own __post_init__ error: report that one
        while error.__cause__ or error.__context__:
            error = error.__cause__ or error.__context__
        raise ValueError(f"{kind} {type_name!r}: {error}") from None


def make_robot(type_name: str, port: str = "", robot_id: str = "", options: str = ""):
    """A LeRobot Robot (not connected) from ROS parameters (see the module docstring)."""
    from lerobot.robots.config import RobotConfig
    from lerobot.robots.utils import make_robot_from_config

    config = device_config(
        RobotConfig, "robot", type_name, port, robot_id, parse_options(options, "robot_options")
    )
    return make_robot_from_config(config)


def make_teleoperator(type_name: str, port: str = "", teleop_id: str = "", options: str = ""):
    """A LeRobot Teleoperator (not connected) from ROS parameters (see the module docstring)."""
    from lerobot.teleoperators.config import TeleoperatorConfig
    from lerobot.teleoperators.utils import make_teleoperator_from_config

    config = device_config(
        TeleoperatorConfig, "teleop", type_name, port, teleop_id, parse_options(options, "teleop_options")
    )
    return make_teleoperator_from_config(config)


def check_joint_features(features: Mapping, joint_names: Sequence[str], what: str) -> None:
    """`features` (observation / action features) must hold `<joint>.pos` for every joint."""
    missing = [f"{name}.pos" for name in joint_names if f"{name}.pos" not in features]
    if missing:
        raise ValueError(
            f"{what} has no {missing}: it must give absolute joint positions for {list(joint_names)} "
            f"(it has {sorted(features)})"
        )


def positions_from(values: Mapping, joint_names: Sequence[str], what: str) -> np.ndarray:
    """(J,) float64 `<joint>.pos` values in `joint_names` order; raises naming missing or non-finite ones."""
    missing = [name for name in joint_names if f"{name}.pos" not in values]
    if missing:
        raise ValueError(f"{what}: no position for joint(s) {missing}")
    positions = np.array([float(values[f"{name}.pos"]) for name in joint_names], np.float64)
    bad = [name for name, value in zip(joint_names, positions, strict=True) if not np.isfinite(value)]
    if bad:
        raise ValueError(f"{what}: non-finite position for joint(s) {bad}")
    return positions


def action_from(positions: np.ndarray, joint_names: Sequence[str]) -> dict[str, float]:
    """(J,) positions in the device's units -> {"<joint>.pos": float}."""
    return {f"{name}.pos": float(value) for name, value in zip(joint_names, positions, strict=True)}
