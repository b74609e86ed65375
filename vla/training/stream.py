"""Training on expert episodes rendered while the policy trains (`vla train --data.stream.suite SUITE`).

Why: a policy trained for many epochs on a fixed set of layouts memorises them. The shipped policy
reached loss 1.0 on its 640 training layouts and 4.1 on new ones, and a fine-tune on 480 new layouts
memorised those within one pass (docs/LOG.md, 2026-11-28). Here worker processes run the scripted
expert on fresh seeded layouts for as long as training runs, and their episodes go into a fixed-size
ring on the training device (vla/training/ring.py) that overwrites the oldest. Each frame is then seen
about (training samples/s) / (rendered frames/s) times, whatever the ring's size, and no layout is
shown for longer than it takes the workers to refill the ring.

Tasks: the suite's training cycle (sim/tasks/suites.py `Suite.training_cycle`): its train split and, for
`tabletop_compose`, every absent-object task, at `absent_share` of the cycle (default: the suite's). Held-out
compositions and paraphrases never enter: every job is checked (vla/record_arrays.py `ExpertJob`).

Absent-object demonstrations stop after HELD_FRAMES_TRAINED frames (vla/training/abstain_labels.py):
training keeps no more of an episode that holds still, and the expert's run for the whole time limit
(338 frames) spent about 40 % of the workers' rendering on frames the ring dropped at a share of 0.25.

Seeds: job n (EPISODES_PER_JOB successful episodes of task n mod #tasks) tries layouts upward from
`first_seed + n * SEEDS_PER_JOB`, so a stream is reproducible for a given number of jobs, and a resumed
run continues at the job it had reached (`stream_next_job` in training_state.json). The default
first seed (1,000,000) is above every seed that recording (100,000+), held-out caches (500,000) and
evaluation (0+) use.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

import torch

from vla.config_cli import option
from vla.models.normalization import Normalization
from vla.record_arrays import SEEDS_PER_JOB, ExpertJob, run_expert_job
from vla.training.abstain_labels import HELD_FRAMES_TRAINED
from vla.training.interrupt import STOP_SIGNALS
from vla.training.ring import FrameRing

EPISODES_PER_JOB = 2  # small jobs: episodes arrive steadily rather than in bursts of ten
STREAM_FIRST_SEED = 1_000_000


@dataclass(frozen=True)
class StreamConfig:
    """Expert episodes rendered while the policy trains, instead of a dataset (module docstring)."""

    suite: str = option("", "stream this suite's expert episodes (tabletop, tabletop_compose; empty: off)")
    workers: int = option(1, "expert processes rendering beside training")
    capacity: int = option(20_000, "frames the ring holds (98 KB each)")
    start_frames: int = option(2_000, "frames rendered before the first step")
    first_seed: int = option(STREAM_FIRST_SEED, "first layout seed (above every recorded or evaluated seed)")
    first_job: int = option(0, "first job of the stream (a resumed run continues its own)")
    noise_deg: float = option(0.0, "DART: push the executed arm targets off the plan by up to this, deg")
    absent_share: float | None = option(None, "share of absent-object tasks (none: the suite's)")

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"--data.stream.workers must be at least 1, got {self.workers}")
        if not 0 < self.start_frames <= self.capacity:
            raise ValueError(
                f"--data.stream.start_frames ({self.start_frames}) must be in 1..--data.stream.capacity "
                f"({self.capacity})"
            )


def suite_instructions(suite: str) -> list[str]:
    """Every training instruction of the suite's train split, sorted: the vocabulary a streamed policy sees
    (absent-object tasks reuse their training composition's instructions)."""
    from sim.tasks import suite_tasks

    return sorted({t.format(**task.slots) for task in suite_tasks(suite) for t in task.templates("train")})


def stream_tasks(config: StreamConfig) -> list[str]:
    """The task names a stream cycles through, in order (module docstring)."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.tasks import get_suite

    return list(get_suite(config.suite).training_cycle(config.absent_share))


class ExpertStream:
    """Expert episodes from worker processes, job after job, round robin over the suite's tasks."""

    def __init__(self, config: StreamConfig):
        self.config = config
        self.tasks = stream_tasks(config)
        # spawn, not fork: the training process holds torch threads (and maybe CUDA), which fork breaks.
        spawn = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(config.workers, mp_context=spawn, initializer=_ignore_stop_signals)
        self.next_job = config.first_job
        self.pending: deque[Future] = deque()
        self.started = time.perf_counter()
        self.frames_received = 0
        for _ in range(2 * config.workers):  # one running and one queued per worker
            self._submit()

    def _submit(self) -> None:
        n = self.next_job
        job = ExpertJob(
            self.config.suite,
            self.tasks[n % len(self.tasks)],
            self.config.first_seed + n * SEEDS_PER_JOB,
            EPISODES_PER_JOB,
            noise_deg=self.config.noise_deg,
            absent_demo_frames=HELD_FRAMES_TRAINED,
        )
        self.pending.append(self.pool.submit(run_expert_job, job))
        self.next_job += 1

    def take(self, wait: bool = False) -> list[dict]:
        """Episodes of the jobs finished so far, in job order (blocks for the oldest job when `wait`)."""
        episodes = []
        while self.pending and (self.pending[0].done() or (wait and not episodes)):
            episodes += self.pending.popleft().result()  # a worker's exception surfaces here
            self._submit()
        self.frames_received += sum(len(e["state"]) for e in episodes)
        return episodes

    @property
    def jobs_done(self) -> int:
        """Jobs whose episodes were taken: where a resumed run continues."""
        return self.next_job - len(self.pending)

    def frames_per_second(self) -> float:
        return self.frames_received / max(time.perf_counter() - self.started, 1e-9)

    def close(self) -> None:
        for future in self.pending:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)


