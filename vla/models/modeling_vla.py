"""The VLA model: backbone + state and instruction tokens + parallel action head.

Input sequence to the language model, per sample (D = language model width):

    [camera 1 image (P)] [camera 2 image (P)] [sentence (1)] [state (1)] [words (L)] [queries (T)]

The language model is causal, so the T action queries at the end attend to everything before them.
Pad words are masked out. Output: control-token logits (B, T, A, n_bins), decoded to normalised
actions by the bin centres (`vla.tokenization.BinningActionTokenizer`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vla.models.action_head import ActionHead
from vla.models.backbone import backbone_width, build_backbone, encode_images
from vla.models.configuration_vla import VLAConfig


@dataclass
class VLABatch:
    """Model inputs, already normalised. Shapes: B batch, N cameras, L words, T chunk, A action dims."""

    images: torch.Tensor  # (B, N, 3, H, W) float in [0, 1]
    state: torch.Tensor  # (B, S) float, normalised to about [-1, 1]
    words: torch.Tensor  # (B, L) int64 word ids, 0 = pad
    sentence: torch.Tensor | None  # (B, 384) sentence embeddings, or None when the preset has no encoder
    action_tokens: torch.Tensor | None = None  # (B, T, A) int64 target bins (training)
    action_is_pad: torch.Tensor | None = None  # (B, T) bool: steps past the episode's end (training)


class VLAModel(nn.Module):
    def __init__(self, config: VLAConfig, text_vocab_size: int, backbone_config: dict | None = None):
        super().__init__()
        self.config = config
        self.backbone = build_backbone(config, text_vocab_size, backbone_config)
        width = backbone_width(self.backbone)
        self.camera_embedding = nn.Parameter(torch.zeros(len(config.cameras), 1, width))  # (N, 1, D)
        self.state_proj = nn.Linear(config.state_dim, width)
        self.sentence_proj = nn.Linear(config.sentence_dim, width) if config.sentence_encoder else None
        self.action_head = ActionHead(width, config.chunk_length, config.action_dim, config.n_action_bins)

    def forward(self, batch: VLABatch) -> torch.Tensor:
        """Control-token logits (B, T, A, n_bins)."""
        images = encode_images(self.backbone, batch.images * 2.0 - 1.0)  # SigLIP expects [-1, 1]
        b, n, p, d = images.shape
        images = (images + self.camera_embedding.to(images.dtype)).reshape(b, n * p, d)  # (B, N*P, D)
        words = self.backbone.text_model.get_input_embeddings()(batch.words)  # (B, L, D)
        parts = [images]
        if self.sentence_proj is not None:
            parts.append(self.sentence_proj(batch.sentence.to(images.dtype)).unsqueeze(1))  # (B, 1, D)
        parts += [
            self.state_proj(batch.state.to(images.dtype)).unsqueeze(1),
            words,
            self.action_head.query_tokens(b),
        ]
        sequence = torch.cat([part.to(images.dtype) for part in parts], dim=1)  # (B, seq, D)
        mask = torch.ones(sequence.shape[:2], dtype=torch.long, device=sequence.device)
        words_start = sequence.shape[1] - self.config.chunk_length - words.shape[1]
        mask[:, words_start : words_start + words.shape[1]] = (batch.words != 0).long()
        # Pad words advance no position, so the queries see the same positions whatever the padding.
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        hidden = self.backbone.text_model(
            inputs_embeds=sequence, attention_mask=mask, position_ids=positions
        ).last_hidden_state
        return self.action_head(hidden[:, -self.config.chunk_length :])

    def loss(self, batch: VLABatch) -> torch.Tensor:
        return chunk_loss(self.forward(batch), batch)


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
