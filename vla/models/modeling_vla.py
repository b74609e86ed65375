"""The VLA model: backbone + state and instruction tokens + parallel action head.

Input sequence to the language model, per sample (D = language model width):

    [camera 1 image (P)] [camera 2 image (P)] [sentence (1)] [state (1)] [objects (1)?] [words (L)]
    [queries (T)]

The language model is causal, so the T action queries at the end attend to everything before them.
Pad words are masked out. Output: control-token logits (B, T, A, n_bins), decoded to normalised
actions by the bin centres (`vla.tokenization.BinningActionTokenizer`). Policies trained with
simulator labels also read the objects' positions out of the image tokens, and may show them as the
`objects` token (vla/models/scene_objects.py); with `instruction_via_choice`, the sentence and the words
are masked out of the sequence and the task choice alone carries the instruction. With `abstain_head`, a
head beside the language model matches the instruction against the image tokens and gives the (B,)
probability that it names nothing in view (vla/models/abstain_head.py); `predict` returns both. With
`instruction_pointer`, none of the object modules above: the words point at the task object and its
destination among the image tokens (vla/models/pointer.py), three `objects` tokens carry their positions
and pointed features, and the pointer's "nothing in view" share is `abstain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vla.models.abstain_head import AbstainHead
from vla.models.action_head import ActionHead
from vla.models.backbone import backbone_image_size, backbone_width, build_backbone, encode_images
from vla.models.configuration_vla import VLAConfig
from vla.models.scene_objects import PointedObjects, SceneObjects
from vla.models.task_choice import TASK_VALUES

if TYPE_CHECKING:
    from vla.training.pointing_labels import PointingLabels


@dataclass
class VLABatch:
    """Model inputs, already normalised. Shapes: B batch, N cameras, L words, T chunk, A action dims."""

    images: torch.Tensor  # (B, N, 3, H, W) float in [0, 1]
    state: torch.Tensor  # (B, S) float, normalised to about [-1, 1]
    words: torch.Tensor  # (B, L) int64 word ids, 0 = pad
    sentence: torch.Tensor | None  # (B, 384) sentence embeddings, or None when the preset has no encoder
    action_tokens: torch.Tensor | None = None  # (B, T, A) int64 target bins (training)
    action_is_pad: torch.Tensor | None = None  # (B, T) bool: steps past the episode's end (training)
    environment_state: torch.Tensor | None = None  # (B, E) normalised object positions (training target)
    # (B,) bool, training only: samples whose `objects` token gets the recorded positions instead of the
    # head's prediction (teacher forcing, so the actions learn to follow exact positions sooner)
    objects_from_record: torch.Tensor | None = None
    # (B,) bool, training only: the abstain head's label, whether the sample's demonstration touches nothing
    # (vla/training/abstain_labels.py)
    holds_still: torch.Tensor | None = None


class VLAModel(nn.Module):
    """Every module is built here from `config`; nothing changes the architecture afterwards (a fine-tune
    that needs more modules builds a new model from its config: vla/training/policy_setup.py).

    `text_vocab_size`: the instruction tokenizer's vocabulary; `backbone_config`: a checkpoint's
    backbone_config.json (rebuilds the backbone without `config.backbone_path`); `environment_ranges`:
    (low, high) (E,) of the environment state's normalisation, which the task choice and the arm-frame
    features read (None: placeholders, for a checkpoint whose saved buffers replace them)."""

    def __init__(
        self,
        config: VLAConfig,
        text_vocab_size: int,
        backbone_config: dict | None = None,
        environment_ranges: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config, text_vocab_size, backbone_config)
        width = backbone_width(self.backbone)
        self.camera_embedding = nn.Parameter(torch.zeros(len(config.cameras), 1, width))  # (N, 1, D)
        self.state_proj = nn.Linear(config.state_dim, width)
        self.sentence_proj = nn.Linear(config.sentence_dim, width) if config.sentence_encoder else None
        self.action_head = ActionHead(width, config.chunk_length, config.action_dim, config.n_action_bins)
        instruction_dim = config.sentence_dim if self.sentence_proj is not None else width
        self.abstain_head = AbstainHead(instruction_dim, width) if config.abstain_head else None
        self.objects = None
        if config.environment_state_dim or config.instruction_pointer:
            dims = config.environment_state_dim or TASK_VALUES
            if environment_ranges is None:
                environment_ranges = np.full(dims, -1.0), np.ones(dims)
            image_tokens = self.image_token_count()
            if config.instruction_pointer:
                image_size = backbone_image_size(self.backbone)
                self.objects = PointedObjects(
                    config, image_tokens, width, instruction_dim, environment_ranges, image_size, width
                )
            else:
                self.objects = SceneObjects(config, image_tokens, width, instruction_dim, environment_ranges)

    @property
    def text_vocab_size(self) -> int:
        return self.backbone.text_model.get_input_embeddings().num_embeddings

    def image_token_count(self) -> int:
        """Image tokens per sample, all cameras: the preset's, or a pretrained tower's own patch and shuffle
        sizes."""
        if self.config.backbone_path is None:
            return len(self.config.cameras) * self.config.vision.tokens_per_image
        vision = self.backbone.config.vision_config
        side = vision.image_size // vision.patch_size
        return len(self.config.cameras) * side**2 // self.backbone.config.scale_factor**2

    def instruction_features(self, batch: VLABatch) -> torch.Tensor:
        """(B, F) what the task choice reads: the sentence embedding, or (presets without a sentence
        encoder) the mean embedding of the instruction's words."""
        if self.sentence_proj is not None:
            return batch.sentence.float()
        words = self.backbone.text_model.get_input_embeddings()(batch.words).float()  # (B, L, D)
        present = (batch.words != 0).float().unsqueeze(-1)  # (B, L, 1)
        return (words * present).sum(dim=1) / present.sum(dim=1).clamp(min=1.0)

    def pointer_instruction(self, batch: VLABatch) -> torch.Tensor:
        """What the instruction pointer reads: `instruction_features` (B, F), or with its role words
        (config pointer_role_words) each role's own (B, R, F), from the words' embeddings."""
        role_words = self.objects.pointer.role_words
        if role_words is None:
            return self.instruction_features(batch)
        embeddings = self.backbone.text_model.get_input_embeddings()(batch.words)  # (B, L, D)
        return role_words(embeddings, batch.words != 0)

    def forward(
        self, batch: VLABatch, with_environment_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Control-token logits (B, T, A, n_bins); with `with_environment_state`, also the (B, E) normalised
        object positions read from the images (the auxiliary loss's prediction)."""
        return self.actions_from_images(self.image_tokens(batch.images), batch, with_environment_state)

    def predict(self, batch: VLABatch) -> tuple[torch.Tensor, torch.Tensor]:
        """Inference: control-token logits (B, T, A, n_bins) and abstain (B,) from one pass of the vision
        tower."""
        images = self.image_tokens(batch.images)
        return self.actions_from_images(images, batch), self.abstain(images, batch)

    def abstain(self, images: torch.Tensor, batch: VLABatch) -> torch.Tensor:
        """(B,) probability that the instruction names something not in view, from the (B, N*P, D) image
        tokens: the instruction pointer's or the abstain head's; 0 for a policy without either (it never
        refuses)."""
        if isinstance(self.objects, PointedObjects):
            return self.objects.abstain(images, self.pointer_instruction(batch), batch.images)
        if self.abstain_head is None:
            return torch.zeros(len(images), device=images.device)
        return self.abstain_head(self.instruction_features(batch), images)

    def actions_from_images(
        self, images: torch.Tensor, batch: VLABatch, with_environment_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """`forward` on the (B, N*P, D) image tokens already computed."""
        dtype = images.dtype
        # (B, E) or None, and the pointer's (B, R, D) pointed features or None
        located, pointed = self.locate_objects(images, batch, with_environment_state)
        # the instruction reaches the actions through the task choice alone with instruction_via_choice
        shown = not self.config.instruction_via_choice
        segments = [
            (images, True),
            *((token, shown) for token in self.sentence_tokens(batch, dtype)),
            (self.state_proj(batch.state.to(dtype)).unsqueeze(1), True),
            *((token, True) for token in self.objects_tokens(located, pointed, batch, dtype)),
            (self.backbone.text_model.get_input_embeddings()(batch.words), (batch.words != 0) & shown),
            (self.action_head.query_tokens(len(images)), True),
        ]
        sequence = torch.cat([tokens.to(dtype) for tokens, _ in segments], dim=1)  # (B, S, D)
        mask = attention_mask(segments)  # (B, S)
        # Hidden tokens (pad words) advance no position, so the queries see the same positions whatever
        # the padding.
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        hidden = self.backbone.text_model(
            inputs_embeds=sequence, attention_mask=mask, position_ids=positions
        ).last_hidden_state
        logits = self.action_head(hidden[:, -self.config.chunk_length :])
        return (logits, located) if with_environment_state else logits

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """(B, N, 3, H, W) in [0, 1] -> (B, N*P, D) image tokens of all cameras, each camera's embedding
        added."""
        tokens = encode_images(self.backbone, images * 2.0 - 1.0)  # SigLIP expects [-1, 1]
        b, n, p, d = tokens.shape
        return (tokens + self.camera_embedding.to(tokens.dtype)).reshape(b, n * p, d)

    def sentence_tokens(self, batch: VLABatch, dtype: torch.dtype) -> list[torch.Tensor]:
        """[(B, 1, D)] the sentence embedding's token, or [] for presets without a sentence encoder."""
        if self.sentence_proj is None:
            return []
        return [self.sentence_proj(batch.sentence.to(dtype)).unsqueeze(1)]

    def locate_objects(
        self, images: torch.Tensor, batch: VLABatch, with_environment_state: bool
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """((B, E) object positions when the `objects` token or the caller needs them, else None; the
        instruction pointer's (B, R, D) pointed features from the same pass, else None)."""
        if self.objects is None:
            if with_environment_state:
                raise ValueError(
                    "this policy has no environment-state head (config environment_state_dim is 0)"
                )
            return None, None
        if not (with_environment_state or self.objects.has_token):
            return None, None
        if isinstance(self.objects, PointedObjects):
            return self.objects.pointer.point(self.pointer_instruction(batch), images, batch.images)
        features = self.instruction_features(batch) if self.objects.task_choice is not None else None
        return self.objects.locate(images, features), None

    def objects_tokens(
        self, located: torch.Tensor | None, pointed: torch.Tensor | None, batch: VLABatch, dtype: torch.dtype
    ) -> list:
        """[(B, n, D)] the `objects` tokens (one, or the pointer's three), or [] for a policy without."""
        if located is None or not self.objects.has_token:
            return []
        return self.objects.tokens(
            located, dtype, batch.environment_state, batch.objects_from_record, pointed
        )

    def loss(self, batch: VLABatch) -> torch.Tensor:
        return chunk_loss(self.forward(batch), batch)


def attention_mask(segments: list[tuple[torch.Tensor, bool | torch.Tensor]]) -> torch.Tensor:
    """(B, S) int64 attention mask of the sequence `segments` make: each is (tokens (B, n, D), visible),
    visible a bool for the whole segment or (B, n) bool per token."""
    tokens = segments[0][0]
    parts = []
    for part, visible in segments:
        shape = part.shape[:2]
        if isinstance(visible, bool):
            parts.append(torch.full(shape, int(visible), dtype=torch.long, device=tokens.device))
        else:
            parts.append(visible.long().to(tokens.device))
    return torch.cat(parts, dim=1)


def training_losses(
    model: torch.nn.Module,
    batch: VLABatch,
    environment_weight: float,
    abstain: AbstainTraining | None = None,
    pointing: PointingLabels | None = None,
) -> dict:
    """{"actions": chunk cross-entropy, "environment_state": the image-token head's smooth-L1,
    "task_choice": the choice's cross-entropy and "task_choice_accuracy" (policies with a task choice),
    "abstain" and "abstain_accuracy" (with `abstain`), "pointing" and "pointing_accuracy" (with
    `pointing`, vla/training/pointing_labels.py), "total": actions + weight * (environment_state +
    task_choice) + abstain.weight * abstain + pointing.weight * pointing}; the auxiliary terms with a
    weight > 0. With `abstain.only` the total is the abstain loss alone and the language model does not
    run. `model` may be the DDP wrapper of a VLAModel."""
    if abstain is not None and abstain.only:
        losses = abstain_losses(model, batch)
        return losses | {"total": losses["abstain"]}
    core = getattr(model, "module", model)
    joint = abstain is not None and abstain.weight > 0
    # The losses read one pass of the vision tower, except through DDP, whose hooks need forward().
    images = core.image_tokens(batch.images) if (joint or pointing) and core is model else None
    losses = _action_losses(model, batch, environment_weight, images)
    if joint:
        losses |= abstain_losses(model, batch, images)
        losses["total"] = losses["total"] + abstain.weight * losses["abstain"]
    if pointing is not None:
        losses |= pointing_losses(model, batch, pointing, images)
        losses["total"] = losses["total"] + pointing.weight * losses["pointing"]
    return losses


def pointing_losses(
    model: torch.nn.Module, batch: VLABatch, pointing: PointingLabels, images: torch.Tensor | None = None
) -> dict:
    """{"pointing": the instruction pointer's cross-entropy against the tokens that show the recorded task
    objects (plus, with a heatmap, its cells' against the pixels and its pixel-to-table map's error at them),
    "pointing_accuracy": the share it points
    at first, and with a heatmap "pointing_px": its cells' mean distance from the pixels}. `images`: the
    (B, M, D) image tokens when already computed."""
    core = getattr(model, "module", model)
    if not isinstance(core.objects, PointedObjects):
        raise ValueError("the pointing loss trains an instruction pointer (config instruction_pointer)")
    if batch.environment_state is None or batch.holds_still is None:
        raise ValueError(
            "the pointing loss needs each sample's recorded positions (observation.environment_state) and "
            "whether its episode holds still"
        )
    if images is None:
        images = core.image_tokens(batch.images)
    pointer, instruction = core.objects.pointer, core.pointer_instruction(batch)
    cell_scores = pointer.front_cell_scores(instruction, batch.images)  # None without a heatmap
    log_pointing = pointer.scored(instruction, images, cell_scores)
    loss, accuracy = pointing.loss(log_pointing, batch.environment_state, batch.holds_still)
    if cell_scores is None:
        return {"pointing": loss, "pointing_accuracy": accuracy}
    log_cells = cell_scores.log_softmax(dim=-1)
    cells, pixels_off = pointing.cell_loss(log_cells, batch.environment_state, batch.holds_still)
    table = pointing.map_loss(pointer.heatmap.table_xy, batch.environment_state, batch.holds_still)
    return {"pointing": loss + cells + table, "pointing_accuracy": accuracy, "pointing_px": pixels_off}


@dataclass(frozen=True)
class AbstainTraining:
    """The abstain head's loss `weight` beside the action loss, or `only` that loss (the rest frozen)."""

    weight: float = 0.0
    only: bool = False


def abstain_losses(model: torch.nn.Module, batch: VLABatch, images: torch.Tensor | None = None) -> dict:
    """{"abstain": binary cross-entropy of the abstain head (or the instruction pointer) against
    `batch.holds_still`, "abstain_accuracy": the share on the right side of ABSTAIN_THRESHOLD}. `images`:
    the (B, M, D) image tokens when already computed."""
    from vla.contract import ABSTAIN_THRESHOLD

    core = getattr(model, "module", model)
    head = core.objects.pointer if isinstance(core.objects, PointedObjects) else core.abstain_head
    if head is None:
        raise ValueError(
            "the abstain loss needs a policy with an abstain head (config abstain_head) or an instruction "
            "pointer (config instruction_pointer)"
        )
    if batch.holds_still is None:
        raise ValueError(
            "the abstain loss needs each sample's label (whether its episode holds still), which is read "
            "from frames held in memory: keep --data.cache_in_memory true"
        )
    if images is None:
        images = core.image_tokens(batch.images)
    pointed = isinstance(core.objects, PointedObjects)
    instruction = core.pointer_instruction(batch) if pointed else core.instruction_features(batch)
    loss, probability = head.loss(instruction, images, batch.holds_still, batch.images)
    right = (probability >= ABSTAIN_THRESHOLD) == batch.holds_still
    return {"abstain": loss, "abstain_accuracy": right.float().mean().detach()}


def _action_losses(
    model: torch.nn.Module, batch: VLABatch, environment_weight: float, images: torch.Tensor | None = None
) -> dict:
    core = getattr(model, "module", model)

    def outputs(with_environment_state: bool):
        if images is None:
            return model(batch, with_environment_state=with_environment_state)
        return core.actions_from_images(images, batch, with_environment_state)

    if environment_weight <= 0:
        actions = chunk_loss(outputs(False), batch)
        return {"actions": actions, "total": actions}
    if batch.environment_state is None:
        raise ValueError(
            "the environment-state loss needs observation.environment_state in the training data "
            "(record it from the sim: vla record --source expert, or train on the expert stream)"
        )
    logits, environment = outputs(True)
    losses = {"actions": chunk_loss(logits, batch)}
    losses["environment_state"] = core.objects.position_loss(environment, batch.environment_state)
    auxiliary = losses["environment_state"]
    if core.objects.task_choice is not None:
        losses["task_choice"], right = core.objects.task_choice.loss(
            core.instruction_features(batch), batch.environment_state
        )
        losses["task_choice_accuracy"] = right.float().mean().detach()
        auxiliary = auxiliary + losses["task_choice"]
    return losses | {"total": losses["actions"] + environment_weight * auxiliary}


def chunk_loss(logits: torch.Tensor, batch: VLABatch) -> torch.Tensor:
    """Cross-entropy of the target control tokens (B, T, A), ignoring chunk steps past the episode's end."""
    targets = batch.action_tokens.clone()
    if batch.action_is_pad is not None:
        targets[batch.action_is_pad] = -100
    return F.cross_entropy(logits.float().flatten(0, 2), targets.flatten(), ignore_index=-100)


def decode_logits(logits: torch.Tensor, bin_centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (B, T, A, K) -> normalised actions (B, T, A) and per-step confidence (B, T).

    Actions are the expectation over bin centres (smoother than the arg-max bin). Confidence is the mean
    over action dimensions of the probability of the most likely bin: 1 for a certain chunk step,
    1/K for a uniform guess.
    """
    probs = logits.float().softmax(dim=-1)
    actions = probs @ bin_centers.to(probs)  # (B, T, A)
    confidence = probs.max(dim=-1).values.mean(dim=-1)  # (B, T)
    return actions, confidence
