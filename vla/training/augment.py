"""Batch augmentation (torch, on the training device): image shifts and colour jitter, joint-state noise.

Random shifts (pad and crop by up to `max_shift_px`) are the augmentation of DrQ (Kostrikov et al. 2020)
and diffusion_policy's crop; brightness/contrast jitter covers lighting. Applied per image.

State noise is against the copycat shortcut (Wen et al. 2020, "Fighting Copycat Agents"): with exact
joint readings a chunk is well predicted by extrapolating the joints, and the policy learns to ignore
its cameras (docs/LOG.md, 2026-11-28: swapping the state moves the arm error 24 degrees, swapping the
images 0.5). Noisy readings make the images worth reading. State dropout goes further: on a share of the
samples the state token carries nothing (all zeros, which no real reading is exactly), so those chunks
must come from the cameras and the instruction alone.
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


def perturb_state(state: torch.Tensor, std: float) -> torch.Tensor:
    """(B, S) normalised joint state -> same shape plus Gaussian noise of `std` (normalised units)."""
    if std <= 0.0:
        return state
    return state + torch.randn_like(state) * std


def drop_state(state: torch.Tensor, probability: float) -> torch.Tensor:
    """(B, S) normalised joint state -> same shape, each sample's row zeroed with `probability`."""
    if probability <= 0.0:
        return state
    keep = torch.rand(state.shape[0], 1, device=state.device) >= probability  # (B, 1)
    return state * keep