def _ignore_stop_signals() -> None:
    """In each worker: Ctrl-C reaches the whole process group, but the training process decides when to
    stop (it saves first, vla/training/interrupt.py) and then shuts the pool down; a worker that died on the
    signal would break the pool under it."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def start_stream(config: StreamConfig) -> tuple[ExpertStream, list[dict]]:
    """The workers started, and their first episodes: at least `config.start_frames` frames, waited for."""
    stream = ExpertStream(config)
    episodes: list[dict] = []
    try:
        while sum(len(e["state"]) for e in episodes) < config.start_frames:
            episodes += stream.take(wait=True)
    except BaseException:
        stream.close()
        raise
    return stream, episodes


def stream_batches(
    stream: ExpertStream,
    first: list[dict],
    camera_keys: list[str],
    chunk_length: int,
    normalization: Normalization | None,
    device: torch.device,
    batch_size: int,
    seed: int,
    keep_environment_state: bool = True,
) -> StreamBatches:
    """A ring on `device` holding the `first` episodes, and batches from it as the stream goes on; the
    episodes' "environment_state" is dropped unless `keep_environment_state`."""
    rendered = sorted(first[0]["images"])
    missing = [key for key in camera_keys if key not in rendered]
    if missing:
        raise KeyError(
            f"--data.stream.suite {stream.config.suite}: no camera {missing}; it renders {rendered}"
        )
    ring = FrameRing(
        stream.config.capacity,
        camera_keys,
        first[0]["images"][camera_keys[0]].shape[1:],
        first[0]["state"].shape[1],
        first[0]["action"].shape[1],
        chunk_length,
        suite_instructions(stream.config.suite),
        normalization,
        device,
        first[0]["environment_state"].shape[1]
        if keep_environment_state and "environment_state" in first[0]
        else 0,
    )
    for episode in first:
        ring.add(episode)
    return StreamBatches(stream, ring, batch_size, max(1, stream.config.capacity // batch_size), seed)


class StreamBatches:
    """The training loop's loader over a stream: before each batch, new episodes go into the ring.

    An "epoch" is `batches_per_epoch` batches, only so the loop's epoch counter moves; sampling is
    uniform over the ring with replacement.
    """

    def __init__(
        self, stream: ExpertStream, ring: FrameRing, batch_size: int, batches_per_epoch: int, seed: int
    ):
        self.stream, self.ring, self.batch_size = stream, ring, batch_size
        self.batches_per_epoch = batches_per_epoch
        self.tasks = ring.tasks
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[dict]:
        for _ in range(self.batches_per_epoch):
            yield self.next_batch()

    def next_batch(self) -> dict:
        """The episodes rendered since the last batch go into the ring; then a batch from it."""
        for episode in self.stream.take():
            self.ring.add(episode)
        return self.ring.sample(self.batch_size, self.generator)

    def stats(self) -> dict[str, float]:
        """What TensorBoard and the progress bar show: episodes taken, frames/s rendered, ring fill."""
        return {
            "episodes": self.ring.episodes_added,
            "frames_per_s": self.stream.frames_per_second(),
            "ring_frames": len(self.ring),
        }
