"""LeRobot teleoperator plugin: `--teleop.type=tabletop_keyboard` for the simulated SO-101.

`register_third_party_plugins()` imports every installed distribution named `lerobot_teleoperator_*`;
importing this one registers the `TeleoperatorConfig` choice `tabletop_keyboard`, and
`make_teleoperator_from_config` finds `TabletopKeyboard` here by naming convention.
"""

from lerobot_teleoperator_tabletop.config_tabletop_keyboard import TabletopKeyboardConfig
from lerobot_teleoperator_tabletop.tabletop_keyboard import TabletopKeyboard

__all__ = ["TabletopKeyboard", "TabletopKeyboardConfig"]
