"""A run's checkpoints: `<out>/checkpoints/step_<N>` and `last`, and what --resume reads back."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import torch

from vla.models.checkpoint import PolicyBundle, save_checkpoint
from vla.training.finetune import has_lora, merged_copy
from vla.training.optim import save_optimizer
from vla.training.stream import StreamBatches
from vla.training.train_config import TrainConfig


def last_checkpoint(out: Path) -> Path:
    """`<out>/checkpoints/last`: the newest checkpoint, a copy of the last step saved."""
    return out / "checkpoints" / "last"


def resume_from_last(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """With --resume: `cfg` starting from the last checkpoint (as --init) and its training_state.json;
    otherwise `cfg` unchanged and None."""
    last = last_checkpoint(cfg.out)
    if not cfg.resume:
        return cfg, None
    if not last.is_dir():
        raise FileNotFoundError(f"--resume: no checkpoint at {last}")
    return replace(cfg, init=last), json.loads((last / "training_state.json").read_text())


def save_training_checkpoint(
    cfg: TrainConfig,
    bundle: PolicyBundle,
    optimizer: torch.optim.Optimizer,
    loader: object,
    step: int,
    loss: float,
    val_loss: float | None = None,
) -> None:
    """`<out>/checkpoints/step_<step>` (policy, optimizer, training_state.json), then copied to `last`
    through a temporary folder, so `last` is always a whole checkpoint."""
    folder = cfg.out / "checkpoints" / f"step_{step:07d}"
    state = {"step": step, "loss": loss, "train_config": {k: str(v) for k, v in asdict(cfg).items()}}
    if val_loss is not None:
        state["val_loss"] = val_loss  # held-out loss at this step (--val-dataset)
    if isinstance(loader, StreamBatches):
        state["stream_next_job"] = loader.stream.jobs_done  # where --resume continues the stream
        state["stream_episodes"] = loader.ring.episodes_added
    if has_lora(bundle.model):
        bundle = replace(bundle, model=merged_copy(bundle.model))
    save_checkpoint(folder, bundle, state)
    save_optimizer(optimizer, folder)
    last = last_checkpoint(cfg.out)
    tmp = last.with_name("last.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    shutil.rmtree(last, ignore_errors=True)
    tmp.rename(last)
