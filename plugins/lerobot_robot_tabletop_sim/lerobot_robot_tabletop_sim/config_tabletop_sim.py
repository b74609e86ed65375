"""`--robot.type=tabletop_sim`: which task the simulated table is set up for, and how it resets."""

from __future__ import annotations

from dataclasses import dataclass

from lerobot.robots.config import RobotConfig

from sim.tasks import get_task


@RobotConfig.register_subclass("tabletop_sim")
@dataclass(kw_only=True)
class TabletopSimConfig(RobotConfig):
    """The simulated SO-101 on the tabletop scene (`sim.env.TabletopEnv`).

    Args:
        task: task name the table is laid out for (`vla sim list`, or a composition such as
            `push_red_cube_left`); passed to `TabletopEnv` as is, which rejects unknown names.
        suite: task suite the name belongs to.
        instructions: which instruction paraphrases (`train` or `heldout`) `instruction` draws from.
        seed: layout seed of the first scene; each reset after it takes the next seed.
        auto_reset: lay the table out anew (next seed) on the first observation after the task succeeded
            or hit its time limit, as a person would between episodes; False keeps the finished scene.
        episode_seconds: the time limit of an episode in the simulator (s; 0: the task's own, 8-14 s, the
            policy's). When a person teleoperates through `lerobot-record`, set it to at least
            `--dataset.episode_time_s`, so the table is not laid out anew in the middle of an episode.

    One `send_action` advances the simulation by one control step (1/30 s), so run LeRobot's tools with
    `--fps=30` / `--dataset.fps=30` for the recording's time to match the simulator's.
    """

    task: str = "pick_red_cube"
    suite: str = "tabletop"
    instructions: str = "train"
    seed: int = 0
    auto_reset: bool = True
    episode_seconds: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.episode_seconds < 0:
            raise ValueError(
                f"--robot.episode_seconds must be >= 0 (0: the task's limit), got {self.episode_seconds}"
            )
        if self.instructions not in ("train", "heldout"):
            raise ValueError(f"--robot.instructions must be 'train' or 'heldout', got {self.instructions!r}")
        try:
            get_task(self.task, self.suite)
        except (KeyError, ValueError) as error:  # the message lists the known tasks
            raise ValueError(f"--robot.task: {error.args[0] if error.args else error}") from None
