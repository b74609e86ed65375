"""`vla bench latency`: time per chunk (one `infer` call, batch 1) for torch eager and the runtime variants.

Both sides run the same observation with a cached instruction, so the figure is the per-chunk cost a
controller pays: image preprocessing, the graph, decoding. The model's FLOPs per chunk are counted too
(torch's FlopCounterMode), which is what a paper estimate for another device starts from.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vla.contract import NUM_JOINTS, OBS_STATE, TASK, camera_key


@dataclass(frozen=True)
class Latency:
    backend: str  # e.g. "torch eager", "onnxruntime int8"
    device: str
    p50_ms: float
    p99_ms: float
    calls: int


def time_blocks(backends: dict, calls: int, rounds: int = 3) -> dict:
    """Seconds per call for each backend (key -> callable), in `rounds` alternating blocks of calls.

    Alternating blocks spread this machine's drift (other tenants, clock changes) over every backend; the
    pause between blocks lets the previous backend's spinning threads (OpenMP, onnxruntime) go idle first.
    """
    times: dict[str, list[float]] = {name: [] for name in backends}
    for infer in backends.values():
        for _ in range(5):  # warm-up: allocations, first-run graph work
            infer()
    for _ in range(rounds):
        for name, infer in backends.items():
            time.sleep(0.5)
            for _ in range(max(1, calls // rounds)):
                start = time.perf_counter()
                infer()
                times[name].append(time.perf_counter() - start)
    return times


def sample_observation(cameras: tuple[str, ...], size: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    obs = {camera_key(c): rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for c in cameras}
    return obs | {
        OBS_STATE: rng.uniform(-30, 30, NUM_JOINTS).astype(np.float32),
        TASK: "pick up the red cube",
    }


def flops_per_chunk(checkpoint: Path) -> float:
    """Forward FLOPs of one chunk (batch 1), counted by torch (multiply-add = 2 FLOPs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from vla.policy import VLAPolicy

    policy = VLAPolicy.from_checkpoint(checkpoint)
    batch = policy.batch_from_observation(sample_observation(policy.config.cameras, policy.image_size))
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        policy.model(batch)
    return float(counter.get_total_flops())


def measure_latency(
    checkpoint: Path, export: Path, variants: list[str], threads: int, calls: int, cuda: bool
) -> list[Latency]:
    import torch

    from vla.policy import VLAPolicy
    from vla.runtime import RuntimePolicy

    torch.set_num_threads(threads)
    torch_policy = VLAPolicy.from_checkpoint(checkpoint)
    obs = sample_observation(torch_policy.config.cameras, torch_policy.image_size)
    backends: dict[tuple[str, str], Callable[[], object]] = {}
    cpu = f"CPU, {threads} threads"
    for variant in variants:
        runtime = RuntimePolicy(export, variant=variant, threads=threads)
        backends[(f"onnxruntime {variant}", cpu)] = lambda r=runtime: r.infer(obs)
    backends[("torch eager", cpu)] = lambda: torch_policy.infer(obs)
    if cuda:
        gpu = torch.cuda.get_device_name()
        gpu_policy = VLAPolicy.from_checkpoint(checkpoint, device="cuda")

        def torch_cuda():
            gpu_policy.infer(obs)  # returns numpy: synchronises with the GPU

        backends[("torch eager", gpu)] = torch_cuda
        import onnxruntime

        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            print("onnxruntime has no CUDA provider here (install onnxruntime-gpu): GPU rows are torch only")
            variants_gpu = ()
        else:
            variants_gpu = ("fp32", "fp16")
        for variant in variants_gpu:
            runtime = RuntimePolicy(export, variant=variant, provider="cuda")
            backends[(f"onnxruntime {variant}", gpu)] = lambda r=runtime: r.infer(obs)
    results = []
    for (backend, device), seconds in time_blocks(backends, calls).items():
        p50, p99 = np.percentile(seconds, [50, 99]) * 1e3
        results.append(Latency(backend, device, float(p50), float(p99), len(seconds)))
    return sorted(results, key=lambda r: (r.device, r.backend != "torch eager"))  # baseline first
