"""LeRobot policy plugin for the vla-stack VLA policy.

`lerobot.utils.import_utils.register_third_party_plugins()` imports every installed distribution named
`lerobot_policy_*`; importing this one registers two `PreTrainedConfig` choices:

- `vla`: the policy for `lerobot-train --policy.type=vla` (configuration_vla / modeling_vla / processor_vla);
- `vla_checkpoint`: a `vla train` checkpoint folder such as policies/tabletop_nano, for
  `lerobot-eval` / `lerobot-rollout --policy.path=<folder>` (configuration_vla_checkpoint / ...; a folder
  gets its `"type"` and processor files from `python -m lerobot_policy_vla.prepare_checkpoint`).

LeRobot's factory finds each policy class and processor factory by naming convention, importing them only
when a policy is built.
"""

from lerobot_policy_vla.configuration_vla import VLAConfig
from lerobot_policy_vla.configuration_vla_checkpoint import VLACheckpointConfig

__all__ = ["VLACheckpointConfig", "VLAConfig"]
