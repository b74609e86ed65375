"""Held-out loss during training (`vla train --val-dataset`): the chunk loss on episodes never trained on.

Why it matters: behaviour cloning from pixels memorises its training episodes long before it
generalises. The shipped policy trained on 640 expert episodes for ~10 epochs reached loss 1.0 on them
and 4.1 on new layouts of the same tasks (near the 4.4 of an untrained model), which the training loss
alone never showed. A validation set rendered from other seeds (`vla record --source expert --arrays
--seed ...`) shows it while the run goes, and each checkpoint records its held-out loss.

The samples are a fixed, seeded subset of the validation frames, normalised with the *policy's*
normalisation (the training set's), encoded without augmentation or word dropout, so figures from
different checkpoints of a run compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vla.models.checkpoint import PolicyBundle
from vla.models.modeling_vla import chunk_loss
from vla.training.data import ChunkDataset, collate, open_lerobot_dataset
from vla.training.frames import is_arrays_folder, open_arrays


class HeldOutLoss:
    """Mean chunk loss of a policy over `batches` fixed batches of a held-out dataset."""

    def __init__(self, dataset: Path, bundle: PolicyBundle, batch_size: int, batches: int = 8, seed: int = 0):
        config = bundle.config
        camera_keys = [f"observation.images.{camera}" for camera in config.cameras]
        if is_arrays_folder(dataset):
            chunks = ChunkDataset(None, config, bundle.normalization, True, open_arrays(dataset, camera_keys))
        else:
            chunks = ChunkDataset(open_lerobot_dataset(dataset, config), config, bundle.normalization)
        if len(chunks) == 0:
            raise ValueError(f"--val-dataset {dataset}: no frames")
        count = min(len(chunks), batch_size * batches)
        picked = np.random.default_rng(seed).choice(len(chunks), size=count, replace=False)
        picked.sort()
        self.batches = [
            collate([chunks[int(i)] for i in picked[start : start + batch_size]])
            for start in range(0, count, batch_size)
        ]
        self.frames = count

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, encode, autocast) -> float:
        """Mean loss over the fixed batches; `encode` is the run's BatchEncoder (called with train=False)."""
        was_training = model.training
        model.eval()
        total, weight = 0.0, 0
        for batch in self.batches:
            with autocast:
                inputs = encode(batch, train=False)
                total += float(chunk_loss(model(inputs), inputs)) * len(batch["state"])
            weight += len(batch["state"])
        model.train(was_training)
        return total / weight
