"""`--policy.type=vla`: LeRobot's view of the project's VLA policy, registered with `PreTrainedConfig`.

LeRobot resolves everything else by naming convention from this class: `VLAConfig` -> `VLAPolicy` in the
sibling `modeling_vla` module, and `make_vla_pre_post_processors` in `processor_vla`
(`lerobot.policies.factory`). The model's architecture stays in the project's named presets
(`vla.models.configuration_vla`); this config picks one and adds what LeRobot's trainer needs: the
chunk length it asks the dataset for, normalisation modes and the optimizer / scheduler presets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lerobot.configs import FeatureType, NormalizationMode, PreTrainedConfig
from lerobot.optim import AdamWConfig, CosineDecayWithWarmupSchedulerConfig
from lerobot.utils.constants import ACTION, OBS_IMAGES, OBS_STATE

from vla.contract import CAMERA_NAMES
from vla.models.configuration_vla import PRESETS
from vla.models.configuration_vla import VLAConfig as ModelConfig
from vla.models.configuration_vla import preset as model_preset


@PreTrainedConfig.register_subclass("vla")
@dataclass
class VLAConfig(PreTrainedConfig):
    """The VLA policy for LeRobot's trainer (named `VLAConfig`, not `VLAPolicyConfig`: LeRobot finds the
    policy class by replacing the `Config` suffix with `Policy`).

    Args:
        preset: architecture preset of the project (`debug`: tiny, tests and smoke runs; `nano`).
        cameras: camera names; the dataset must hold `observation.images.<camera>` for each, and the
            model sees them in this order.
        chunk_size: actions predicted per forward pass (T); None takes the preset's `chunk_length`.
        n_action_steps: actions of a chunk executed before the policy is queried again (<= chunk_size);
            None executes the whole chunk.
        augment: random shifts and colour jitter on training images (`vla.training.augment`).
        instruction_suite: suite whose training instructions make the word vocabulary.
        vocabulary: the instruction words, filled in by `VLAPolicy` at construction from
            `instruction_suite` so that a saved config.json pins the embedding table's rows; words outside
            it become [UNK].
        normalization_mapping: state and action go through MIN_MAX, which LeRobot maps onto [-1, 1], the
            range the action bins cover; images stay in [0, 1] (the model rescales them itself).
    """

    preset: str = "debug"
    cameras: list[str] = field(default_factory=lambda: list(CAMERA_NAMES))
    chunk_size: int | None = None
    n_action_steps: int | None = None
    augment: bool = True
    instruction_suite: str = "tabletop"
    vocabulary: list[str] | None = None

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.IDENTITY,
            "STATE": NormalizationMode.MIN_MAX,
            "ACTION": NormalizationMode.MIN_MAX,
        }
    )

    # AdamW and warmup + cosine decay to 10 % of the peak, as the project's own `vla train` does.
    optimizer_lr: float = 3e-4
    optimizer_betas: tuple[float, float] = (0.9, 0.95)
    optimizer_eps: float = 1e-8
    optimizer_weight_decay: float = 0.01
    optimizer_grad_clip_norm: float = 1.0
    scheduler_warmup_steps: int = 500
    scheduler_decay_steps: int = 10_000
    scheduler_decay_lr: float = 3e-5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.preset not in PRESETS:
            raise ValueError(
                f"--policy.preset={self.preset!r} is unknown; known presets: {', '.join(PRESETS)}"
            )
        if not self.cameras:
            raise ValueError("--policy.cameras: at least one camera is required")
        if self.n_obs_steps != 1:
            raise ValueError(f"--policy.n_obs_steps: the VLA policy sees one frame, got {self.n_obs_steps}")
        if self.chunk_size is None:
            self.chunk_size = PRESETS[self.preset].chunk_length
        if self.n_action_steps is None:
            self.n_action_steps = self.chunk_size
        if self.chunk_size < 1 or not 1 <= self.n_action_steps <= self.chunk_size:
            raise ValueError(
                f"--policy.n_action_steps must be in [1, chunk_size]: got n_action_steps="
                f"{self.n_action_steps}, chunk_size={self.chunk_size}"
            )
        if self.optimizer_lr <= 0 or self.scheduler_decay_lr < 0:
            raise ValueError("--policy.optimizer_lr must be > 0 and --policy.scheduler_decay_lr >= 0")

    @property
    def camera_keys(self) -> list[str]:
        """`observation.images.<camera>` for each configured camera, in model order."""
        return [f"{OBS_IMAGES}.{camera}" for camera in self.cameras]

    def model_config(self) -> ModelConfig:
        """The project's model config: the preset with this policy's cameras, chunk and feature sizes."""
        overrides: dict = {"cameras": tuple(self.cameras), "chunk_length": self.chunk_size}
        if self.robot_state_feature is not None:
            overrides["state_dim"] = self.robot_state_feature.shape[0]
        if self.action_feature is not None:
            overrides["action_dim"] = self.action_feature.shape[0]
        return model_preset(self.preset, **overrides)

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(
            lr=self.optimizer_lr,
            betas=self.optimizer_betas,
            eps=self.optimizer_eps,
            weight_decay=self.optimizer_weight_decay,
            grad_clip_norm=self.optimizer_grad_clip_norm,
        )

    def get_scheduler_preset(self) -> CosineDecayWithWarmupSchedulerConfig:
        # LeRobot shrinks warmup and decay proportionally when --steps is below scheduler_decay_steps.
        return CosineDecayWithWarmupSchedulerConfig(
            peak_lr=self.optimizer_lr,
            decay_lr=self.scheduler_decay_lr,
            num_warmup_steps=self.scheduler_warmup_steps,
            num_decay_steps=self.scheduler_decay_steps,
        )

    def validate_features(self) -> None:
        """The dataset (or env) must provide the state, the action and every configured camera."""
        inputs, outputs = self.input_features or {}, self.output_features or {}
        missing = [] if self.robot_state_feature is not None else [OBS_STATE]
        missing += [key for key in self.camera_keys if key not in inputs]
        missing += [] if self.action_feature is not None else [ACTION]
        if missing:
            raise ValueError(
                f"policy 'vla' needs feature(s) {missing}; the data provides {sorted({*inputs, *outputs})}. "
                "Set --policy.cameras to the dataset's camera names."
            )
        not_images = [key for key in self.camera_keys if inputs[key].type is not FeatureType.VISUAL]
        if not_images:
            raise ValueError(f"policy 'vla': {not_images} must be VISUAL features (camera images)")

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.chunk_size))

    @property
    def reward_delta_indices(self) -> None:
        return None
