"""A run's checkpoints: `<out>/checkpoints/step_<N>` and `last`, and what --run.resume reads back."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import torch

from vla.config_cli import to_dict
from vla.models.checkpoint import PolicyBundle, save_checkpoint
from vla.training.finetune import has_lora, merged_copy
from vla.training.optim import save_optimizer
from vla.training.stream import StreamBatches
from vla.training.train_config import TrainConfig


def last_checkpoint(out: Path) -> Path:
    """`<out>/checkpoints/last`: the newest checkpoint, a copy of the last step saved."""
    return out / "checkpoints" / "last"


RUN_CONFIG = "train_config.json"  # the run's TrainConfig: `vla train --config <it>` runs it again


def save_run_config(cfg: TrainConfig) -> Path:
    """`<out>/train_config.json`, the config as given (a resumed run keeps its first one); each checkpoint
    gets a copy."""
    path = cfg.run.out / RUN_CONFIG
    if not cfg.run.resume or not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(to_dict(cfg), indent=2))
    return path


def resume_from_last(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """With --run.resume: `cfg` starting from the last checkpoint (as --policy.init) and its
    training_state.json;
    otherwise `cfg` unchanged and None."""
    last = last_checkpoint(cfg.run.out)
    if not cfg.run.resume:
        return cfg, None
    if not last.is_dir():
        raise FileNotFoundError(f"--run.resume: no checkpoint at {last}")
    return replace(cfg, policy=replace(cfg.policy, init=last)), json.loads(
        (last / "training_state.json").read_text()
    )


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
    folder = cfg.run.out / "checkpoints" / f"step_{step:07d}"
    state = {"step": step, "loss": loss, "train_config": to_dict(cfg)}
    if val_loss is not None:
        state["val_loss"] = val_loss  # held-out loss at this step (--data.val_dataset)
    if isinstance(loader, StreamBatches):
        state["stream_next_job"] = loader.stream.jobs_done  # where --run.resume continues the stream
        state["stream_episodes"] = loader.ring.episodes_added
    if has_lora(bundle.model):
        bundle = replace(bundle, model=merged_copy(bundle.model))
    save_checkpoint(folder, bundle, state)
    if (cfg.run.out / RUN_CONFIG).is_file():
        shutil.copy(cfg.run.out / RUN_CONFIG, folder / RUN_CONFIG)
    save_optimizer(optimizer, folder)
    last = last_checkpoint(cfg.run.out)
    tmp = last.with_name("last.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    shutil.rmtree(last, ignore_errors=True)
    tmp.rename(last)
