"""`EnvConfig` registration for `--env.type=tabletop` (imported for its side effect)."""

from dataclasses import dataclass, field

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from sim.robot import NUM_JOINTS
from sim.scene import SceneConfig

_SCENE = SceneConfig()
_IMAGE_SHAPE = (_SCENE.image_height, _SCENE.image_width, 3)


@EnvConfig.register_subclass("tabletop")
@dataclass
class TabletopEnvConfig(EnvConfig):
    """The tabletop suite. `task` is a task name (`vla sim list`); `instructions` is train|heldout."""

    task: str | None = "pick_red_cube"
    fps: int = int(_SCENE.control_hz)
    instructions: str = "train"
    features: dict[str, PolicyFeature] = field(
        default_factory=lambda: {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(NUM_JOINTS,)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(NUM_JOINTS,)),
            "pixels/front": PolicyFeature(type=FeatureType.VISUAL, shape=_IMAGE_SHAPE),
            "pixels/wrist": PolicyFeature(type=FeatureType.VISUAL, shape=_IMAGE_SHAPE),
        }
    )
    features_map: dict[str, str] = field(
        default_factory=lambda: {
            ACTION: ACTION,
            "agent_pos": OBS_STATE,
            "pixels/front": f"{OBS_IMAGES}.front",
            "pixels/wrist": f"{OBS_IMAGES}.wrist",
        }
    )

    @property
    def package_name(self) -> str:
        return "lerobot_env_tabletop"

    @property
    def gym_kwargs(self) -> dict:
        return {"instructions": self.instructions}
