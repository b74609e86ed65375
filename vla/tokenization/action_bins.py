"""Per-dimension uniform binning of normalised actions: one token per joint per time step.

The scheme of RT-2 (Brohan et al. 2023, "RT-2: Vision-Language-Action Models Transfer Web Knowledge to
Robotic Control") and OpenVLA (Kim et al. 2024): each normalised action value in [-1, 1] falls in one of
`n_bins` (256) equal-width bins; the token is the bin index and decoding returns the bin centre, so the
round-trip error is at most half a bin width, 1 / n_bins.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vla.tokenization.action_base import as_chunk, read_tokenizer_json, write_tokenizer_json


@dataclass(frozen=True)
class BinningConfig:
    """n_bins: bins over [-1, 1] per joint (RT-2 and OpenVLA use 256); action_dim: joints per step (A)."""

    n_bins: int = 256
    action_dim: int = 6

    def __post_init__(self) -> None:
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        if self.action_dim < 1:
            raise ValueError(f"action_dim must be >= 1, got {self.action_dim}")


class BinningActionTokenizer:
    """Uniform binning tokenizer; token ids in [0, n_bins), one per joint per step (T * A tokens a chunk)."""

    scheme: ClassVar[str] = "bins"

    def __init__(self, config: BinningConfig | None = None) -> None:
        self.config = config or BinningConfig()
        n_bins = self.config.n_bins
        # Centres of [-1 + i w, -1 + (i + 1) w], w = 2 / n_bins. float32: a model head computes the
        # expected action as softmax(logits) @ bin_centers, which must not upcast its activations.
        self._centers = (-1.0 + (np.arange(n_bins) + 0.5) * (2.0 / n_bins)).astype(np.float32)

    @property
    def vocab_size(self) -> int:
        return self.config.n_bins

    @property
    def bin_centers(self) -> np.ndarray:
        """(n_bins,) float32 bin centres in normalised units; `decode` maps token i to bin_centers[i]."""
        return self._centers.copy()

    def encode(self, chunk: np.ndarray) -> np.ndarray:
        """chunk (T, A) float, normalised (clipped to [-1, 1]) -> (T, A) int64 token ids in [0, n_bins)."""
        return self._encode(as_chunk(chunk, self.config.action_dim))

    def decode(self, tokens: np.ndarray | list[int]) -> np.ndarray:
        """tokens (T, A) int -> (T, A) float32 bin centres. Ids outside [0, n_bins) clip to the edge bins."""
        return self.decode_batch(tokens)

    def encode_batch(self, chunks: np.ndarray) -> np.ndarray:
        """chunks (..., T, A) float, normalised -> (..., T, A) int64 token ids; any leading batch dims."""
        return self._encode(as_chunk(chunks, self.config.action_dim, batched=True))

    def decode_batch(self, tokens: np.ndarray | list[int]) -> np.ndarray:
        """tokens (..., T, A) int -> (..., T, A) float32 bin centres; any leading batch dims."""
        ids = np.asarray(tokens)
        if ids.size and not np.issubdtype(ids.dtype, np.number):
            raise ValueError(f"token ids must be integers, got dtype {ids.dtype}")
        # A model can emit any id; clipping keeps decode total (it never raises on a bad id).
        ids = np.clip(ids.astype(np.int64), 0, self.config.n_bins - 1)
        return self._centers[ids]

    def _encode(self, clipped: np.ndarray) -> np.ndarray:
        n_bins = self.config.n_bins
        # floor((x + 1) / w); x = +1 lands on n_bins and belongs to the last bin.
        ids = np.floor((clipped + 1.0) * (n_bins / 2.0)).astype(np.int64)
        return np.minimum(ids, n_bins - 1)

    def encode_tensor(self, chunks):
        """`encode_batch` for a torch tensor (..., T, A), on its device (training targets): the same
        mapping as `_encode`, without a trip through the host. No torch import: tensor methods only."""
        n_bins = self.config.n_bins
        ids = ((chunks.clamp(-1.0, 1.0) + 1.0) * (n_bins / 2.0)).floor().long()
        return ids.clamp(max=n_bins - 1)

    def save(self, path: Path) -> None:
        """Write the tokenizer to one JSON file (read back with `load_action_tokenizer` or `load`)."""
        write_tokenizer_json(path, self.scheme, asdict(self.config))

    @classmethod
    def load(cls, path: Path) -> BinningActionTokenizer:
        return cls.from_document(read_tokenizer_json(path), path)

    @classmethod
    def from_document(cls, document: dict[str, Any], path: Path) -> BinningActionTokenizer:
        """Build from a parsed tokenizer file (see `action_base.read_tokenizer_json`)."""
        if document["scheme"] != cls.scheme:
            raise ValueError(f"{path}: scheme {document['scheme']!r} is not {cls.scheme!r}")
        try:
            return cls(BinningConfig(**document["config"]))
        except TypeError as error:
            raise ValueError(f"{path}: bad config for the binning tokenizer ({error})") from error
