"""LeRobot policy plugin for the vla-stack VLA policy: `lerobot-train --policy.type=vla`.

`lerobot.utils.import_utils.register_third_party_plugins()` imports every installed distribution named
`lerobot_policy_*`; importing this one registers the `PreTrainedConfig` choice `vla`. LeRobot's factory
then finds `VLAPolicy` in `lerobot_policy_vla.modeling_vla` and `make_vla_pre_post_processors` in
`lerobot_policy_vla.processor_vla` by naming convention, importing them only when a policy is built.
"""

from lerobot_policy_vla.configuration_vla import VLAConfig

__all__ = ["VLAConfig"]
