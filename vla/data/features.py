"""The LeRobot feature schema of SO-101 recordings, shared by `vla record`, the ROS recorder and training.

Names follow LeRobot's so101_follower (`observation.state` / `action` name their joints `<motor>.pos`)
so sim recordings, real SO-101 recordings and policies agree.
"""

from __future__ import annotations

from vla.contract import (  # re-exported: users import the keys from here too
    ACTION,
    ACTION_NAMES,
    CAMERA_PREFIX,
    ENVIRONMENT_STATE,
    OBS_STATE,
    ROBOT_TYPE,
    camera_key,
)

__all__ = [
    "ACTION",
    "CAMERA_PREFIX",
    "ENVIRONMENT_STATE",
    "OBS_STATE",
    "ROBOT_TYPE",
    "camera_key",
    "so101_features",
]


def so101_features(
    cameras: dict[str, tuple[int, int]],
    use_video: bool = True,
    environment_state_names: list[str] | None = None,
) -> dict[str, dict]:
    """LeRobot `features` for `LeRobotDataset.create`: cameras maps name -> (height, width) in pixels.
    `environment_state_names`: the simulator's object-position entries (`sim.env.environment_state_names`),
    recorded as `observation.environment_state`; a real robot has none."""
    features: dict[str, dict] = {
        OBS_STATE: {"dtype": "float32", "shape": (len(ACTION_NAMES),), "names": list(ACTION_NAMES)},
        ACTION: {"dtype": "float32", "shape": (len(ACTION_NAMES),), "names": list(ACTION_NAMES)},
    }
    if environment_state_names:
        names = list(environment_state_names)
        features[ENVIRONMENT_STATE] = {"dtype": "float32", "shape": (len(names),), "names": names}
    for camera, (height, width) in cameras.items():
        features[camera_key(camera)] = {
            "dtype": "video" if use_video else "image",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        }
    return features
