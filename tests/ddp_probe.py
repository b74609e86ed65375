"""Run under torchrun by tests/test_train.py: train a few steps, write this rank's weight digest."""

import hashlib
import os
import sys
from pathlib import Path

import torch

from vla.training.loop import TrainConfig, train

dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
result = train(
    TrainConfig(
        dataset=dataset,
        out=out,
        preset="debug",
        steps=4,
        batch_size=4,
        warmup_steps=1,
        save_every=100,
        log_every=1,
        device="cpu",
        augment=True,
    )
)
digest = hashlib.sha256()
for name, tensor in sorted(result.model.state_dict().items()):
    digest.update(name.encode())
    digest.update(tensor.detach().to(torch.float64).numpy().tobytes())
(out / f"rank{os.environ['RANK']}.sha256").write_text(digest.hexdigest())
