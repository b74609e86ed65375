"""Instructions -> model inputs: word ids (with training-time word dropout) and the sentence embedding.

Shared by `vla train`, the LeRobot policy plugin and `VLAPolicy.infer`, so every path feeds the model the
same thing.
"""

from __future__ import annotations

import torch
from tokenizers import Tokenizer

from vla.models.configuration_vla import VLAConfig
from vla.tokenization.text import UNK, encode_instructions


class InstructionEncoder:
    """Callable: B instruction strings -> (word ids (B, L) int64, sentence (B, 384) float | None)."""

    def __init__(self, config: VLAConfig, text_tokenizer: Tokenizer):
        self.config = config
        self.text_tokenizer = text_tokenizer
        self.unk = text_tokenizer.token_to_id(UNK) or 1
        self.sentence_encoder = None
        if config.sentence_encoder:
            from vla.models.sentence_encoder import shared_sentence_encoder

            # Frozen, on the CPU and outside the policy's state dict; embeddings are cached per text.
            self.sentence_encoder = shared_sentence_encoder(config.sentence_encoder)

    def __call__(
        self, texts: list[str], device: torch.device | str = "cpu", train: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        words = torch.from_numpy(
            encode_instructions(self.text_tokenizer, texts, self.config.text.max_instruction_tokens)
        )
        if train:
            words = self.drop_words(words)
        sentence = None
        if self.sentence_encoder is not None:
            sentence = torch.from_numpy(self.sentence_encoder.encode(texts)).to(device)
        return words.to(device), sentence

    def drop_words(self, words: torch.Tensor) -> torch.Tensor:
        """Training-time word dropout on word ids (B, L), on their device.

        Words replaced by [UNK] at random lean the model on the sentence token, which is what carries a
        held-out paraphrase (see vla/models/sentence_encoder.py). Pads (0) stay pads.
        """
        if self.config.word_dropout <= 0:
            return words
        drop = (torch.rand(words.shape, device=words.device) < self.config.word_dropout) & (words != 0)
        return torch.where(drop, torch.full_like(words, self.unk), words)
