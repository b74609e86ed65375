"""The pointer's heatmap: where inside each front-camera token the words point, to a few pixels.

Why: the instruction pointer (pointer.py) chooses among image tokens of 32 x 32 px, and reads a position
out of the chosen token's features. After 1,000 CPU steps it chose the task object's token 79.5 % of the
time, yet its position was 5.7 cm off (median), where a 3 cm cube needs about 0.5 cm (docs/LOG.md,
2026-12-07). A token's features are a 16-dimensional summary of 1,024 pixels; the pixels themselves say
where the red in them is. The point-then-act VLAs point in pixels (RoboPoint, MolmoAct) for this reason.

How, from the front camera's frame (B, 3, H, W) and the instruction features (B, F):

- A small convolutional net maps the frame to keys on a grid of cells of CELL_PX x CELL_PX px
  (B, K, H / CELL_PX, W / CELL_PX); each role's query (a map of the instruction) scores every cell.
- Within each token, a softmax over its cells gives where in that token the role's object is: the
  cells' average image coordinates (u, v), normalised to [-1, 1] over the whole image.
- A small net maps (u, v) and the position's height z to its x, y on the table (normalised as the task
  values): the front camera is fixed, so this map is one smooth function of the pixel and the height,
  learnt from the recorded positions when the run has labels and from the actions when it has none.
  It needs z: the camera looks down at about 57 degrees, so an object held 5 cm up shows at the pixel of
  a table point about 3 cm farther along its axis. Fed (u, v) alone, the first map learnt the average
  lift of its training positions: 1.95 cm off at the exact pixel of resting objects, +2.4 cm of it a bias
  along x (docs/LOG.md, 2026-12-07). z comes from the token's own read-out (pointer.py), detached: the
  map is geometry, and z learns from its own position loss.

The cells also vote on which token: each front token's score in the pointer's softmax gets the
`token_evidence` of its cells (their scores' log-mean-exp, times a learnt weight), so "is the named object
anywhere in view" is checked against pixels as well as against the backbone's 32 px tokens. Why: read
from those tokens alone, the null ("nothing in view") could not tell a scene without the named object from
one with it (AUROC 0.49 on first frames of validation layouts, `bench/abstain_first_frames.py`, once the
training stream held every absent-object task: docs/LOG.md, 2026-12-07 evening), and the pointer chose the
task object's token 61-75 % of the time. The pointer still decides which token (or the place, or
nothing); the heatmap replaces the front tokens' read-out of x, y. Trained with labels, the cells learn
by cross-entropy against the pixel that shows each role's recorded position (pointing_labels.py
`cell_loss`), and the tokens' scores, cells included, against the token that shows it (`loss`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vla.models.abstain_head import own_slices, per_role
from vla.runtime.errors import BadInputError

CELL_PX = 4  # a heatmap cell's side, px
CHANNELS = 48  # the convolutional net's width
MAP_WIDTH = 128  # the pixel-to-table map's hidden width


def cell_centres(image_hw: tuple[int, int], grid: int) -> torch.Tensor:
    """(g*g, c*c, 2) the normalised (u, v) in [-1, 1] of every cell's centre, by token (row-major, as the
    pixel shuffle keeps them) and by cell within the token (row-major); c = cells per token side."""
    height, width = image_hw
    rows, columns = height // CELL_PX, width // CELL_PX
    row_centres = (torch.arange(rows) + 0.5) / rows * 2 - 1
    column_centres = (torch.arange(columns) + 0.5) / columns * 2 - 1
    v, u = torch.meshgrid(row_centres, column_centres, indexing="ij")
    centres = torch.stack([u, v], dim=-1)  # (rows, columns, 2)
    side = rows // grid
    by_token = centres.view(grid, side, grid, side, 2).permute(0, 2, 1, 3, 4)  # (g, g, c, c, 2)
    return by_token.reshape(grid * grid, side * side, 2)


def check_heatmap_weights(weights: dict, source: str) -> None:
    """BadInputError naming `source` for a state dict whose pointer heatmap predates its cells' vote on the
    tokens (no `token_weight`): its pointer was trained to choose tokens without that evidence, and loading
    it here would change what it does. Such a run is still read by the commit it was trained at."""
    heatmap_keys = [k for k in weights if ".heatmap." in k]
    if heatmap_keys and not any(k.endswith(".heatmap.token_weight") for k in heatmap_keys):
        raise BadInputError(
            f"{source}: this policy's pointer heatmap predates its cells scoring the tokens (and its map "
            "reading the height); run it at the commit it was trained at "
            "(git log -- vla/models/pointer_heatmap.py)"
        )


class PointerHeatmap(nn.Module):
    """Front frame (B, 3, H, W) in [0, 1] and instruction features (B, F), or each role's (B, R, F) -> per
    role and front token, the log-softmax over that token's cells (`log_cells`) and the table x, y it
    points at (`token_positions`)."""

    def __init__(self, instruction_dim: int, roles: int, grid: int, image_hw: tuple[int, int], key_dim: int):
        super().__init__()
        height, width = image_hw
        if height % (CELL_PX * grid) or width % (CELL_PX * grid):
            raise ValueError(
                f"a {height} x {width} px camera with {grid} x {grid} tokens does not tile into "
                f"{CELL_PX} px heatmap cells"
            )
        self.roles, self.grid, self.key_dim = roles, grid, key_dim
        # 128 px -> 32 cells through two stride-2 layers; receptive field 15 px, about a cube's size
        self.keys = nn.Sequential(
            nn.Conv2d(3, CHANNELS, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(CHANNELS, CHANNELS, 3, stride=2, padding=1),
            nn.GELU(),
            nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1),
            nn.GELU(),
            nn.Conv2d(CHANNELS, key_dim, 1),
        )
        self.instruction_norm = nn.LayerNorm(instruction_dim)
        self.queries = nn.Linear(instruction_dim, roles * key_dim)
        self.register_buffer("centres", cell_centres(image_hw, grid), persistent=False)
        self.token_weight = nn.Parameter(torch.tensor(1.0))  # the cells' say in the token scores
        self.table_map = nn.Sequential(
            nn.Linear(3, MAP_WIDTH),
            nn.GELU(),
            nn.Linear(MAP_WIDTH, MAP_WIDTH),
            nn.GELU(),
            nn.Linear(MAP_WIDTH, 2),
        )

    def cell_scores(self, instruction: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """(B, R, g*g, c*c): per role, front token and cell within it, the query's score of the cell."""
        keys = self.keys(frame.float() * 2.0 - 1.0)  # (B, K, rows, columns)
        features = self.instruction_norm(per_role(instruction.float(), self.roles))  # (B, R, F)
        queries = own_slices(self.queries(features), self.roles)  # (B, R, K)
        scores = torch.einsum("brk,bkhw->brhw", queries, keys) / self.key_dim**0.5  # (B, R, rows, columns)
        b, r, rows, _ = scores.shape
        side = rows // self.grid
        by_token = scores.view(b, r, self.grid, side, self.grid, side).permute(0, 1, 2, 4, 3, 5)
        return by_token.reshape(b, r, self.grid**2, side * side)

    def log_cells(self, instruction: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
        """(B, R, g*g, c*c): per role and front token, the log-softmax over the token's cells."""
        return self.cell_scores(instruction, frame).log_softmax(dim=-1)

    def token_evidence(self, cell_scores: torch.Tensor) -> torch.Tensor:
        """(B, R, g*g) what a token's (B, R, g*g, c*c) cells add to its score in the pointer's softmax: their
        log-mean-exp (a soft maximum: one cell that shows the object is enough), times `token_weight`."""
        cells = cell_scores.shape[-1]
        return self.token_weight * (torch.logsumexp(cell_scores, dim=-1) - math.log(cells))

    def table_xy(self, pixel: torch.Tensor, height: torch.Tensor) -> torch.Tensor:
        """(..., 2) normalised (u, v) in [-1, 1] and (...) normalised z -> (..., 2) the normalised table
        x, y of the point at that height that the pixel shows."""
        return self.table_map(torch.cat([pixel, height.unsqueeze(-1)], dim=-1))

    def token_positions(
        self, instruction: torch.Tensor, frame: torch.Tensor, height: torch.Tensor
    ) -> torch.Tensor:
        """(B, R, g*g, 2) per role and front token, the table x, y (normalised) of where in it the role's
        object is; `height` (B, R, g*g): the object's normalised z as each token reads it."""
        return self.cell_positions(self.cell_scores(instruction, frame), height)

    def cell_positions(self, cell_scores: torch.Tensor, height: torch.Tensor) -> torch.Tensor:
        """`token_positions` from the (B, R, g*g, c*c) `cell_scores` already computed."""
        weights = cell_scores.softmax(dim=-1)  # (B, R, g*g, c*c)
        pixel = torch.einsum("brtc,tcx->brtx", weights, self.centres)  # (B, R, g*g, 2)
        return self.table_xy(pixel, height.detach())
