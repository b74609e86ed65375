"""Run under torchrun by tests/test_train.py: train a few steps, write this rank's weight digest."""

import hashlib
import os
import sys
from pathlib import Path

import torch

from vla.training.loop import train
from vla.training.train_config import DataConfig, OptimConfig, PolicyConfig, RunConfig, TrainConfig

dataset, out = Path(sys.argv[1]), Path(sys.argv[2])
result = train(
    TrainConfig(
        run=RunConfig(out=out, save_every=100, log_every=1, device="cpu"),
        data=DataConfig(dataset=dataset),
        policy=PolicyConfig(model="debug"),
        optim=OptimConfig(steps=4, batch_size=4, warmup_steps=1),
    )
)
digest = hashlib.sha256()
for name, tensor in sorted(result.model.state_dict().items()):
    digest.update(name.encode())
    digest.update(tensor.detach().to(torch.float64).numpy().tobytes())
(out / f"rank{os.environ['RANK']}.sha256").write_text(digest.hexdigest())
