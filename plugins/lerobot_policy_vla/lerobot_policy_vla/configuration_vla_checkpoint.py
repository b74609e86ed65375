"""`"type": "vla_checkpoint"`: a `vla train` checkpoint folder (e.g. policies/tabletop_nano) for LeRobot.

LeRobot parses a pretrained folder's config.json into the config class its `"type"` names, field by field
and strictly, so the class must hold exactly the fields our checkpoint's config.json has. They are the
model's (`vla.models.configuration_vla.VLAConfig`, plus the folder's `format_version`), so the class below
is generated from that dataclass rather than copied by hand: a field added to the model config appears
here too. LeRobot's own fields (`device`, `input_features`, ...) come from `PreTrainedConfig`, and
`n_action_steps` says how much of each predicted chunk runs before the policy is asked again.

LeRobot finds `VLACheckpointPolicy` in `modeling_vla_checkpoint` and `make_vla_checkpoint_pre_post_processors`
in `processor_vla_checkpoint` from this class's name and module (`lerobot.policies.factory`).
"""

from __future__ import annotations

import dataclasses
import typing

from lerobot.configs import PreTrainedConfig
from lerobot.optim import AdamWConfig

from vla.models.configuration_vla import LEROBOT_POLICY_TYPE
from vla.models.configuration_vla import VLAConfig as ModelConfig

# config.json's layout version (vla.models.checkpoint); LeRobot's parser must accept the key.
FORMAT_VERSION_FIELD = "format_version"


def _model_fields() -> list[tuple[str, typing.Any, dataclasses.Field]]:
    """(name, resolved type, field with the model's default) for every field of the model config."""
    hints = typing.get_type_hints(ModelConfig)
    result = []
    for model_field in dataclasses.fields(ModelConfig):
        if model_field.default_factory is not dataclasses.MISSING:
            default = dataclasses.field(default_factory=model_field.default_factory)
        else:
            default = dataclasses.field(default=model_field.default)
        result.append((model_field.name, hints[model_field.name], default))
    return result


class _CheckpointConfigMethods:
    """What LeRobot asks of a policy config, for a policy that only runs (training is `vla train`'s job)."""

    def __post_init__(self) -> None:
        PreTrainedConfig.__post_init__(self)
        if self.n_obs_steps != 1:
            raise ValueError(f"--policy.n_obs_steps: the VLA policy sees one frame, got {self.n_obs_steps}")
        model = self.model_config()  # runs the model config's own checks
        if self.n_action_steps is None:
            self.n_action_steps = model.chunk_length
        if not 1 <= self.n_action_steps <= model.chunk_length:
            raise ValueError(
                f"--policy.n_action_steps must be in [1, {model.chunk_length}] (the chunk length), "
                f"got {self.n_action_steps}"
            )

    def model_config(self) -> ModelConfig:
        """The project's model config from this config's model fields."""
        names = [model_field.name for model_field in dataclasses.fields(ModelConfig)]
        values = {name: getattr(self, name) for name in names}
        return ModelConfig.from_dict(dataclasses.asdict(ModelConfig(**values)))

    def validate_features(self) -> None:
        """Nothing to check against LeRobot's features: the model names its cameras (`cameras`) itself."""

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(lr=1e-4)  # unused: `vla train` fine-tunes checkpoints

    def get_scheduler_preset(self) -> None:
        return None

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.model_config().chunk_length))

    @property
    def reward_delta_indices(self) -> None:
        return None


VLACheckpointConfig = dataclasses.make_dataclass(
    "VLACheckpointConfig",
    [
        *_model_fields(),
        (FORMAT_VERSION_FIELD, int, dataclasses.field(default=1)),
        ("n_action_steps", int | None, dataclasses.field(default=None)),
    ],
    bases=(_CheckpointConfigMethods, PreTrainedConfig),
    module=__name__,
)
VLACheckpointConfig.__doc__ = __doc__
PreTrainedConfig.register_subclass(LEROBOT_POLICY_TYPE)(VLACheckpointConfig)

__all__ = ["VLACheckpointConfig"]
