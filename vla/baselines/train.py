"""`vla train --policy act|diffusion`: a LeRobot baseline trained on the same data, batches and steps as ours.

The data path is the VLA's (a LeRobot dataset decoded into memory, or a frame cache; `DeviceBatches` on
the training device), so the baselines see exactly the frames, chunks and shuffling our policy sees;
only the model, its normalisation and its optimizer are lerobot's (`vla.baselines.lerobot_policies`).
With `--stream-expert` they train on the same stream of seeded expert layouts as `vla train
--stream-expert` (vla/training/stream.py), normalised by the stream's first episodes.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from vla.baselines.lerobot_policies import BaselineTrainer, baseline_chunk_length, baseline_stats
from vla.contract import CAMERA_NAMES, camera_key
from vla.training.batches import DeviceBatches
from vla.training.frames import (
    DatasetArrays,
    arrays_from_episodes,
    is_arrays_folder,
    load_arrays,
    open_arrays,
)
from vla.training.interrupt import StopSignals
from vla.training.stream import StreamBatches, StreamConfig, start_stream, stream_batches

CAMERA_KEYS = [camera_key(camera) for camera in CAMERA_NAMES]


@dataclass(frozen=True)
class BaselineRun:
    kind: str  # "act" | "diffusion"
    dataset: Path | None  # LeRobot v3 dataset or frame cache; None with `stream`
    out: Path  # the saved policy goes to <out>/checkpoints/last (lerobot's pretrained layout)
    steps: int = 10_000
    batch_size: int = 64
    seed: int = 0
    save_every: int = 2_000
    log_every: int = 50
    device: str = "auto"
    max_seconds: float = 0.0  # > 0: stop (and save) once training has run this long
    precision: str = "auto"  # autocast, as `vla train --precision` (vla.training.precision)
    stream: StreamConfig | None = None  # instead of `dataset`: expert episodes rendered while training


def training_arrays(dataset: Path) -> DatasetArrays:
    if is_arrays_folder(dataset):
        return open_arrays(dataset, CAMERA_KEYS)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from vla.data import VIDEO_BACKEND

    source = LeRobotDataset(repo_id=f"local/{Path(dataset).name}", root=dataset, video_backend=VIDEO_BACKEND)
    return load_arrays(source, CAMERA_KEYS)


def train_baseline(run: BaselineRun) -> dict:
    """Train, save every `save_every` steps and at the end; returns (and writes) the training summary."""
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if run.device == "auto" else run.device
    )
    stream = None
    if run.stream is not None:
        stream, first = start_stream(run.stream)
        arrays = arrays_from_episodes(first)  # for the normalisation stats only
    else:
        arrays = training_arrays(run.dataset)
    try:
        images = {key.rsplit(".", 1)[1]: arrays.frames[key] for key in CAMERA_KEYS}
        trainer = BaselineTrainer(
            run.kind,
            baseline_stats(images, arrays.state, arrays.action),
            device,
            run.seed,
            total_steps=run.steps,
            precision=run.precision,
        )
        # Un-normalised: the policy's own preprocessor normalises, with the stats above.
        chunk_length = baseline_chunk_length(run.kind)
        if stream is not None:
            batches = stream_batches(
                stream, first, CAMERA_KEYS, chunk_length, None, device, run.batch_size, run.seed
            )
        else:
            batches = DeviceBatches(arrays, CAMERA_KEYS, chunk_length, device, run.batch_size, run.seed)
        with StopSignals() as stop:
            return _train_steps(run, trainer, batches, device, stop)
    finally:
        if stream is not None:
            stream.close()


def _train_steps(
    run: BaselineRun, trainer, batches: DeviceBatches | StreamBatches, device, stop: StopSignals
) -> dict:
    frames = f"a stream of {run.stream.suite} episodes" if run.stream else f"{batches.size} frames"
    print(f"{run.kind}: {trainer.parameter_count / 1e6:.1f} M parameters, {frames}, {device}")
    step, loss, start = 0, float("nan"), time.perf_counter()
    last = run.out / "checkpoints" / "last"
    stopping = False  # wall-time cap or a stop signal: decided after a step, which is then saved
    while step < run.steps and not stopping:
        for batch in batches:
            batch["task"] = [batches.tasks[i] for i in batch["task_index"].tolist()]
            loss = trainer.step(batch)
            step += 1
            elapsed = time.perf_counter() - start
            if step % run.log_every == 0:
                rate = step * run.batch_size / elapsed
                print(f"{run.kind} step {step}/{run.steps} loss {loss:.4f} {rate:.0f} samples/s", flush=True)
            out_of_time = run.max_seconds > 0 and elapsed > run.max_seconds
            stopping = out_of_time or stop.received is not None
            if step % run.save_every == 0 or step == run.steps or stopping:
                trainer.save(last)
            if step >= run.steps or stopping:
                break
    if stop.received is not None:
        print(f"{run.kind}: stopped at step {step} of {run.steps} by {stop.received}, saved", flush=True)
    seconds = time.perf_counter() - start
    summary = {
        "kind": run.kind,
        "steps": step,
        "steps_asked": run.steps,
        "batch_size": run.batch_size,
        "final_loss": loss,
        "seconds": seconds,
        "samples_per_s": step * run.batch_size / seconds,
        "parameters": trainer.parameter_count,
        "frames": batches.ring.frames_added if run.stream else batches.size,
        "device": str(device),
        "bf16": trainer.use_bf16,
    }
    (run.out / "training_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
