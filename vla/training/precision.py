"""Autocast precision for training, shared by `vla train` and the LeRobot baselines (`--optim.precision`).

bf16 autocast keeps weights and optimizer state in fp32 and runs matmuls and convolutions in bf16. On CUDA
it is the default. On a CPU with AVX-512 bf16 or AMX units it is worth asking for: on CPU-2 (AMD EPYC,
avx512_bf16) nano trains ~1.3x, LeRobot's ACT 2.1-2.5x and Diffusion 1.4-1.5x faster than in fp32
(docs/LOG.md, 2026-12-01). On CPUs without those units torch emulates it: on an AVX2-only EPYC nano's
streamed training step took 38 s in bf16 against 2.9 s in fp32 (docs/LOG.md, 2026-12-02 evening), so
asking for bf16 there prints a warning.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used, so that the CLI can read PRECISIONS cheaply
    import torch

PRECISIONS = ("auto", "bf16", "fp32")  # auto: bf16 on CUDA, fp32 elsewhere


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"--optim.precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")


def uses_bf16(precision: str, device: torch.device) -> bool:
    check_precision(precision)
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def cpu_has_bf16_units() -> bool | None:
    """Whether this CPU runs bf16 matmuls in hardware (AVX-512 bf16 or AMX tiles); None where this torch
    cannot tell (the probes are private to torch.cpu)."""
    import torch

    probes = [
        getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    ]
    probes = [probe for probe in probes if probe is not None]
    return any(probe() for probe in probes) if probes else None


def autocast_for(precision: str, device: torch.device):
    """A context manager: bf16 autocast on `device`, or nothing (fp32)."""
    if uses_bf16(precision, device):
        import torch

        if device.type == "cpu" and cpu_has_bf16_units() is False:
            print(
                "warning: --optim.precision bf16 on a CPU without AVX-512 bf16 or AMX units: torch emulates "
                "bf16 "
                "here, which can be ~10x slower than --optim.precision fp32",
                file=sys.stderr,
            )

        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
