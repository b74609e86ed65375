"""Each role's own reading of the instruction's words: which of them name the task object, which its
destination.

Why: the instruction pointer's queries were maps of one sentence embedding (MiniLM, mean-pooled), and a
mean over the words barely tells "stack the red cube on the blue cube" from "stack the blue cube on the
red cube". The hv run's destination landed on the cube to be moved in 15 of 20 stacks, 2.0 cm from it and
6.5 cm from the base (`bench/pointer_accuracy.py`, `closer_to_other_role`; docs/LOG.md, 2026-12-08), and
stacks are 20 of the 44 training compositions. Reading the words in their places lets each role take its
own colour word whatever the other role's is, so a composition never trained is two words seen in their
places (as MDETR and CLIPort condition on word tokens rather than on one sentence vector).

How, per role r and word l of the instruction (pads masked out):

    h_l        = norm(e_l) + context(norm(e_{l-1}), norm(e_{l+1}))                (B, L, D)
    key_l      = keys(h_l + from_start[l] + from_end[n - 1 - l])
    pooled_r   = sum_l softmax_l(query_r . key_l) h_l                              (B, R, D)
    features_r = out(pooled_r)                                                     (B, R, F)

with n the instruction's word count. `from_start` and `from_end` are learnt embeddings of a word's index
from either end ("the colour after `on the`" is second from the end in every stack template); the
neighbours tell "the red cube" from "the red bowl". A word carries its neighbours in what it gives as
well as in its key: with the neighbours in the key only, the object role of a run settled on the "the"
before the colour (its key said "a colour follows"), pooled a word that names nothing, and pointed at the
right cube on 23 % of first frames (docs/LOG.md, 2026-12-08). `context` starts at zero. The features are
the words' alone: beside the sentence embedding (added to it), the synthetic test of
tests/test_role_words.py learnt each trained order by heart and found 52-88 % of held-out orders; from
the words alone, all of them.
"""

from __future__ import annotations

import torch
from torch import nn

KEY_DIM = 64


class RoleWords(nn.Module):
    """Word embeddings (B, L, D) and their mask (B, L) -> each role's instruction features (B, R, F)."""

    def __init__(
        self, instruction_dim: int, word_dim: int, roles: int, max_words: int, key_dim: int = KEY_DIM
    ):
        super().__init__()
        self.key_dim = key_dim
        self.word_norm = nn.LayerNorm(word_dim)
        # Places at the normalised words' own scale, and unit queries: "where" is as loud as "which word"
        # from the start. At 0.02 (a transformer's usual init) the destination of tests/test_role_words.py
        # was right 59 % of the time after 600 steps.
        self.from_start = nn.Parameter(torch.randn(max_words, word_dim))  # (L, D)
        self.from_end = nn.Parameter(torch.randn(max_words, word_dim))  # (L, D)
        self.keys = nn.Linear(word_dim, key_dim)
        self.context = nn.Linear(2 * word_dim, word_dim, bias=False)  # the words before and after
        nn.init.zeros_(self.context.weight)
        self.queries = nn.Parameter(torch.randn(roles, key_dim))  # (R, K)
        self.out = nn.Linear(word_dim, instruction_dim)

    def forward(self, embeddings: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """`present` (B, L) bool: the instruction's words, False at pads (an instruction with none pools
        nothing: every role gets `out`'s bias)."""
        length = embeddings.shape[1]
        mask = present.float().unsqueeze(-1)  # (B, L, 1)
        words = self.word_norm(embeddings.float()) * mask  # (B, L, D), zero at pads
        index = torch.arange(length, device=words.device)  # (L,)
        count = mask.sum(dim=1)  # (B, 1)
        # index from the end (at most count - 1 <= L - 1), 0 at pads (which the mask drops)
        from_end = (count - 1.0 - index.float()).relu().long()  # (B, L)
        before = torch.cat([torch.zeros_like(words[:, :1]), words[:, :-1]], dim=1)  # (B, L, D)
        after = torch.cat([words[:, 1:], torch.zeros_like(words[:, :1])], dim=1)  # (B, L, D)
        in_context = (words + self.context(torch.cat([before, after], dim=-1))) * mask  # (B, L, D)
        keys = self.keys(in_context + self.from_start[:length] + self.from_end[from_end])  # (B, L, K)
        scores = torch.einsum("rk,blk->brl", self.queries, keys) / self.key_dim**0.5  # (B, R, L)
        scores = scores.masked_fill(~present.unsqueeze(1), -1e4)
        weights = scores.softmax(dim=-1) * mask.transpose(1, 2)  # (B, R, L); all zero with no words
        return self.out(weights @ in_context)  # (B, R, F)
