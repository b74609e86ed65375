"""The instruction pointer: the words pick what they name among the image tokens, and the policy acts on it.

Why: the shipped policy reaches its instruction through a choice among four cube slots and nine
destinations stored in its config (task_choice.py). A new combination lands on the nearest trained task,
and an object that is not there is still "chosen". Here nothing is enumerated: the instruction is matched
against every image token of every camera, as the point-then-act VLAs do (a point or box first, then the
actions: RoboPoint, embodied chain-of-thought, MolmoAct), and as DETR answers "no object".

How, per role r (the object acted on, then its destination), from instruction features (B, F) and image
tokens (B, M, D):

    scores over   [M image tokens] [a place the words name] [nothing in view]
                   query_r . key_m    place logit_r           null logit_r        -> one softmax

- An image token's key is a map of its features; the query, the place and the null logits are maps of
  the instruction. "Place" covers a destination that is not an object ("push it left": a side of the
  table; "pick it up": none), so that role never has to point at an arbitrary token.
- The role's position (x, y, z, normalised as the environment state's task values) is the average, under
  the softmax renormalised without the null, of each token's read-out position (a learnt per-token
  offset, where its patch sits on average, plus a map of its features and the role's query: a token can
  hold two objects) and the place's position (a map of the instruction). Simulator labels train these
  six values (the environment state's last six, the task values every scene records) and, through the
  front camera, which token each role should point at (vla/training/pointing_labels.py) when the run has
  them; without labels the same module is trained by the actions.
- The role's pointed features: the same renormalised average of the image tokens themselves (B, R, D).
- Why without the null: the null is the refusal's, and what the actions read is where the words point
  if the object is in view. Averaged under the full softmax, a null at p shrank the position towards the
  table's centre and the features towards zero by 1 - p, so a null trained to refuse more (more absent
  episodes, a class-balanced loss) could cost acting where the object is there; when it was trained so,
  training compositions fell from 36.4 to 11-17 % (docs/LOG.md, 2026-12-07 night).
- abstain = 1 - prod_r (1 - p_null_r), as in abstain_head.py, whose head this one extends with the place
  option and the read-outs: the null's share is the chance that the role's object is nowhere in view.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from vla.models.abstain_head import KEY_DIM, ROLES, AbstainHead, own_slices, per_role
from vla.models.pointer_heatmap import PointerHeatmap
from vla.models.role_words import RoleWords

AXES = 3  # x, y, z of each role's position
READOUT_WIDTH = 256  # the token read-out's hidden width


class InstructionPointer(AbstainHead):
    """Instruction features (B, F), or each role's own (B, R, F) (`role_words`), and image tokens (B, M, D)
    -> each role's distribution over the image tokens, a place and nothing (`log_role_absence`), its
    position and pointed features (`point`) and `abstain`."""

    # Its parameters train at 10x the run's learning rate (vla/training/optim.py): it starts from scratch
    # beside a pretrained backbone, and at the backbone's 2e-4 its weights stayed at their initial scale
    # over 1,000 steps (token offsets at most 0.067 where the table spans +-1; positions 5.7 cm off:
    # docs/LOG.md, 2026-12-07, late morning).
    lr_scale = 10.0

    def __init__(
        self,
        instruction_dim: int,
        width: int,
        image_tokens: int,
        key_dim: int = KEY_DIM,
        heatmap: PointerHeatmap | None = None,
        heatmap_camera: int = 0,
        role_words: RoleWords | None = None,
    ):
        """`heatmap` (pointer_heatmap.py): the x, y of camera `heatmap_camera`'s tokens (its index among
        the cameras) come from where in them it points; None: every token's from its features.
        `role_words` (role_words.py): what the policy uses to give each role its own instruction features
        from the words (it runs outside `point`, which takes its output); None: one sentence for both."""
        super().__init__(instruction_dim, width, ROLES, key_dim)
        self.role_words = role_words
        self.place_logits = nn.Linear(instruction_dim, ROLES)
        # The scores' sharpness, learnt (log, from x4): a position averaged over several tokens lies between
        # them, so pointing must be able to put nearly all of a role's weight on one token.
        self.score_scale = nn.Parameter(torch.tensor(float(np.log(4.0))))
        self.place_positions = nn.Linear(instruction_dim, ROLES * AXES)
        # A token's position as each role reads it: where its patch sits on average (learnt per token,
        # (M, R, 3)) plus what its features say of the object the words name in it. A token covers 32 x 32
        # px of a 128 px camera (a pixel-shuffled 2 x 2 of 16 px patches), where the objects stand 2-4 cm
        # apart: one token often holds two of them (the front camera puts a stack's cube and its base in
        # one token), so the read-out hears the role's query too (`position_queries`, zero at first). Its
        # last layer is per role, so that a role whose position comes from the words (a push's side)
        # cannot bend the other role's read-out to it.
        self.token_offsets = nn.Parameter(torch.zeros(image_tokens, ROLES, AXES))
        self.token_norm = nn.LayerNorm(width)
        self.position_queries = nn.Linear(instruction_dim, ROLES * width)
        nn.init.zeros_(self.position_queries.weight)
        nn.init.zeros_(self.position_queries.bias)
        self.token_positions = nn.Sequential(
            nn.Linear(width, READOUT_WIDTH), nn.GELU(), nn.Linear(READOUT_WIDTH, ROLES * AXES)
        )
        self.heatmap, self.heatmap_camera = heatmap, heatmap_camera

    def log_role_absence(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, frames: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B, R, M + 2) log-softmax over each role's token scores, its place logit and its null logit (the
        last, which AbstainHead reads as "not in view"; the place counts as found). `frames` (B, N, 3, H, W)
        in [0, 1]: the cameras' images, which the heatmap reads (needed with one)."""
        return self.scored(instruction, image_tokens, self.front_cell_scores(instruction, frames))

    def front_cell_scores(
        self, instruction: torch.Tensor, frames: torch.Tensor | None
    ) -> torch.Tensor | None:
        """(B, R, g*g, c*c) the heatmap's scores of the front camera's cells, or None without a heatmap."""
        if self.heatmap is None:
            return None
        if frames is None:
            raise ValueError("a pointer with a heatmap needs the camera frames")
        return self.heatmap.cell_scores(instruction, frames[:, self.heatmap_camera])

    def scored(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, cell_scores: torch.Tensor | None
    ) -> torch.Tensor:
        """`log_role_absence` from the heatmap's (B, R, g*g, c*c) `cell_scores` already computed (or None)."""
        features = self.instruction_norm(per_role(instruction.float(), self.roles))  # (B, R, F)
        queries = own_slices(self.queries(features), self.roles)  # (B, R, K)
        keys = self.keys(image_tokens.float())  # (B, M, K)
        scores = queries @ keys.transpose(1, 2) * self.score_scale.exp() / self.key_dim**0.5  # (B, R, M)
        if cell_scores is not None:  # the front tokens' cells vote too (pointer_heatmap.py)
            first, last = self.front_tokens(cell_scores)
            front = scores[:, :, first:last] + self.heatmap.token_evidence(cell_scores)
            scores = torch.cat([scores[:, :, :first], front, scores[:, :, last:]], dim=-1)
        place = own_slices(self.place_logits(features), self.roles)  # (B, R, 1)
        null = own_slices(self.null_logits(features), self.roles)  # (B, R, 1)
        return torch.cat([scores, place, null], dim=-1).log_softmax(dim=-1)

    def front_tokens(self, cell_scores: torch.Tensor) -> tuple[int, int]:
        """The first and one-past-last index of the heatmap camera's tokens among the M."""
        tokens = cell_scores.shape[2]
        return self.heatmap_camera * tokens, (self.heatmap_camera + 1) * tokens

    def point(
        self, instruction: torch.Tensor, image_tokens: torch.Tensor, frames: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, R * 3) each role's position, normalised, and (B, R, D) its pointed image features. `frames`
        (B, N, 3, H, W) in [0, 1]: the cameras' images, which the heatmap reads (needed with one)."""
        cell_scores = self.front_cell_scores(instruction, frames)
        # the tokens' and the place's weights, renormalised without the null (the last): see the docstring
        logs = self.scored(instruction, image_tokens, cell_scores)  # (B, R, M + 2)
        weights = logs[..., :-1].softmax(dim=-1)  # (B, R, M + 1)
        tokens = weights[..., :-1]  # (B, R, M)
        features = self.instruction_norm(per_role(instruction.float(), self.roles))  # (B, R, F)
        position_queries = own_slices(self.position_queries(features), self.roles)  # (B, R, D)
        conditioned = self.token_norm(image_tokens.float()).unsqueeze(1) + position_queries.unsqueeze(2)
        read = self.token_positions(conditioned)  # (B, R, M, R * 3)
        # each role's own last layer, plus where its token sits on average
        token_xyz = own_slices(read, self.roles) + self.token_offsets.transpose(0, 1)  # (B, R, M, 3)
        if cell_scores is not None:
            token_xyz = self.heatmap_positions(token_xyz, cell_scores)
        pointed_xyz = torch.einsum("brm,brmx->brx", tokens, token_xyz)  # (B, R, 3)
        place_xyz = own_slices(self.place_positions(features), self.roles)  # (B, R, 3)
        positions = pointed_xyz + weights[..., -1:] * place_xyz  # (B, R, 3)
        return positions.flatten(1), tokens @ image_tokens.float()

    def heatmap_positions(self, token_xyz: torch.Tensor, cell_scores: torch.Tensor) -> torch.Tensor:
        """(B, R, M, 3) the tokens' read-out with the heatmap camera's x, y replaced by where in each of its
        tokens the heatmap's (B, R, g*g, c*c) `cell_scores` point, at the height the features read out
        (which stays the z)."""
        first, last = self.front_tokens(cell_scores)
        height = token_xyz[:, :, first:last, 2]  # (B, R, g*g)
        fine_xy = self.heatmap.cell_positions(cell_scores, height)  # (B, R, g*g, 2)
        camera = torch.cat([fine_xy, token_xyz[:, :, first:last, 2:]], dim=-1)
        return torch.cat([token_xyz[:, :, :first], camera, token_xyz[:, :, last:]], dim=2)
