"""Parallel-decoding action head: the whole chunk of control tokens from one forward pass.

As in OpenVLA-OFT (Kim et al. 2025), learned query tokens are appended to the sequence instead of
decoding tokens one by one; each query's final hidden state gives the logits of one time step's
control tokens for every action dimension. The cost of a chunk is one pass of T extra tokens, not
T x A sequential decoding steps.
"""

from __future__ import annotations

import torch
from torch import nn


class ActionHead(nn.Module):
    """T learned queries in, (B, T, A, n_bins) control-token logits out."""

    def __init__(self, width: int, chunk_length: int, action_dim: int, n_bins: int):
        super().__init__()
        self.chunk_length, self.action_dim, self.n_bins = chunk_length, action_dim, n_bins
        self.queries = nn.Parameter(torch.randn(chunk_length, width) * 0.02)  # (T, D)
        self.norm = nn.LayerNorm(width)
        self.to_logits = nn.Linear(width, action_dim * n_bins)

    def query_tokens(self, batch: int) -> torch.Tensor:
        """(B, T, D) queries to append to the language model's input sequence."""
        return self.queries.unsqueeze(0).expand(batch, -1, -1)

    def forward(self, query_states: torch.Tensor) -> torch.Tensor:
        """(B, T, D) final hidden states at the query positions -> (B, T, A, n_bins) logits."""
        logits = self.to_logits(self.norm(query_states))  # (B, T, A * n_bins)
        return logits.unflatten(-1, (self.action_dim, self.n_bins))
