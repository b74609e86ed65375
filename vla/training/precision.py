"""Autocast precision for training, shared by `vla train` and the LeRobot baselines (`--precision`).

bf16 autocast keeps weights and optimizer state in fp32 and runs matmuls and convolutions in bf16. On CUDA
it is the default. On a CPU with AVX-512 bf16 or AMX units it is worth asking for: on CPU-2 (AMD EPYC,
avx512_bf16) nano trains ~1.3x, LeRobot's ACT 2.1-2.5x and Diffusion 1.4-1.5x faster than in fp32
(docs/LOG.md, 2026-12-01); on CPUs without those units it can be slower.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used, so that the CLI can read PRECISIONS cheaply
    import torch

PRECISIONS = ("auto", "bf16", "fp32")  # auto: bf16 on CUDA, fp32 elsewhere


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")


def uses_bf16(precision: str, device: torch.device) -> bool:
    check_precision(precision)
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def autocast_for(precision: str, device: torch.device):
    """A context manager: bf16 autocast on `device`, or nothing (fp32)."""
    if uses_bf16(precision, device):
        import torch

        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
