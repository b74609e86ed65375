"""`vla train --policy.kind act|diffusion`: a LeRobot baseline trained on the same data, batches and steps.

The data path is the VLA's (a LeRobot dataset decoded into memory, or a frame cache; `DeviceBatches` on
the training device), so the baselines see exactly the frames, chunks and shuffling our policy sees;
only the model, its normalisation and its optimizer are lerobot's (`vla.baselines.lerobot_policies`).
With `--data.stream.suite` they train on the same stream of seeded expert layouts as the VLA
(vla/training/stream.py), normalised by the stream's first episodes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

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
from vla.training.run_setup import training_device
from vla.training.stream import StreamBatches, start_stream, stream_batches
from vla.training.train_config import TrainConfig

CAMERA_KEYS = [camera_key(camera) for camera in CAMERA_NAMES]


def training_arrays(dataset: Path) -> DatasetArrays:
    if is_arrays_folder(dataset):
        return open_arrays(dataset, CAMERA_KEYS)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    from vla.data import VIDEO_BACKEND

    source = LeRobotDataset(repo_id=f"local/{Path(dataset).name}", root=dataset, video_backend=VIDEO_BACKEND)
    return load_arrays(source, CAMERA_KEYS)


def train_baseline(cfg: TrainConfig) -> dict:
    """Train, save every `save_every` steps and at the end; returns (and writes) the training summary."""
    if cfg.data.replay_dataset is not None or (cfg.stream is not None and cfg.data.dataset is not None):
        raise ValueError(
            f"--policy.kind {cfg.policy.kind} trains on --data.dataset or on --data.stream.suite alone; "
            "replay (--data.replay_dataset, or the stream beside a dataset) is the vla policy's"
        )
    device = training_device(cfg.run.device)
    stream = None
    if cfg.stream is not None:
        stream, first = start_stream(cfg.stream)
        arrays = arrays_from_episodes(first)  # for the normalisation stats only
    else:
        arrays = training_arrays(cfg.data.dataset)
    try:
        images = {key.rsplit(".", 1)[1]: arrays.frames[key] for key in CAMERA_KEYS}
        trainer = BaselineTrainer(
            cfg.policy.kind,
            baseline_stats(images, arrays.state, arrays.action),
            device,
            cfg.run.seed,
            total_steps=cfg.optim.steps,
            precision=cfg.optim.precision,
        )
        # Un-normalised: the policy's own preprocessor normalises, with the stats above.
        chunk_length = baseline_chunk_length(cfg.policy.kind)
        if stream is not None:
            batches = stream_batches(
                stream, first, CAMERA_KEYS, chunk_length, None, device, cfg.optim.batch_size, cfg.run.seed
            )
        else:
            batches = DeviceBatches(
                arrays, CAMERA_KEYS, chunk_length, device, cfg.optim.batch_size, cfg.run.seed
            )
        with StopSignals() as stop:
            return _train_steps(cfg, trainer, batches, device, stop)
    finally:
        if stream is not None:
            stream.close()


def _train_steps(
    cfg: TrainConfig, trainer, batches: DeviceBatches | StreamBatches, device, stop: StopSignals
) -> dict:
    frames = f"a stream of {cfg.stream.suite} episodes" if cfg.stream else f"{batches.size} frames"
    print(f"{cfg.policy.kind}: {trainer.parameter_count / 1e6:.1f} M parameters, {frames}, {device}")
    step, loss, start = 0, float("nan"), time.perf_counter()
    last = cfg.run.out / "checkpoints" / "last"
    stopping = False  # wall-time cap or a stop signal: decided after a step, which is then saved
    while step < cfg.optim.steps and not stopping:
        for batch in batches:
            batch["task"] = [batches.tasks[i] for i in batch["task_index"].tolist()]
            loss = trainer.step(batch)
            step += 1
            elapsed = time.perf_counter() - start
            if step % cfg.run.log_every == 0:
                rate = step * cfg.optim.batch_size / elapsed
                print(
                    f"{cfg.policy.kind} step {step}/{cfg.optim.steps} loss {loss:.4f} {rate:.0f} samples/s",
                    flush=True,
                )
            out_of_time = cfg.optim.max_seconds > 0 and elapsed > cfg.optim.max_seconds
            stopping = out_of_time or stop.received is not None
            if step % cfg.run.save_every == 0 or step == cfg.optim.steps or stopping:
                trainer.save(last)
            if step >= cfg.optim.steps or stopping:
                break
    if stop.received is not None:
        print(
            f"{cfg.policy.kind}: stopped at step {step} of {cfg.optim.steps} by {stop.received}, saved",
            flush=True,
        )
    seconds = time.perf_counter() - start
    summary = {
        "kind": cfg.policy.kind,
        "steps": step,
        "steps_asked": cfg.optim.steps,
        "batch_size": cfg.optim.batch_size,
        "final_loss": loss,
        "seconds": seconds,
        "samples_per_s": step * cfg.optim.batch_size / seconds,
        "parameters": trainer.parameter_count,
        "frames": batches.ring.frames_added if cfg.stream else batches.size,
        "device": str(device),
        "bf16": trainer.use_bf16,
    }
    (cfg.run.out / "training_summary.json").write_text(json.dumps(summary, indent=2))
    return summary
