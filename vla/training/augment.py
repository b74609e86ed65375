"""Batch augmentation (torch, on the training device): image shifts and colour jitter.

Random shifts (pad and crop by up to `max_shift_px`) are the augmentation of DrQ (Kostrikov et al. 2020)
and diffusion_policy's crop; brightness/contrast jitter covers lighting. Applied per image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def augment_images(images: torch.Tensor, max_shift_px: int = 6, jitter: float = 0.15) -> torch.Tensor:
    """(B, N, 3, H, W) float in [0, 1] -> same shape, shifted and colour-jittered independently."""
    b, n, c, h, w = images.shape
    flat = images.flatten(0, 1)  # (B*N, 3, H, W)
    padded = F.pad(flat, [max_shift_px] * 4, mode="replicate")
    # Integer shifts via a grid of crops: one (dx, dy) per image.
    dx = torch.randint(0, 2 * max_shift_px + 1, (flat.shape[0],), device=images.device)
    dy = torch.randint(0, 2 * max_shift_px + 1, (flat.shape[0],), device=images.device)
    rows = dy[:, None] + torch.arange(h, device=images.device)[None]  # (BN, H)
    cols = dx[:, None] + torch.arange(w, device=images.device)[None]  # (BN, W)
    index = torch.arange(flat.shape[0], device=images.device)[:, None, None]
    shifted = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    brightness = 1.0 + (torch.rand(flat.shape[0], 1, 1, 1, device=images.device) * 2 - 1) * jitter
    contrast = 1.0 + (torch.rand(flat.shape[0], 1, 1, 1, device=images.device) * 2 - 1) * jitter
    mean = shifted.mean(dim=(1, 2, 3), keepdim=True)
    out = ((shifted - mean) * contrast + mean) * brightness
    return out.clamp(0.0, 1.0).reshape(b, n, c, h, w)
