"""`abstain`: the probability that the instruction names something the cameras do not show.

Why: a policy whose instruction reaches the actions only as a choice among what it was trained on grasps
*something* when told to pick up an object that is not there (19 of 20 absent-object episodes, with its
usual confidence: docs/RESULTS.md). Saying "not here" needs the words matched against the image, and an
explicit "nothing matches" outcome, as DETR's no-object class and MolmoPoint's no-more-points class do.

How (no object, colour or destination is enumerated): R role queries, each a map of the instruction
features, score every image token (pre-language-model, all cameras) by a scaled dot product; a per-role
null logit, also read from the instruction, joins those scores in one softmax. The null's share is the
chance that the role's object is nowhere in view, and

    abstain = 1 - prod_r (1 - p_null_r)

is high when some role finds nothing. A role the instruction gives no object ("push the cube left" names
no destination object) learns a null logit far below any score, so it never refuses. (A separate gate
from the instruction, needs_r * p_null_r, was tried first: on the synthetic grounding test of
tests/test_abstain.py it learnt the instruction-only prior and stayed at 74 % on unseen combinations,
where the plain null reaches 100 %.) The roles are not labelled: the head learns them
from one episode flag, whether the demonstration touches nothing (vla/training/abstain_labels.py), which is
read off the recorded actions, so a teleoperated dataset trains it as a simulated one does.
"""

from __future__ import annotations

import torch
from torch import nn

ROLES = 2  # the object acted on and the destination
KEY_DIM = 64


def per_role(instruction: torch.Tensor, roles: int) -> torch.Tensor:
    """(B, F) instruction features, the same for every role, or each role's own (B, R, F) -> (B, R, F)."""
    if instruction.dim() == 3:
        return instruction
    return instruction.unsqueeze(1).expand(-1, roles, -1)


def own_slices(mapped: torch.Tensor, roles: int) -> torch.Tensor:
    """(B, R, ..., R * k) a map applied to each role's features -> (B, R, ..., k), role r's slice of its own
    row (an export-safe diagonal over dimension 1 and the last). With every role's features the same it is
    the map's (B, R * k) seen as (B, R, k), so a head whose map gives all roles' slices from one vector
    reads per-role features unchanged."""
    middle = [1] * (mapped.dim() - 3)  # the dimensions between the role and the map's output
    eye = torch.eye(roles, dtype=mapped.dtype, device=mapped.device).view(1, roles, *middle, roles, 1)
    return (mapped.unflatten(-1, (roles, -1)) * eye).sum(dim=-2)


class AbstainHead(nn.Module):
    """Instruction features (B, F) and image tokens (B, M, D) -> abstain probability (B,)."""

    def __init__(self, instruction_dim: int, width: int, roles: int = ROLES, key_dim: int = KEY_DIM):
        super().__init__()
        self.roles, self.key_dim = roles, key_dim
        # Sentence embeddings share most of their direction (task_choice.py): normalise before the maps.
        self.instruction_norm = nn.LayerNorm(instruction_dim)
        self.queries = nn.Sequential(
            nn.Linear(instruction_dim, 128), nn.GELU(), nn.Linear(128, roles * key_dim)
        )
        self.null_logits = nn.Linear(instruction_dim, roles)
        self.keys = nn.Sequential(nn.Linear(width, 128), nn.GELU(), nn.Linear(128, key_dim))

    def log_role_absence(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, frames: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, R, M + 1) log-softmax over each role's token scores and its null logit (the last). `frames`:
        the cameras' images, which this head does not read (the instruction pointer's heatmap does)."""
        features = self.instruction_norm(instruction.float())
        queries = self.queries(features).view(-1, self.roles, self.key_dim)  # (B, R, K)
        keys = self.keys(image_tokens.float())  # (B, M, K)
        scores = queries @ keys.transpose(1, 2) / self.key_dim**0.5  # (B, R, M)
        null = self.null_logits(features).unsqueeze(-1)  # (B, R, 1)
        return torch.cat([scores, null], dim=-1).log_softmax(dim=-1)

    def log_probabilities(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, frames: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,) log abstain and (B,) log (1 - abstain), each from log-softmaxes, never from a clamped
        probability: a confidently wrong answer still gets a gradient (a clamp at 1e-6 gave none, and a
        head that had learnt "never" on one batch stayed there, docs/LOG.md).

        1 - abstain = prod_r (1 - p_null_r), and abstain = sum_r p_null_r prod_{s<r} (1 - p_null_s)."""
        logs = self.log_role_absence(instruction, image_tokens, frames)  # (B, R, M + 1)
        log_null = logs[..., -1]  # (B, R)
        log_found = torch.logsumexp(logs[..., :-1], dim=-1)  # (B, R): log (1 - p_null_r)
        found_before = torch.cumsum(log_found, dim=-1) - log_found  # (B, R): sum over s < r
        return torch.logsumexp(log_null + found_before, dim=-1), log_found.sum(dim=-1)

    def forward(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, frames: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.log_probabilities(instruction, image_tokens, frames)[0].exp().clamp(max=1.0)

    def loss(
        self,
        instruction: torch.Tensor,
        image_tokens: torch.Tensor,
        target: torch.Tensor,
        frames: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Binary cross-entropy against (B,) `target` (1: the instruction names nothing in view), and the
        (B,) abstain probability. A plain mean: a class-balanced one (holding and acting samples half each)
        cost the pointer's acting while its pointing read the null (hb), and with the pointing read
        without it, refused 66 % of present layouts at rest (hd; docs/LOG.md, 2026-12-08)."""
        log_abstain, log_act = self.log_probabilities(instruction, image_tokens, frames)
        target = target.float()
        return -(target * log_abstain + (1.0 - target) * log_act).mean(), log_abstain.exp()
