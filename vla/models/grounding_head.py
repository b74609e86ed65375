"""Grounding: a query after the instruction that must say where the objects it names are.

Why: a policy that reads object positions out of its images still has to pick, from the words, which
object to act on and where it goes. Learnt through the action loss alone, that choice came slowly: a
nano trained for 3,500 steps with the localisation head (5 mm on every object) still drove the arm to
the middle of the cubes whatever the instruction said, and swapping its images or its instruction moved
its actions by less than half a degree (docs/LOG.md, 2026-12-01). Embodied chain-of-thought VLAs
(Zawalski et al. 2024) make the model first state the bounding boxes of the objects the instruction is
about and then act; here one learned query token sits between the words and the action queries, and its
final hidden state regresses the positions of the instruction's object and destination (the last
`grounding_dims` values of `observation.environment_state`, sim/env.py `TASK_STATE_NAMES`). The action
queries come after it in the causal sequence, so they read what it has gathered.

The head is a training signal: at inference the query is still in the sequence (the actions attend to
it), but its regression output is not used and needs no privileged input.
"""

from __future__ import annotations

import torch
from torch import nn


class GroundingHead(nn.Module):
    """One learned query token (1, D) for the sequence, and its final hidden state (B, D) -> (B, G)."""

    def __init__(self, width: int, dims: int):
        super().__init__()
        self.query = nn.Parameter(torch.randn(1, width) * 0.02)  # (1, D)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dims)

    def query_token(self, batch: int) -> torch.Tensor:
        """(B, 1, D): the query, placed after the instruction's words."""
        return self.query.unsqueeze(0).expand(batch, -1, -1)

    def forward(self, query_state: torch.Tensor) -> torch.Tensor:
        """(B, D) final hidden state at the query -> (B, G) normalised positions of the named objects."""
        return self.proj(self.norm(query_state))
