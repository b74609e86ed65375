"""A convolutional stem for the from-scratch vision tower, in place of the ViT's patchify layer.

SigLIP-style towers cut the image into 16 x 16 patches with one strided linear map. Trained from scratch
on little data, that layer learns slowly where inside its patch a small object sits, which is what a
policy needs here: a 3 cm cube spans ~8 px of the 128 px front camera, and grasping it needs its
position to a few millimetres (~1-2 px). Xiao et al. 2021, "Early Convolutions Help Transformers See
Better", replace patchify with a few stride-2 3 x 3 convolutions (24, 48, 96, 192 channels for their
smallest model, then a 1 x 1 projection) and report faster, more stable optimisation at the same cost.
Measured here (docs/LOG.md, 2026-12-01): regressing the six objects' positions from the front camera
with nano's tower alone, the held-out error after 64k samples was 8.0 mm with a stem like this one
(32, 64, 128, 192 channels) against 12.0 mm with patchify (`bench/localisation_probe.py`).

Output shape equals patchify's, (B, D, H / patch, W / patch), so the tower's position embeddings and
layers are unchanged. Pretrained towers (`--policy.backbone`) keep their own patchify weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ConvStem(nn.Module):
    """(B, 3, H, W) -> (B, width, H / patch, W / patch): log2(patch) stride-2 3x3 convs, then a 1x1."""

    def __init__(self, width: int, patch_size: int):
        super().__init__()
        stages = round(math.log2(patch_size))
        if 2**stages != patch_size:
            raise ValueError(f"a convolutional stem needs a power-of-two patch size, got {patch_size}")
        # Channels double per stage up to the tower's width (192: 24, 48, 96, 192, as Xiao et al.).
        channels = [max(8, width >> (stages - 1 - i)) for i in range(stages)]
        layers: list[nn.Module] = []
        previous = 3
        for out in channels:
            # GroupNorm(1) normalises each image on its own: no batch statistics to carry into export.
            layers += [nn.Conv2d(previous, out, 3, stride=2, padding=1), nn.GroupNorm(1, out), nn.GELU()]
            previous = out
        layers.append(nn.Conv2d(previous, width, 1))
        self.layers = nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.layers(pixels)
