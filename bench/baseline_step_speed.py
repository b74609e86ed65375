"""Seconds per optimiser step of LeRobot's ACT and Diffusion Policy, fp32 against bf16 autocast, side by side.

    .venv/bin/python bench/baseline_step_speed.py [--batch-size 32] [--steps 3] [--threads 2]

Full-size models (lerobot's presets plus our deviations, vla/baselines/lerobot_policies.py) on random
batches of our shapes: two 128x128 cameras, 6 joints, each policy's own chunk length. The first step is a
warm-up and is not timed. Prints one row per policy and precision and the fp32 / bf16 ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from vla.baselines.lerobot_policies import (
    BASELINES,
    CAMERAS,
    BaselineTrainer,
    baseline_chunk_length,
    baseline_stats,
)


def random_batch(chunk_length: int, batch_size: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    return {
        "images": torch.randint(0, 256, (batch_size, 2, 3, 128, 128), dtype=torch.uint8, generator=generator),
        "state": torch.rand(batch_size, 6, generator=generator) * 120 - 60,  # degrees
        "actions": torch.rand(batch_size, chunk_length, 6, generator=generator) * 120 - 60,
        "action_is_pad": torch.zeros(batch_size, chunk_length, dtype=torch.bool),
        "task": ["pick up the red cube"] * batch_size,
    }


def random_stats() -> dict:
    rng = np.random.default_rng(0)
    images = {camera: rng.integers(0, 256, (16, 128, 128, 3), dtype=np.uint8) for camera in CAMERAS}
    joints = rng.uniform(-60, 60, (16, 6)).astype(np.float32)
    return baseline_stats(images, joints, joints)


def seconds_per_step(kind: str, precision: str, batch_size: int, steps: int) -> float:
    trainer = BaselineTrainer(kind, random_stats(), "cpu", precision=precision)
    batch = random_batch(baseline_chunk_length(kind), batch_size)
    trainer.step(batch)  # warm-up: allocations, oneDNN kernel selection
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step(batch)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per row")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"batch {args.batch_size}, {args.steps} timed steps, {args.threads} threads")
    print("| policy | fp32 s/step | bf16 s/step | fp32 / bf16 |")
    print("|---|---|---|---|")
    for kind in BASELINES:
        fp32, bf16 = (seconds_per_step(kind, p, args.batch_size, args.steps) for p in ("fp32", "bf16"))
        print(f"| {kind} | {fp32:.2f} | {bf16:.2f} | {fp32 / bf16:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
