"""Episodes of a simulated LeRobot robot (the `tabletop_sim` plugin), for the bridge's sim-only topics.

A real arm has no episodes, instruction or success flag; the simulator does, through extras beyond
LeRobot's `Robot` contract (`instruction`, `episode_over`, `episode_seed`, `reset_scene`, `env`; see the
plugin). With them robot_bridge_node publishes what sim_bridge_node publishes: the instruction (latched),
`success` (latched std_msgs/Bool) and a `~/reset` service, so the same tests and benches run on either.
"""

from __future__ import annotations

EXTRAS = ("instruction", "episode_over", "episode_seed", "reset_scene", "env")


class SimEpisode:
    """Tracks the simulated robot's episode: which one it is, and whether the task succeeded in it."""

    def __init__(self, robot):
        self.robot = robot
        self.seed = robot.episode_seed
        self.success = False

    @staticmethod
    def of(robot) -> SimEpisode | None:
        """A tracker when `robot` is a simulated one, None for a real robot."""
        return SimEpisode(robot) if all(hasattr(robot, name) for name in EXTRAS) else None

    def after_step(self) -> bool:
        """Call after each send_action (before the next observation, which may lay out a new episode).
        True when the task has just succeeded."""
        if self.success or not self.robot.episode_over:
            return False
        env = self.robot.env
        task = env.current_task  # success is the task's last progress stage (sim.tasks.base)
        self.success = task.progress(env.scene_state()) == len(task.stage_names()) - 1
        return self.success

    def new_episode(self) -> bool:
        """True once after the robot laid out a new episode (a reset, or its auto-reset)."""
        if self.robot.episode_seed == self.seed:
            return False
        self.seed, self.success = self.robot.episode_seed, False
        return True

    def describe(self) -> dict:
        """The episode as the ~/reset service reports it (sim_bridge_node's JSON)."""
        return {"seed": self.seed, "task": self.robot.env.task, "instruction": self.robot.instruction}
