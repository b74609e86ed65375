"""Keyboard teleoperation in the simulator from a plain terminal (`vla record --source keyboard`).

No display needed: the terminal is put in cbreak mode and read without blocking at the 30 Hz control
rate; the screen is redrawn with ANSI escapes. Jog keys move the gripper in Cartesian space through the
experts' IK (`sim.teleop`); `p` hands control to the scripted expert and back.
"""

from __future__ import annotations

import os
import select
import sys
import termios
import time
import tty
from contextlib import contextmanager

import numpy as np

from sim.env import TabletopEnv
from sim.robot import ARM_JOINTS
from sim.rollout import ExpertRunner
from sim.teleop import CartesianTeleop
from vla.data.recorder import DatasetRecorder
from vla.record_expert import RecordingSummary

HELP = (
    "keys: w/s x+-  a/d y+-  r/f z+-  q/e yaw  space gripper  p autopilot | "
    "S save  D discard  R re-record  X stop"
)
REDRAW_EVERY_TICKS = 3


def require_terminal(stream=None) -> None:
    """Raise BadInputError unless `stream` (default: stdin) is an interactive terminal; `vla record` calls it
    before it creates or opens the dataset, so a run without a terminal writes nothing."""
    from vla.runtime.errors import BadInputError

    stream = sys.stdin if stream is None else stream
    if not stream.isatty():
        raise BadInputError(
            "keyboard teleoperation needs an interactive terminal (stdin is not a TTY): run `vla record "
            "--source keyboard` in a terminal, not through a pipe or a script"
        )


@contextmanager
def cbreak_terminal(stream):
    """Single-key input without echo; the terminal is restored on exit, whatever happens."""
    require_terminal(stream)
    fd = stream.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_keys(fd: int, timeout_s: float) -> str:
    """Every character typed within `timeout_s` (returns early once something arrives)."""
    ready, _, _ = select.select([fd], [], [], max(timeout_s, 0.0))
    return os.read(fd, 1024).decode(errors="ignore") if ready else ""


class KeyboardRecorder:
    """The teleoperation session: episodes cycle through `tasks`, one new seeded layout each."""

    def __init__(
        self,
        env: TabletopEnv,
        recorder: DatasetRecorder,
        tasks: list[str],
        first_seed: int,
        max_episodes: int = 0,
        out=sys.stdout,
    ):
        self.env, self.recorder, self.tasks = env, recorder, tasks
        self.first_seed, self.max_episodes, self.out = first_seed, max_episodes, out
        self.expert = ExpertRunner(env)
        self.teleop = CartesianTeleop(self.expert.expert.ik)  # one IK; only one of the two drives at a time
        self.summary = RecordingSummary()
        self.attempt = 0  # index of the current layout (task and seed)
        self.discarded = 0
        self.autopilot = False
        self.paused_reason = ""
        self.last_result = "none yet"
        self.stopped = False
        self.observation: dict = {}
        self.step = 0

    # ----- episode flow -----
    def _begin(self) -> None:
        task = self.tasks[self.attempt % len(self.tasks)]
        self.observation, _ = self.env.reset(seed=self.first_seed + self.attempt, options={"task": task})
        self._sync_teleop()
        self.autopilot, self.paused_reason, self.step = False, "", 0

    def _sync_teleop(self) -> None:
        joints = self.observation["agent_pos"]
        self.teleop.reset(np.deg2rad(joints[: len(ARM_JOINTS)].astype(float)), float(joints[-1]))

    def _save(self) -> None:
        if self.recorder.frames_in_episode == 0:
            self.last_result = "nothing to save (no frames yet)"
            return
        success = self.paused_reason.startswith("task succeeded")
        seconds = self.recorder.save_episode()
        self.summary.save_seconds.append(seconds)
        self.summary.episodes += 1
        self.summary.frames += self.step
        self.summary.per_task[self.env.task] += 1
        self.last_result = (
            f"saved ({'success' if success else 'no success'}, {self.step} steps, {seconds:.2f} s to save)"
        )
        self.attempt += 1
        if self.max_episodes and self.summary.episodes >= self.max_episodes:
            self.stopped = True
        else:
            self._begin()

    def _discard(self, same_layout: bool) -> None:
        self.recorder.discard_episode()
        self.discarded += 1
        self.last_result = "re-recording the same layout" if same_layout else "discarded"
        if not same_layout:
            self.attempt += 1
        self._begin()

    def handle(self, key: str) -> None:
        """One key press (public for tests that drive the session without a terminal)."""
        if key == "S":
            self._save()
        elif key == "D":
            self._discard(same_layout=False)
        elif key == "R":
            self._discard(same_layout=True)
        elif key == "X":
            self.stopped = True
        elif key == "p":
            self.autopilot = not self.autopilot
            if self.autopilot:
                self.expert.start(self.observation)
            else:
                self._sync_teleop()
        elif not self.autopilot:
            self.teleop.press(key)

    def tick(self) -> None:
        """One control step: act, record the (observation, action) pair, step the simulator."""
        if self.paused_reason or self.stopped:
            return
        action = self.expert.act() if self.autopilot else self.teleop.action()
        self.recorder.add_frame(
            self.observation["pixels"],
            self.observation["agent_pos"],
            action,
            self.env.task_description,
            self.observation["environment_state"],
        )
        self.observation, _, terminated, truncated, _ = self.env.step(action)
        self.step += 1
        if terminated:
            self.paused_reason = "task succeeded: S save, D discard, R re-record"
        elif truncated:
            self.paused_reason = "time limit reached: S save, D discard, R re-record"

    # ----- terminal -----
    def draw(self) -> None:
        gripper = "open" if self.teleop.gripper_open else "closed"
        saved = self.summary.episodes
        counts = f"episode {saved + 1}   saved {saved}   discarded {self.discarded}"
        lines = [
            f"vla record (keyboard)   dataset: {self.recorder.root}",
            f'task: {self.env.task}   instruction: "{self.env.task_description}"',
            f"{counts}   step {self.step}/{self.env.max_episode_steps}   gripper {gripper}"
            f"   autopilot {'on' if self.autopilot else 'off'}",
            f"last episode: {self.last_result}",
            f"status: {self.paused_reason or 'recording'}",
            HELP,
        ]
        self.out.write("\x1b[H\x1b[2J" + "\r\n".join(lines) + "\r\n")
        self.out.flush()

    def run(self) -> RecordingSummary:
        start = time.perf_counter()
        with cbreak_terminal(sys.stdin) as fd:
            self._begin()
            period = 1.0 / self.env.config.control_hz
            ticks = 0
            while not self.stopped:
                deadline = time.perf_counter() + period
                for key in read_keys(fd, deadline - time.perf_counter()):
                    self.handle(key)
                    if self.stopped:
                        break
                if self.stopped:
                    break
                self.tick()
                if ticks % REDRAW_EVERY_TICKS == 0 or self.paused_reason:
                    self.draw()
                ticks += 1
                time.sleep(max(0.0, deadline - time.perf_counter()))
        if self.recorder.frames_in_episode:
            self.recorder.discard_episode()
        self.summary.seconds = time.perf_counter() - start
        self.out.write(f"stopped: {self.summary.episodes} episode(s) saved, {self.discarded} discarded\r\n")
        return self.summary
