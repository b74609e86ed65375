"""FAST: frequency-space action tokenization (DCT + byte-pair encoding).

Pertsch et al. 2025, "FAST: Efficient Action Tokenization for Vision-Language-Action Models":
1. per joint, a DCT-II (orthonormal) of the normalised chunk along time;
2. coefficients times `scale` (10), rounded to integers: most high-frequency terms of a smooth chunk round
   to zero, which is where the compression comes from;
3. the (T, A) coefficient matrix flattened frequency-major, interleaving the joints per frequency
   (c[0, j0], c[0, j1], ..., c[1, j0], ...), so the long runs of zeros sit at the end;
4. byte-pair merges (Hugging Face `tokenizers`) learned on training chunks, with each integer written as
   one unicode character. The result is a short, variable-length token sequence.

The DCT is a (T, T) orthonormal matrix product, identical to `scipy.fft.dct(x, type=2, axis=0,
norm="ortho")`; it is built with numpy because scipy is not a dependency of the torch-free runtime.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from tokenizers import Tokenizer
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

from vla.tokenization.action_base import as_chunk, read_tokenizer_json, write_tokenizer_json

# Integer v is written as chr(CHAR_BASE + v + offset): CJK ideographs (U+4E00...) are printable, contain no
# whitespace or control characters, and need no normaliser, so BPE sees exactly one character per integer.
CHAR_BASE = 0x4E00


@dataclass(frozen=True)
class FastConfig:
    """chunk_len: T (steps per chunk); action_dim: A; scale: DCT quantisation scale (FAST uses 10);
    vocab_size: BPE vocabulary including the single-integer alphabet (FAST uses 1024); min_frequency:
    fewest occurrences of a pair before it is merged (FAST uses 2)."""

    chunk_len: int
    action_dim: int = 6
    scale: float = 10.0
    vocab_size: int = 1024
    min_frequency: int = 2

    def __post_init__(self) -> None:
        if self.chunk_len < 1 or self.action_dim < 1:
            raise ValueError(f"chunk_len, action_dim must be >= 1, got {self.chunk_len}, {self.action_dim}")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if self.vocab_size < self.alphabet_size:
            raise ValueError(
                f"vocab_size {self.vocab_size} is smaller than the {self.alphabet_size} quantised DCT values "
                f"possible at chunk_len={self.chunk_len}, scale={self.scale}; raise vocab_size or lower scale"
            )

    @property
    def max_abs_coefficient(self) -> int:
        """Largest |round(scale * c)|: an orthonormal DCT keeps the L2 norm, so |c| <= ||x|| <= sqrt(T)."""
        return math.ceil(self.scale * math.sqrt(self.chunk_len))

    @property
    def alphabet_size(self) -> int:
        """Distinct quantised coefficients (-max_abs..max_abs): every chunk in [-1, 1] can be encoded."""
        return 2 * self.max_abs_coefficient + 1


def dct_matrix(n: int) -> np.ndarray:
    """(n, n) orthonormal DCT-II matrix D: coefficients = D @ x along time, and x = D.T @ coefficients."""
    k = np.arange(n)[:, None]
    t = np.arange(n)[None, :]
    matrix = np.cos(np.pi * (2 * t + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    matrix[0] /= math.sqrt(2.0)
    return matrix


class FastActionTokenizer:
    """FAST tokenizer for chunks of shape (chunk_len, action_dim); `fit` learns the BPE merges first."""

    scheme: ClassVar[str] = "fast"

    def __init__(self, config: FastConfig, bpe: Tokenizer | None = None) -> None:
        self.config = config
        self._dct = dct_matrix(config.chunk_len)  # (T, T)
        self._bpe = bpe

    @property
    def vocab_size(self) -> int:
        """Size of the learned vocabulary (at most config.vocab_size: merges stop when pairs run out)."""
        return self._fitted_bpe().get_vocab_size()

    @property
    def is_fitted(self) -> bool:
        return self._bpe is not None

    def fit(self, chunks: np.ndarray) -> FastActionTokenizer:
        """Learn the BPE merges on training chunks (N, T, A), normalised; returns self."""
        strings = [self._to_string(chunk) for chunk in self._quantise(self._checked(chunks, batched=True))]
        bpe = Tokenizer(BPE())
        trainer = BpeTrainer(
            vocab_size=self.config.vocab_size,
            min_frequency=self.config.min_frequency,
            special_tokens=[],
            # The whole alphabet, seen in training or not, so no chunk ever holds an unknown character.
            initial_alphabet=[self._char(v) for v in range(self.config.alphabet_size)],
            show_progress=False,
        )
        bpe.train_from_iterator(strings, trainer=trainer)
        self._bpe = bpe
        return self

    def encode(self, chunk: np.ndarray) -> list[int]:
        """chunk (T, A) float, normalised (clipped to [-1, 1]) -> token ids, a variable-length list."""
        coefficients = self._quantise(self._checked(chunk, batched=False)[None])[0]
        return self._fitted_bpe().encode(self._to_string(coefficients)).ids

    def encode_batch(self, chunks: np.ndarray) -> list[list[int]]:
        """chunks (N, T, A) float, normalised -> N token-id lists (BPE runs in parallel in Rust)."""
        strings = [self._to_string(c) for c in self._quantise(self._checked(chunks, batched=True))]
        return [encoding.ids for encoding in self._fitted_bpe().encode_batch(strings)]

    def decode(self, tokens: np.ndarray | list[int]) -> np.ndarray:
        """token ids -> (T, A) float32 normalised chunk in [-1, 1]. Total on purpose, as a model can emit
        anything: unknown ids are dropped, missing coefficients count as zero (the highest frequencies go
        first), extra ones are cut, so any sequence, empty included, decodes to the right shape."""
        bpe = self._fitted_bpe()
        size = bpe.get_vocab_size()
        ids = [int(i) for i in np.asarray(tokens, dtype=np.int64).ravel() if 0 <= i < size]
        # id_to_token, not Tokenizer.decode: with no decoder configured, decode joins tokens with spaces.
        text = "".join(bpe.id_to_token(i) or "" for i in ids)
        n_values = self.config.chunk_len * self.config.action_dim
        values = np.zeros(n_values, dtype=np.float64)
        codes = np.fromiter((ord(c) for c in text[:n_values]), dtype=np.int64, count=min(len(text), n_values))
        limit = self.config.max_abs_coefficient
        values[: codes.size] = np.clip(codes - CHAR_BASE - limit, -limit, limit)
        coefficients = values.reshape(self.config.chunk_len, self.config.action_dim) / self.config.scale
        chunk = self._dct.T @ coefficients  # (T, A): the inverse of an orthonormal DCT is its transpose
        return np.clip(chunk, -1.0, 1.0).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write config and learned merges to one JSON file (the `tokenizers` JSON embedded as a string)."""
        write_tokenizer_json(path, self.scheme, asdict(self.config), bpe=self._fitted_bpe().to_str())

    @classmethod
    def load(cls, path: Path) -> FastActionTokenizer:
        return cls.from_document(read_tokenizer_json(path), path)

    @classmethod
    def from_document(cls, document: dict[str, Any], path: Path) -> FastActionTokenizer:
        """Build from a parsed tokenizer file (see `action_base.read_tokenizer_json`)."""
        if document["scheme"] != cls.scheme:
            raise ValueError(f"{path}: scheme {document['scheme']!r} is not {cls.scheme!r}")
        if not isinstance(document.get("bpe"), str):
            raise ValueError(f"{path}: missing field 'bpe' (the learned merges, a tokenizers JSON string)")
        try:
            config = FastConfig(**document["config"])
        except TypeError as error:
            raise ValueError(f"{path}: bad config for the FAST tokenizer ({error})") from error
        try:
            bpe = Tokenizer.from_str(document["bpe"])
        except Exception as error:  # tokenizers raises its own Exception subclass
            raise ValueError(f"{path}: field 'bpe' is not a tokenizers JSON ({error})") from error
        return cls(config, bpe)

    def _checked(self, chunks: np.ndarray, *, batched: bool) -> np.ndarray:
        array = as_chunk(chunks, self.config.action_dim, batched=batched)
        if array.shape[-2] != self.config.chunk_len or (batched and array.ndim != 3):
            expected = "(N, T, A)" if batched else "(T, A)"
            raise ValueError(
                f"FAST tokenizer expects {expected} with T={self.config.chunk_len}, "
                f"A={self.config.action_dim}, got {array.shape}"
            )
        return array

    def _quantise(self, chunks: np.ndarray) -> np.ndarray:
        """(N, T, A) clipped chunks -> (N, T * A) int64 quantised DCT coefficients, frequency-major."""
        coefficients = np.einsum("kt,nta->nka", self._dct, chunks)  # (N, T, A): DCT along time per joint
        quantised = np.rint(coefficients * self.config.scale).astype(np.int64)
        limit = self.config.max_abs_coefficient  # never exceeded; the clip only guards float rounding
        return np.clip(quantised, -limit, limit).reshape(len(chunks), -1)

    def _to_string(self, values: np.ndarray) -> str:
        return "".join(self._char(int(v) + self.config.max_abs_coefficient) for v in values)

    @staticmethod
    def _char(shifted: int) -> str:
        return chr(CHAR_BASE + shifted)

    def _fitted_bpe(self) -> Tokenizer:
        if self._bpe is None:
            raise RuntimeError("FastActionTokenizer has no BPE merges yet: call fit(chunks) or load one")
        return self._bpe
