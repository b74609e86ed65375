"""`EnvConfig` registration for `--env.type=tabletop` (imported for its side effect)."""

from dataclasses import dataclass, field

from lerobot.configs import FeatureType, PolicyFeature
from lerobot.envs.configs import EnvConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from sim.scene import SceneConfig
from vla.contract import CAMERA_NAMES, NUM_JOINTS

_SCENE = SceneConfig()
_IMAGE_SHAPE = (_SCENE.image_height, _SCENE.image_width, 3)


@EnvConfig.register_subclass("tabletop")
@dataclass
class TabletopEnvConfig(EnvConfig):
    """A tabletop suite. `task`: any composed task name the suite's scene holds (`vla sim list --suite S`;
    checked here, the error lists what is allowed); `suite`: tabletop or tabletop_compose; `instructions`:
    train|heldout."""

    task: str | None = "pick_red_cube"
    suite: str = "tabletop"
    fps: int = int(_SCENE.control_hz)
    instructions: str = "train"
    features: dict[str, PolicyFeature] = field(
        default_factory=lambda: {
            ACTION: PolicyFeature(type=FeatureType.ACTION, shape=(NUM_JOINTS,)),
            "agent_pos": PolicyFeature(type=FeatureType.STATE, shape=(NUM_JOINTS,)),
            **{
                f"pixels/{c}": PolicyFeature(type=FeatureType.VISUAL, shape=_IMAGE_SHAPE)
                for c in CAMERA_NAMES
            },
        }
    )
    features_map: dict[str, str] = field(
        default_factory=lambda: {
            ACTION: ACTION,
            "agent_pos": OBS_STATE,
            **{f"pixels/{c}": f"{OBS_IMAGES}.{c}" for c in CAMERA_NAMES},
        }
    )

    def __post_init__(self) -> None:
        from sim.tasks import get_suite

        if self.task is not None:
            get_suite(self.suite).task(self.task)  # a bad name fails now, listing what is allowed

    @property
    def package_name(self) -> str:
        return "lerobot_env_tabletop"

    @property
    def gym_id(self) -> str:
        """One id for every task; the task and suite travel in `gym_kwargs` (see the package docstring)."""
        return f"{self.package_name}/Tabletop-v0"

    @property
    def gym_kwargs(self) -> dict:
        return {"task": self.task, "suite": self.suite, "instructions": self.instructions}
