"""The instruction tokenizer of from-scratch presets: word level, built from the training instructions.

A model trained from scratch only knows the words it saw, so the vocabulary is exactly the words of the
suite's training templates (with every slot filled); anything else maps to [UNK]. Held-out paraphrases
therefore reach the model partly as [UNK]s, which is why `nano` also gets a sentence embedding from a
pretrained encoder (see vla/models/sentence_encoder.py). Saved as a standard `tokenizers` JSON file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

PAD, UNK = "[PAD]", "[UNK]"


def build_word_tokenizer(instructions: list[str]) -> Tokenizer:
    """A WordLevel tokenizer whose vocabulary is the (lower-cased) words of `instructions`."""
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    pre_tokenizer = pre_tokenizers.Whitespace()
    words: set[str] = set()
    for text in instructions:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    vocab = {PAD: 0, UNK: 1} | {word: i + 2 for i, word in enumerate(sorted(words))}
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizer
    return tokenizer


def suite_instructions(suite: str = "tabletop", split: str = "train") -> list[str]:
    """Every instruction of a suite's `split` ("train" or "heldout"): templates with their slots filled."""
    from sim.tasks import suite_tasks

    tasks = suite_tasks(suite)
    return [template.format(**task.slots) for task in tasks for template in task.templates(split)]


def encode_instructions(tokenizer: Tokenizer, texts: list[str], max_tokens: int) -> np.ndarray:
    """(B, max_tokens) int64 ids, padded with [PAD] (0) and truncated at `max_tokens`."""
    ids = np.zeros((len(texts), max_tokens), dtype=np.int64)
    for row, encoding in enumerate(tokenizer.encode_batch(texts)):
        tokens = encoding.ids[:max_tokens]
        ids[row, : len(tokens)] = tokens
    return ids


def save_word_tokenizer(tokenizer: Tokenizer, path: Path) -> None:
    tokenizer.save(str(path))


def load_word_tokenizer(path: Path) -> Tokenizer:
    if not Path(path).is_file():
        raise FileNotFoundError(f"text tokenizer not found: {path}")
    return Tokenizer.from_file(str(path))
