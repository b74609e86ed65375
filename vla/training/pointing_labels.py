"""Pointing labels: which image tokens show the objects the instruction names, from their recorded positions.

Why: trained from the six task values alone (the softmax's average of per-token read-outs against the
recorded positions), the instruction pointer's first CPU run pointed at the wrong objects: its positions
missed by 0.32 (normalised), and shown the true positions the same weights did 72.7 % of the training
compositions where they did 0 % on their own (docs/LOG.md, 2026-12-07). A position loss tells the pointer
how far its average landed, not which token it should have chosen. Point-then-act VLAs (RoboPoint,
MolmoAct) supervise the point itself; here the simulator's positions give it for free: each role's
recorded position, seen through the front camera (a fixed pinhole, sim/scene.py), falls in one of that
camera's tokens, and the pointer's softmax learns it by cross-entropy.

- Tokens: a camera's P tokens tile its image in a g x g grid (g = sqrt(P), row-major: SmolVLM's pixel
  shuffle keeps the patches' order), each (W / g) x (H / g) px. The target is a Gaussian over the token
  centres (sigma a quarter of a token), so an object on a border is shared by its neighbours.
- Roles without a token: a position outside the front camera's view, and every sample of an episode that
  holds still (absent-object episodes: there the null is the answer, and the abstain loss teaches it).
  A pick's destination is recorded as the world origin (the arm's base, in view), a push's as a point on
  the table: both are pointed at like objects, so the pointer's "place" option is never a target here.
- Only the front camera: the wrist camera moves with the arm, and projecting into it needs the arm's pose
  at every recorded frame, which the training data do not keep.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from sim.scene import SceneConfig, look_at_rotation
from vla.models.configuration_vla import HEATMAP_CAMERA as POINTING_CAMERA
from vla.models.task_choice import TASK_VALUES, metres_from_normalised

SIGMA_TOKENS = 0.25  # the target's Gaussian width, in tokens


@dataclass(frozen=True)
class PointingLabels:
    """Recorded task positions -> each role's target over the image tokens, and the pointing loss.

    `rotation` (3, 3): the camera's x (right), y (up), z (backwards) axes in the world, as columns;
    `position` (3,) m; `focal_px`: the pinhole's focal length; `image_hw`: its size (px); `first_token`:
    the index of the camera's first token among the model's M; `grid`: tokens per side; `low`, `high`
    (6,): the task values' normalisation (m)."""

    weight: float
    rotation: torch.Tensor
    position: torch.Tensor
    focal_px: float
    image_hw: tuple[int, int]
    first_token: int
    grid: int
    low: torch.Tensor
    high: torch.Tensor

    @classmethod
    def front_camera(
        cls,
        weight: float,
        scene: SceneConfig,
        cameras: tuple[str, ...],
        tokens_per_image: int,
        environment_low: np.ndarray,
        environment_high: np.ndarray,
    ) -> PointingLabels:
        """For a model whose `cameras` include the scene's front camera, each with `tokens_per_image`."""
        if POINTING_CAMERA not in cameras:
            raise ValueError(
                f"pointing labels are drawn in the {POINTING_CAMERA!r} camera, which this policy does not "
                f"read (its cameras: {', '.join(cameras)})"
            )
        grid = math.isqrt(tokens_per_image)
        if grid * grid != tokens_per_image:
            raise ValueError(f"{tokens_per_image} tokens per image do not tile a square grid")
        rotation = look_at_rotation(scene.front_camera_eye, scene.front_camera_target)
        focal = scene.image_height / 2 / math.tan(math.radians(scene.front_camera_fovy) / 2)
        return cls(
            weight=weight,
            rotation=torch.as_tensor(rotation, dtype=torch.float32),
            position=torch.as_tensor(scene.front_camera_eye, dtype=torch.float32),
            focal_px=focal,
            image_hw=(scene.image_height, scene.image_width),
            first_token=cameras.index(POINTING_CAMERA) * tokens_per_image,
            grid=grid,
            low=torch.as_tensor(environment_low[-TASK_VALUES:], dtype=torch.float32),
            high=torch.as_tensor(environment_high[-TASK_VALUES:], dtype=torch.float32),
        )

    def pixels(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., 3) world points (m) -> (..., 2) their (u, v) px in the camera's image (u right, v down,
        from the top-left corner) and (...) bool, whether they are in view."""
        local = (points - self.position.to(points.device)) @ self.rotation.to(points.device)  # (..., 3)
        depth = -local[..., 2]
        height, width = self.image_hw
        safe = depth.clamp(min=1e-6)
        u = width / 2 + self.focal_px * local[..., 0] / safe
        v = height / 2 - self.focal_px * local[..., 1] / safe
        in_view = (depth > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
        return torch.stack([u, v], dim=-1), in_view

    def recorded_pixels(self, recorded: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, E) recorded environment state, normalised -> (B, R, 2) each role's (u, v) px and (B, R)
        whether it is in view."""
        metres = metres_from_normalised(
            recorded[:, -TASK_VALUES:], self.low.to(recorded.device), self.high.to(recorded.device)
        )
        return self.pixels(metres.view(len(recorded), -1, 3))

    def targets(self, recorded: torch.Tensor, image_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, E) recorded environment state, normalised -> (B, R, image_tokens) each role's target
        distribution over the model's tokens (zero outside the camera's) and (B, R) whether it has one."""
        pixels, in_view = self.recorded_pixels(recorded)  # (B, R, 2), (B, R)
        height, width = self.image_hw
        cells = torch.arange(self.grid, device=recorded.device, dtype=torch.float32) + 0.5
        centre_v, centre_u = torch.meshgrid(
            cells * height / self.grid, cells * width / self.grid, indexing="ij"
        )
        centres = torch.stack([centre_u.flatten(), centre_v.flatten()], dim=-1)  # (g*g, 2), row-major
        sigma = SIGMA_TOKENS * width / self.grid
        squared = ((pixels.unsqueeze(-2) - centres) ** 2).sum(dim=-1)  # (B, R, g*g)
        camera = torch.softmax(-squared / (2 * sigma**2), dim=-1)
        target = torch.zeros(*camera.shape[:2], image_tokens, device=recorded.device)
        target[..., self.first_token : self.first_token + self.grid**2] = camera
        return target, in_view

    def loss(
        self, log_pointing: torch.Tensor, recorded: torch.Tensor, holds_still: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy of the pointer's (B, R, M + 2) log-softmax (tokens, place, null) against the
        targets of the (B, E) `recorded` state, over roles in view in episodes that move ((B,)
        `holds_still` false), and the share of those whose most likely answer is the target's token."""
        image_tokens = log_pointing.shape[-1] - 2
        target, labelled = self.targets(recorded, image_tokens)
        labelled = labelled & ~holds_still.bool().unsqueeze(1)  # (B, R)
        count = labelled.sum().clamp(min=1)
        cross_entropy = -(target * log_pointing[..., :image_tokens]).sum(dim=-1)  # (B, R)
        hit = log_pointing.argmax(dim=-1) == target.argmax(dim=-1)  # (B, R)
        return (cross_entropy * labelled).sum() / count, ((hit & labelled).sum() / count).detach()

    def cell_loss(
        self, log_cells: torch.Tensor, recorded: torch.Tensor, holds_still: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Cross-entropy of the pointer heatmap's (B, R, g*g, c*c) log-softmax over each token's cells
        (vla/models/pointer_heatmap.py), in the token that shows each role's recorded position, against a
        Gaussian over that token's cell centres (sigma one cell) around the position's pixel; over the
        roles `loss` labels. Also the mean distance (px) from the cells' average to that pixel."""
        pixels, in_view = self.recorded_pixels(recorded)  # (B, R, 2), (B, R)
        labelled = in_view & ~holds_still.bool().unsqueeze(1)  # (B, R)
        height, width = self.image_hw
        side = math.isqrt(log_cells.shape[-1])  # cells per token side
        token_px = torch.tensor([width / self.grid, height / self.grid], device=recorded.device)
        corner = (pixels / token_px).floor().clamp(0, self.grid - 1)  # (B, R, 2) the token's column, row
        token = (corner[..., 1] * self.grid + corner[..., 0]).long()  # (B, R)
        steps = (torch.arange(side, device=recorded.device, dtype=torch.float32) + 0.5) / side
        rows, columns = torch.meshgrid(steps, steps, indexing="ij")
        within = torch.stack([columns.flatten(), rows.flatten()], dim=-1)  # (c*c, 2), row-major
        centres = (corner.unsqueeze(-2) + within) * token_px  # (B, R, c*c, 2) px
        squared = ((centres - pixels.unsqueeze(-2)) ** 2).sum(dim=-1)  # (B, R, c*c)
        sigma = width / self.grid / side
        target = torch.softmax(-squared / (2 * sigma**2), dim=-1)
        index = token.view(*token.shape, 1, 1).expand(-1, -1, 1, log_cells.shape[-1])
        chosen = log_cells.gather(2, index).squeeze(2)  # (B, R, c*c)
        count = labelled.sum().clamp(min=1)
        cross_entropy = -(target * chosen).sum(dim=-1)  # (B, R)
        average = (chosen.exp().unsqueeze(-1) * centres).sum(dim=-2)  # (B, R, 2) px
        distance = (average - pixels).norm(dim=-1)
        return (cross_entropy * labelled).sum() / count, ((distance * labelled).sum() / count).detach()

    def map_loss(
        self,
        table_xy: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        recorded: torch.Tensor,
        holds_still: torch.Tensor,
    ) -> torch.Tensor:
        """Mean squared error of the heatmap's pixel-to-table map (`table_xy`: (..., 2) normalised (u, v) in
        [-1, 1] and (...) normalised z -> (..., 2) normalised x, y) at each labelled role's pixel and
        recorded height, against its recorded x, y.

        Why: trained only through the positions the pointer averages, the map was still 2.7 cm off (median,
        on validation first frames) after 500 steps, while the heatmap found the right pixel to 2.8 px: the
        fixed camera's map is one smooth function, which the recorded positions teach directly."""
        pixels, in_view = self.recorded_pixels(recorded)  # (B, R, 2), (B, R)
        labelled = in_view & ~holds_still.bool().unsqueeze(1)
        height, width = self.image_hw
        normalised = pixels / torch.tensor([width / 2, height / 2], device=pixels.device) - 1.0
        recorded_xyz = recorded[:, -TASK_VALUES:].view(len(recorded), -1, 3)  # (B, R, 3)
        mapped = table_xy(normalised, recorded_xyz[..., 2])  # (B, R, 2)
        squared = ((mapped - recorded_xyz[..., :2]) ** 2).sum(dim=-1)  # (B, R)
        return (squared * labelled).sum() / labelled.sum().clamp(min=1)
