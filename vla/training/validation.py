"""Held-out loss during training (`vla train --data.val_dataset`): the chunk loss on unseen episodes.

Why it matters: behaviour cloning from pixels memorises its training episodes long before it
generalises. The shipped policy trained on 640 expert episodes for ~10 epochs reached loss 1.0 on them
and 4.1 on new layouts of the same tasks (near the 4.4 of an untrained model), which the training loss
alone never showed. A validation set rendered from other seeds (`vla record --source expert --arrays
--seed ...`) shows it while the run goes, and each checkpoint records its held-out loss.

Two figures: the loss (comparable only between runs with the same action tokens) and the action error,
the mean |decoded action - expert action| per action dimension in the dataset's units (degrees for the
SO-101 joints, 0-100 for its gripper), which compares any two policies.

The samples are a fixed, seeded subset of the validation frames, normalised with the *policy's*
normalisation (the training set's), encoded without augmentation or word dropout, so figures from
different checkpoints of a run compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vla.models.checkpoint import PolicyBundle
from vla.models.modeling_vla import chunk_loss, decode_logits
from vla.training.data import ChunkDataset, collate, open_training_source


@dataclass(frozen=True)
class HeldOutMetrics:
    loss: float  # mean chunk cross-entropy per control token (nats)
    action_error: np.ndarray  # (A,) mean |decoded - expert| over real chunk steps, dataset units
    # Mean |predicted - recorded| environment-state value (metres for the sim's object positions) over the
    # objects on the table (recorded value not 0), from the image-token head; None without one.
    localisation_error: float | None = None

    def summary(self) -> str:
        error = " ".join(f"{e:.1f}" for e in self.action_error)
        text = f"held-out loss {self.loss:.4f}, action error [{error}]"
        if self.localisation_error is not None:
            text += f", localisation error {self.localisation_error * 1000:.1f} mm"
        return text


class HeldOutLoss:
    """Loss and action error of a policy over `batches` fixed batches of a held-out dataset."""

    def __init__(self, dataset: Path, bundle: PolicyBundle, batch_size: int, batches: int = 8, seed: int = 0):
        source, arrays = open_training_source(dataset, bundle.config)  # frames decoded into memory once
        chunks = ChunkDataset(source, bundle.config, bundle.normalization, True, arrays)
        if len(chunks) == 0:
            raise ValueError(f"--data.val_dataset {dataset}: no frames")
        count = min(len(chunks), batch_size * batches)
        picked = np.random.default_rng(seed).choice(len(chunks), size=count, replace=False)
        picked.sort()
        self.batches = [
            collate([chunks[int(i)] for i in picked[start : start + batch_size]])
            for start in range(0, count, batch_size)
        ]
        self.frames = count
        self.bin_centers = torch.from_numpy(bundle.action_tokenizer.bin_centers)  # (K,) normalised units
        self.action_normalizer = bundle.normalization.action
        self.environment_normalizer = bundle.normalization.environment_state

    @torch.no_grad()
    def __call__(self, model: torch.nn.Module, encode, autocast) -> HeldOutMetrics:
        """Metrics over the fixed batches; `encode` is the run's BatchEncoder (called with train=False)."""
        was_training = model.training
        model.eval()
        loss, frames, error_sum, steps = 0.0, 0, 0.0, 0
        localisation = []  # |error| of each recorded object coordinate, metres
        locate = getattr(model, "objects", None) is not None and self.environment_normalizer is not None
        for batch in self.batches:
            with autocast:
                inputs = encode(batch, train=False)
                if locate and inputs.environment_state is not None:
                    logits, environment = model(inputs, with_environment_state=True)  # (B, T, A, K), (B, E)
                    located = self.environment_normalizer.unnormalize(environment.float().cpu().numpy())
                    recorded = self.environment_normalizer.unnormalize(batch["environment_state"].numpy())
                    error, on_table = np.abs(located - recorded), np.abs(recorded) > 1e-4
                    localisation.append(error[on_table])
                else:
                    logits = model(inputs)  # (B, T, A, K)
                loss += float(chunk_loss(logits, inputs)) * len(batch["state"])
            frames += len(batch["state"])
            decoded, _ = decode_logits(logits, self.bin_centers.to(logits.device))  # (B, T, A)
            predicted = self.action_normalizer.unnormalize(decoded.cpu().numpy())
            expert = self.action_normalizer.unnormalize(batch["actions"].numpy())
            real = ~batch["action_is_pad"].numpy()  # (B, T): chunk steps inside the episode
            error_sum = error_sum + np.abs(predicted - expert)[real].sum(axis=0)
            steps += int(real.sum())
        model.train(was_training)
        located_error = float(np.concatenate(localisation).mean()) if localisation else None
        actions = np.asarray(error_sum / max(steps, 1), np.float32)
        return HeldOutMetrics(loss / frames, actions, located_error)
