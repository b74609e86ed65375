"""What the model reads about the scene's objects, as one module: where they are and which the words name.

Policies trained with simulator labels (`environment_state_dim` > 0) read the objects' positions out of
the image tokens (environment_head.py: the auxiliary loss's prediction). With `environment_state_token`
those positions enter the sequence as one `objects` token; with the task choice (task_choice.py) its last
six values are the predicted positions of the objects the words pick; with the arm-frame features
(arm_frame.py) the token also carries their bearing and reach from the arm's base. A policy without
labels has none of this, and VLAModel builds no SceneObjects.

State-dict keys sit under `objects.` (e.g. `objects.environment_head.proj.weight`); checkpoints saved
before 2026-12-06 (afternoon) kept these modules at the model's top level, and `migrated_weights` renames
their keys on load.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from vla.models.abstain_head import KEY_DIM, ROLES
from vla.models.arm_frame import ArmFrameFeatures
from vla.models.configuration_vla import HEATMAP_CAMERA, VLAConfig
from vla.models.environment_head import EnvironmentStateHead, environment_state_loss
from vla.models.pointer import InstructionPointer
from vla.models.pointer_heatmap import PointerHeatmap
from vla.models.role_words import RoleWords
from vla.models.task_choice import TASK_VALUES, TaskChoiceHead

MODULES = ("environment_head", "environment_proj", "task_choice", "arm_frame")


class SceneObjects(nn.Module):
    """(B, N*P, D) image tokens -> (B, E) normalised object positions (`locate`) -> the `objects` token
    (`tokens`).

    `instruction_dim`: the width of the features the task choice reads (VLAModel.instruction_features);
    `environment_ranges`: (low, high) (E,) of the environment state's normalisation, which the task choice
    and the arm-frame features read to work in metres."""

    def __init__(
        self,
        config: VLAConfig,
        image_tokens: int,
        width: int,
        instruction_dim: int,
        environment_ranges: tuple[np.ndarray, np.ndarray],
    ):
        super().__init__()
        dims = config.environment_state_dim
        self.environment_head = EnvironmentStateHead(image_tokens, width, dims)
        # predicted positions -> the `objects` token, zero at first: the token starts as one constant for
        # every input, and what it carries about the input is learnt
        self.environment_proj = None
        if config.environment_state_token:
            self.environment_proj = nn.Linear(dims, width)
            nn.init.zeros_(self.environment_proj.weight)
            nn.init.zeros_(self.environment_proj.bias)
        self.task_choice = None
        if config.task_choice:
            self.task_choice = TaskChoiceHead(
                instruction_dim,
                config.task_object_sources,
                config.task_destination_sources,
                *environment_ranges,
                config.task_destination_constants,
            )
        self.arm_frame = ArmFrameFeatures(width, *environment_ranges) if config.arm_frame_features else None

    @property
    def has_token(self) -> bool:
        return self.environment_proj is not None

    def locate(self, image_tokens: torch.Tensor, instruction: torch.Tensor) -> torch.Tensor:
        """(B, E) normalised positions: the head's read-out, whose last six task values are, with a task
        choice, the chosen objects' predictions. `instruction`: (B, F) the task choice's input."""
        located = self.environment_head(image_tokens)
        if self.task_choice is None:
            return located
        scene = located[:, :-TASK_VALUES]
        chosen = self.task_choice(instruction, scene)
        return torch.cat([scene, chosen.to(located.dtype)], dim=1)

    def position_loss(self, located: torch.Tensor, recorded: torch.Tensor) -> torch.Tensor:
        """The auxiliary loss of (B, E) `located` against the (B, E) recorded environment state."""
        return environment_state_loss(located, recorded)

    def tokens(
        self,
        located: torch.Tensor,
        dtype: torch.dtype,
        recorded: torch.Tensor | None = None,
        from_record: torch.Tensor | None = None,
        pointed: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """[(B, 1, D)] the `objects` token, or [] for a policy without one. Training's teacher forcing:
        samples where `from_record` (B,) is true show `recorded` (B, >=E) positions instead of `located`.
        (`pointed` is PointedObjects'.)"""
        if self.environment_proj is None:
            return []
        if from_record is not None:
            recorded = recorded[:, : located.shape[1]]
        return [values_token(self.environment_proj, self.arm_frame, located, dtype, recorded, from_record)]


def values_token(
    proj: nn.Linear,
    arm_frame: ArmFrameFeatures | None,
    located: torch.Tensor,
    dtype: torch.dtype,
    recorded: torch.Tensor | None,
    from_record: torch.Tensor | None,
) -> torch.Tensor:
    """(B, 1, D) the token of (B, E) `located` positions: `proj` of them, plus the arm-frame features of
    the task values. Teacher forcing: samples where `from_record` (B,) is true show `recorded` (B, E)."""
    shown = located
    if from_record is not None:
        shown = torch.where(from_record[:, None], recorded.to(located.dtype), located)
    token = proj(shown.to(dtype))  # (B, D)
    if arm_frame is not None:
        token = token + arm_frame(shown).to(token.dtype)
    return token.unsqueeze(1)


def migrated_weights(weights: dict) -> dict:
    """A state dict saved before these modules moved under `objects.`, with its keys renamed; newer ones
    come back as they are."""
    return {
        f"objects.{key}" if key.split(".", 1)[0] in MODULES else key: value for key, value in weights.items()
    }


class PointedObjects(nn.Module):
    """The objects the instruction names, pointed at among the image tokens (vla/models/pointer.py):
    nothing here enumerates the scene's objects, colours or destinations.

    (B, F) instruction features and (B, M, D) image tokens -> (B, 6) normalised task values (the task
    object's and destination's x, y, z) and (B, R, D) pointed image features, in one pass of
    `pointer.point` -> three tokens (`tokens`): those values (with the arm-frame features, from
    `environment_ranges`' last six), then each role's pointed features."""

    has_token = True
    task_choice = None

    def __init__(
        self,
        config: VLAConfig,
        image_tokens: int,
        width: int,
        instruction_dim: int,
        environment_ranges: tuple[np.ndarray, np.ndarray],
        image_size: int = 0,
        word_dim: int = 0,
    ):
        """`image_size`: the frames' side (px) the vision tower reads, which the pointer's heatmap (config
        pointer_heatmap) reads too; `word_dim`: the width of the word embeddings its role words (config
        pointer_role_words) read."""
        super().__init__()
        heatmap = None
        if config.pointer_heatmap:
            grid = math.isqrt(image_tokens // len(config.cameras))
            heatmap = PointerHeatmap(instruction_dim, ROLES, grid, (image_size, image_size), KEY_DIM)
        camera = config.cameras.index(HEATMAP_CAMERA) if config.pointer_heatmap else 0
        role_words = None
        if config.pointer_role_words:
            role_words = RoleWords(instruction_dim, word_dim, ROLES, config.text.max_instruction_tokens)
        self.pointer = InstructionPointer(
            instruction_dim, width, image_tokens, KEY_DIM, heatmap, camera, role_words
        )
        self.environment_proj = nn.Linear(TASK_VALUES, width)  # the values' token, as SceneObjects' is
        # pointed features -> tokens, zero at first: they start as constants and learn what they carry
        self.pointed_proj = nn.Linear(width, width)
        nn.init.zeros_(self.pointed_proj.weight)
        nn.init.zeros_(self.pointed_proj.bias)
        self.arm_frame = ArmFrameFeatures(width, *environment_ranges) if config.arm_frame_features else None

    def position_loss(self, located: torch.Tensor, recorded: torch.Tensor) -> torch.Tensor:
        """The auxiliary loss of (B, 6) `located` against the recorded (B, E) environment state's task
        values (its last six, in every scene: sim/environment_state.py)."""
        return environment_state_loss(located, recorded[:, -TASK_VALUES:])

    def tokens(
        self,
        located: torch.Tensor,
        dtype: torch.dtype,
        recorded: torch.Tensor | None = None,
        from_record: torch.Tensor | None = None,
        pointed: torch.Tensor | None = None,
    ) -> list[torch.Tensor]:
        """[(B, 1, D), (B, R, D)]: the values' token, then the roles' pointed features: `pointed` (B, R, D),
        from the pass of `pointer.point` that gave `located`. Teacher forcing as SceneObjects'."""
        if from_record is not None:
            recorded = recorded[:, -TASK_VALUES:]
        token = values_token(self.environment_proj, self.arm_frame, located, dtype, recorded, from_record)
        return [token, self.pointed_proj(pointed.to(dtype))]

    def abstain(
        self, image_tokens: torch.Tensor, instruction: torch.Tensor, frames: torch.Tensor
    ) -> torch.Tensor:
        """(B,) the probability that some role's object is nowhere in view; `frames` (B, N, 3, H, W) the
        cameras' images, which the pointer's heatmap reads."""
        return self.pointer(instruction, image_tokens, frames)
