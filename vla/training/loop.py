"""The training loop behind `vla train`: single process, or one process per GPU under torchrun (DDP).

The run is set up by `run_setup.prepare` (data, policy, optimizer), reports through `run_logging` and saves
through `run_checkpoints`; this module holds the step loop. The names other code imports from here
(`TrainConfig`, `train`, `BatchEncoder`, `fresh_bundle`, `training_policy`, ...) stay importable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from vla.models.modeling_vla import AbstainTraining, VLAModel, training_losses
from vla.training.batch_encoder import BatchEncoder
from vla.training.interrupt import StopSignals
from vla.training.loaders import load_training_data
from vla.training.policy_setup import (
    ObjectsTraining,
    destinations_to_add,
    fine_tuning_bundle,
    fresh_bundle,
    model_config,
    rebuilt,
    training_policy,
)
from vla.training.run_checkpoints import last_checkpoint, save_training_checkpoint
from vla.training.run_logging import log_step, tensorboard_writer, validate
from vla.training.run_setup import TrainingRun, prepare
from vla.training.stream import StreamBatches
from vla.training.train_config import TrainConfig

__all__ = [
    "BatchEncoder",
    "ObjectsTraining",
    "TrainConfig",
    "TrainResult",
    "TrainingRun",
    "destinations_to_add",
    "fine_tuning_bundle",
    "fresh_bundle",
    "load_training_data",
    "model_config",
    "prepare",
    "rebuilt",
    "train",
    "training_policy",
]


@dataclass
class TrainResult:
    last_checkpoint: Path  # <out>/checkpoints/last
    model: VLAModel  # this process's trained model (every DDP rank holds identical weights)
    final_loss: float
    val_loss: float | None = None  # held-out loss at the last checkpoint (--data.val_dataset)


def train(cfg: TrainConfig) -> TrainResult:
    """Train from scratch, from --policy.init, or --run.resume; checkpoints go to `<out>/checkpoints/`."""
    run = prepare(cfg)
    try:
        with StopSignals(enabled=run.world == 1) as stop:
            return _train_steps(run, stop)
    finally:
        if isinstance(run.loader, StreamBatches):
            run.loader.stream.close()


def _train_steps(run: TrainingRun, stop: StopSignals) -> TrainResult:
    """The step loop: train, log, validate and save until `cfg.optim.steps`, a stop signal or a cap."""
    from tqdm import tqdm

    cfg = run.cfg
    writer = tensorboard_writer(cfg.run.out) if run.rank == 0 else None
    progress = tqdm(
        total=cfg.optim.steps, initial=run.start_step, desc="training", unit="step", disable=run.rank != 0
    )
    step, epoch, samples = run.start_step, 0, 0
    val_loss = validate(run, writer, progress, step) if run.validation is not None else None
    tic = started = time.perf_counter()
    run.schedule.start()
    # Stopping early (wall-time cap, --optim.stop_at_step or a stop signal) is decided after a step, which is
    # then
    # saved; a cap or signal that arrives while an epoch's last batch is fetched stops after the next epoch's
    # first.
    stopping = out_of_time = False
    abstain = AbstainTraining(cfg.abstain.weight, cfg.abstain.only)  # the same for every step
    while step < cfg.optim.steps and not stopping:
        if run.sampler is not None:
            run.sampler.set_epoch(epoch)
        for batch in run.loader:
            with run.autocast:
                inputs = run.encode(batch)
                # Through DDP, so gradients are synchronised.
                losses = training_losses(run.ddp_model, inputs, cfg.objects.weight, abstain, run.pointing)
            # the figure logged as the loss, comparable with runs without the aux (abstain only: that loss)
            loss = losses.get("actions", losses["total"])
            run.optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.optim.grad_clip)
            run.optimizer.step()
            run.scheduler.step()
            step += 1
            samples += len(batch["state"]) * run.world
            if step % cfg.run.log_every == 0 or step == cfg.optim.steps:
                rate = samples / (time.perf_counter() - tic)
                log_step(run, progress, writer, step, losses, grad_norm, rate)
                samples, tic = 0, time.perf_counter()
            progress.update(1)
            out_of_time = cfg.optim.max_seconds > 0 and time.perf_counter() - started > cfg.optim.max_seconds
            at_stop_step = 0 < cfg.optim.stop_at_step <= step
            stopping = out_of_time or at_stop_step or stop.received is not None
            if run.rank == 0 and (step % cfg.run.save_every == 0 or step == cfg.optim.steps or stopping):
                if run.validation is not None:
                    paused = time.perf_counter()
                    val_loss = validate(run, writer, progress, step)
                    progress.set_postfix(loss=f"{loss.item():.3f}", val_loss=f"{val_loss:.3f}")
                    tic += time.perf_counter() - paused  # samples/s counts training time only
                save_training_checkpoint(
                    cfg, run.bundle, run.optimizer, run.loader, step, float(loss.item()), val_loss
                )
            if step >= cfg.optim.steps or stopping:
                break
        epoch += 1
    if stop.received is not None:
        print(
            f"stopped at step {step} of {cfg.optim.steps} by {stop.received}, saved: continue with "
            "--run.resume"
        )
    elif out_of_time:
        print(
            f"stopped at step {step} of {cfg.optim.steps}: --optim.max_seconds {cfg.optim.max_seconds:g} "
            "reached"
        )
    elif step < cfg.optim.steps:
        print(f"stopped at step {step} of {cfg.optim.steps}: --optim.stop_at_step")
    progress.close()
    if writer is not None:
        writer.close()
    if run.world > 1:
        dist.barrier()
    return TrainResult(last_checkpoint(cfg.run.out), run.model, float(loss.item()), val_loss)
