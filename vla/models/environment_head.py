"""Auxiliary localisation head: object positions read out of the image tokens (a training signal only).

Why: behaviour cloning teaches the vision tower where the cubes are only through the action loss, and
with the joint state as an input that signal is weak. Every policy trained so far extrapolated its
joints and placed the arm from its cameras to ~8 degrees where grasping needs ~1 (docs/LOG.md,
2026-11-28/29). The simulator knows every object's position (`observation.environment_state`, LeRobot's
name for privileged scene state), so the image tokens the language model reads are also trained to
give those positions through one linear map: a direct, dense localisation signal, as auxiliary tasks
give encoders in RL from pixels (Jaderberg et al. 2017, UNREAL) and as grounding data (boxes, points)
gives VLM backbones before they become VLAs (PaliGemma, Molmo).

The head is used by the training loss alone: `infer`, the ONNX export and the robot never run it, and
a policy without it (`environment_state_dim` 0) is unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Smooth-L1 transition in normalised units ([-1, 1] over each value's q01..q99 range). Localisation
# must be good to a few millimetres (~0.03 here), where a squared loss has almost no gradient left.
SMOOTH_L1_BETA = 0.02


class EnvironmentStateHead(nn.Module):
    """(B, N*P, D) image tokens of all cameras -> (B, E) normalised environment state."""

    def __init__(self, image_tokens: int, width: int, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(image_tokens * width, dim)

    def forward(self, image_tokens: torch.Tensor) -> torch.Tensor:
        return self.proj(self.norm(image_tokens).flatten(1))  # (B, E)


def environment_state_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 between predicted and recorded environment state (B, E), both normalised."""
    return F.smooth_l1_loss(predicted.float(), target.float(), beta=SMOOTH_L1_BETA)
