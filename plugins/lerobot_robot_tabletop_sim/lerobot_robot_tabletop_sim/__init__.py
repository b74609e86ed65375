"""LeRobot robot plugin: the MuJoCo tabletop scene with its SO-101 as `--robot.type=tabletop_sim`.

`lerobot.utils.import_utils.register_third_party_plugins()` (run first by every `lerobot-*` command)
imports every installed distribution named `lerobot_robot_*`; importing this one registers the
`RobotConfig` choice `tabletop_sim`. `make_robot_from_config` then finds `TabletopSim` here by naming
convention (`TabletopSimConfig` -> `TabletopSim`), so LeRobot's tools and our ROS nodes drive the simulator
exactly as they drive an `so101_follower`.
"""

from lerobot_robot_tabletop_sim.config_tabletop_sim import TabletopSimConfig
from lerobot_robot_tabletop_sim.tabletop_sim import TabletopSim, connected_sim, motor_features

__all__ = ["TabletopSim", "TabletopSimConfig", "connected_sim", "motor_features"]
