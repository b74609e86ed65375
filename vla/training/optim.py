"""AdamW with linear warmup and cosine decay; optimizer state to and from safetensors (no pickle)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def warmup_cosine(step: float, warmup_steps: int, total_steps: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier: linear 0 -> 1 over warmup, then cosine 1 -> `floor` at `total_steps`."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class ScheduleClock:
    """Where a run stands on its learning-rate schedule, in steps, and the multiplier there.

    By default that is the optimiser step. A run capped by wall time (`max_seconds` > 0, `vla train
    --optim.schedule time`) is, after warm-up, as far along as the larger of its step and the share of
    `max_seconds` it has trained, so it ends at the bottom of the cosine when the cap stops it, however
    fast its machine steps, instead of being cut halfway down (a restarted cosine's mid-schedule checkpoint
    lost 9 points of success: docs/LOG.md, 2026-12-02)."""

    def __init__(self, warmup_steps: int, total_steps: int, max_seconds: float = 0.0):
        self.warmup_steps, self.total_steps, self.max_seconds = warmup_steps, total_steps, max_seconds
        self._started: float | None = None

    def start(self) -> None:
        """Call when training starts: the wall-time share counts from here."""
        self._started = time.perf_counter()

    def position(self, step: int) -> float:
        if self.max_seconds <= 0 or self._started is None or step < self.warmup_steps:
            return float(step)
        share = min(1.0, (time.perf_counter() - self._started) / self.max_seconds)
        return max(float(step), self.warmup_steps + share * (self.total_steps - self.warmup_steps))

    def multiplier(self, step: int) -> float:
        return warmup_cosine(self.position(step), self.warmup_steps, self.total_steps)


def build_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases, norms and embeddings-like 1-D parameters (GPT-2 practice). A module
    that declares `lr_scale` trains its parameters at that multiple of `lr`: the instruction pointer, a
    fresh head beside a pretrained backbone (vla/models/pointer.py). Groups: decaying, then not, each at
    scale 1 first (the two groups of a model without such a module, as checkpoints before it hold)."""
    scales = {
        id(param): module.lr_scale
        for module in model.modules()
        if hasattr(module, "lr_scale")
        for param in module.parameters()
    }
    groups: dict[tuple[bool, float], list] = {(True, 1.0): [], (False, 1.0): []}
    for param in model.parameters():
        if param.requires_grad:
            groups.setdefault((param.ndim >= 2, scales.get(id(param), 1.0)), []).append(param)
    ordered = sorted(groups, key=lambda key: (not key[0], key[1]))
    return torch.optim.AdamW(
        [
            {"params": groups[key], "weight_decay": weight_decay if key[0] else 0.0, "lr": lr * key[1]}
            for key in ordered
            if groups[key] or key[1] == 1.0
        ],
        lr=lr,
        betas=(0.9, 0.95),
    )


def save_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    """Tensors to optimizer.safetensors, scalars and hyper-parameters to optimizer.json."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{name}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{name}"] = value
    save_file(tensors, str(folder / "optimizer.safetensors"))
    (folder / "optimizer.json").write_text(
        json.dumps({"param_groups": state["param_groups"], "scalars": scalars})
    )


def load_optimizer(optimizer: torch.optim.Optimizer, folder: Path) -> None:
    meta = json.loads((folder / "optimizer.json").read_text())
    tensors = load_file(str(folder / "optimizer.safetensors"))
    state: dict[int, dict] = {}
    for key, value in [*tensors.items(), *meta["scalars"].items()]:
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
