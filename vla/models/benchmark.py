"""`vla bench policy`: size, training throughput and inference latency of each preset, on this machine.

Training throughput is measured on synthetic in-memory batches (the model's own cost, data loading
excluded); latency is one `VLAPolicy.infer` call (batch 1, both cameras, cached instruction), the
chunk-level cost a controller pays.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from vla.contract import NUM_JOINTS, OBS_STATE, TASK, camera_key
from vla.models.checkpoint import PolicyBundle, save_checkpoint
from vla.models.configuration_vla import preset
from vla.models.modeling_vla import VLABatch, VLAModel
from vla.models.normalization import Normalization, RangeNormalizer
from vla.policy import VLAPolicy
from vla.tokenization import BinningActionTokenizer, BinningConfig
from vla.tokenization.text import build_word_tokenizer, suite_instructions


@dataclass(frozen=True)
class PolicySpeed:
    preset: str
    parameters: int
    checkpoint_mb: float
    train_samples_per_s: float
    infer_p50_ms: float
    infer_p99_ms: float
    device: str


def build_untrained(name: str) -> PolicyBundle:
    config = preset(name)
    words = build_word_tokenizer(suite_instructions())
    bounds = RangeNormalizer(np.full(6, -100, np.float32), np.full(6, 100, np.float32))
    return PolicyBundle(
        config,
        VLAModel(config, words.get_vocab_size()),
        Normalization(bounds, bounds),
        words,
        BinningActionTokenizer(BinningConfig(config.n_action_bins, config.action_dim)),
    )


def training_throughput(bundle: PolicyBundle, device: torch.device, batch_size: int, steps: int) -> float:
    config, model = bundle.config, bundle.model.to(device).train()
    size = config.vision.image_size
    batch = VLABatch(
        images=torch.rand(batch_size, len(config.cameras), 3, size, size, device=device),
        state=torch.rand(batch_size, config.state_dim, device=device),
        words=torch.randint(1, 10, (batch_size, config.text.max_instruction_tokens), device=device),
        sentence=torch.randn(batch_size, config.sentence_dim, device=device)
        if config.sentence_encoder
        else None,
        action_tokens=torch.randint(
            0, config.n_action_bins, (batch_size, config.chunk_length, config.action_dim), device=device
        ),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )

    def step():
        with autocast:
            loss = model.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch_size * steps / (time.perf_counter() - start)


def inference_latency(bundle: PolicyBundle, device: str, calls: int) -> tuple[float, float]:
    """p50 and p99 of one infer() call in milliseconds."""
    policy = VLAPolicy(bundle, device)
    rng = np.random.default_rng(0)
    obs = {camera_key(c): rng.integers(0, 255, (128, 128, 3), dtype=np.uint8) for c in policy.config.cameras}
    obs |= {OBS_STATE: np.zeros(NUM_JOINTS, np.float32), TASK: "pick up the red cube"}
    for _ in range(5):
        policy.infer(obs)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        policy.infer(obs)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def measure_policy(
    name: str, device: str, batch_size: int, train_steps: int, infer_calls: int
) -> PolicySpeed:
    torch.manual_seed(0)
    bundle = build_untrained(name)
    parameters = sum(p.numel() for p in bundle.model.parameters())
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_checkpoint(Path(tmp) / "ckpt", bundle)
        size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    p50, p99 = inference_latency(bundle, device, infer_calls)
    samples = training_throughput(bundle, torch.device(device), batch_size, train_steps)
    return PolicySpeed(name, parameters, size_mb, samples, p50, p99, device)
