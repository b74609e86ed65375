"""The policy as one traceable module: raw observation tensors in, actions in dataset units out.

Everything between the sensors and the joint targets is inside the graph, so the runtime only tokenizes
the instruction and feeds arrays:

    images    (B, N, H, W, 3) uint8    N cameras in config order, H = W = the model's image size
    state     (B, S) float32           joint positions in dataset units (degrees, gripper 0-100)
    words     (B, L) int64             word ids from tokenizer.json, 0 = pad
    sentence  (B, 384) float32         MiniLM embedding (only when the preset has a sentence encoder)
 -> actions   (B, T, A) float32        absolute joint targets in dataset units
    confidence (B, T) float32          mean max-bin probability per chunk step
    abstain   (B,) float32             probability that the instruction names nothing in view
"""

from __future__ import annotations

import torch
from torch import nn

from vla.models.checkpoint import PolicyBundle
from vla.models.modeling_vla import VLABatch, decode_logits


class PolicyGraph(nn.Module):
    """Normalisation, the VLA model and token decoding, as the runtime runs them."""

    def __init__(self, bundle: PolicyBundle):
        super().__init__()
        self.model = bundle.model.eval()
        self.has_sentence = bundle.config.sentence_encoder is not None
        state, action = bundle.normalization.state, bundle.normalization.action
        for name, values in {
            "state_low": state.low,
            "state_high": state.high,
            "action_low": action.low,
            "action_high": action.high,
            "bin_centers": bundle.action_tokenizer.bin_centers,
        }.items():
            self.register_buffer(name, torch.as_tensor(values, dtype=torch.float32))

    @staticmethod
    def _span(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        from vla.models.normalization import MIN_SPAN

        return (high - low).clamp(min=MIN_SPAN)

    def forward(
        self,
        images: torch.Tensor,
        state: torch.Tensor,
        words: torch.Tensor,
        sentence: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pixels = images.permute(0, 1, 4, 2, 3).float() / 255.0  # (B, N, 3, H, W) in [0, 1]
        state = (state - self.state_low) / self._span(self.state_low, self.state_high) * 2.0 - 1.0
        batch = VLABatch(pixels, state, words, sentence if self.has_sentence else None)
        logits, abstain = self.model.predict(batch)
        actions, confidence = decode_logits(logits, self.bin_centers)
        actions = (actions + 1.0) / 2.0 * self._span(self.action_low, self.action_high) + self.action_low
        return actions, confidence, abstain.float()


class SentenceGraph(nn.Module):
    """MiniLM with mean pooling and L2 normalisation: (B, L) ids + mask -> (B, 384), as SentenceEncoder."""

    def __init__(self, encoder_model: nn.Module):
        super().__init__()
        self.encoder = encoder_model.eval()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)
