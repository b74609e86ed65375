"""`--teleop.type=tabletop_keyboard`: which simulated robot the keys drive, and who starts driving."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.teleoperators.config import TeleoperatorConfig


@TeleoperatorConfig.register_subclass("tabletop_keyboard")
@dataclass(kw_only=True)
class TabletopKeyboardConfig(TeleoperatorConfig):
    """Cartesian keyboard jogging of a `tabletop_sim` robot in the same process: w/s forward/back, a/d
    left/right, t/g up/down, z/x yaw, space gripper, p hands control to the scripted expert and back.

    Args:
        robot_id: `--robot.id` of the `tabletop_sim` robot to drive; None: the only one connected.
        autopilot: start with the scripted expert driving (as if `p` was pressed). With it no terminal is
            needed, so scripts and tests can run `lerobot-record` unattended; without it stdin must be a TTY.
        step_mm: how far one key press moves the gripper, in millimetres.
    """

    robot_id: str | None = None
    autopilot: bool = False
    step_mm: float = 6.0

    def __post_init__(self) -> None:
        if self.step_mm <= 0:
            raise ValueError(f"--teleop.step_mm must be > 0, got {self.step_mm}")
