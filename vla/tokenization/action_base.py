"""The `ActionTokenizer` interface and its one-file JSON format (loading: `action_loading`).

An action tokenizer turns a normalised action chunk (T, A) with values in [-1, 1] into discrete control
tokens and back. Normalisation (per-joint 1st/99th percentiles mapped to [-1, 1], as OpenVLA and FAST do)
happens outside: the tokenizer's contract is normalised chunks in, normalised chunks out. Values outside
[-1, 1] are clipped on the way in.

Torch-free on purpose: the deployment runtime (numpy + onnxruntime + tokenizers) decodes with this code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

FORMAT_NAME = "vla.action_tokenizer"
FORMAT_VERSION = 1


@runtime_checkable
class ActionTokenizer(Protocol):
    """The surface shared by every action-tokenization scheme.

    - `scheme`: the name written in the JSON file ("bins", "fast"); `load_action_tokenizer` dispatches on it.
    - `vocab_size`: token ids lie in [0, vocab_size).
    - `encode(chunk)`: chunk (T, A) float, normalised -> token ids. The layout depends on the scheme:
      binning gives a (T, A) int64 array (one token per joint per step), FAST a variable-length list.
    - `decode(tokens)`: token ids -> (T, A) float32 normalised chunk. Never raises on ids a model may emit.
    - `save(path)`: one self-describing JSON file.
    """

    scheme: ClassVar[str]

    @property
    def vocab_size(self) -> int: ...

    def encode(self, chunk: np.ndarray) -> np.ndarray | list[int]: ...

    def decode(self, tokens: np.ndarray | list[int]) -> np.ndarray: ...

    def save(self, path: Path) -> None: ...


def as_chunk(chunk: np.ndarray, action_dim: int, *, batched: bool = False) -> np.ndarray:
    """`chunk` as float64, checked to be (T, A) (or (..., T, A) when `batched`) and clipped to [-1, 1]."""
    array = np.asarray(chunk, dtype=np.float64)
    if array.ndim < 2 or (array.ndim != 2 and not batched) or array.shape[-1] != action_dim:
        expected = "(..., T, A)" if batched else "(T, A)"
        raise ValueError(
            f"action chunk must have shape {expected} with A={action_dim} joints, got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("action chunk contains NaN or inf; normalise finite actions before tokenizing")
    return np.clip(array, -1.0, 1.0)


def write_tokenizer_json(path: Path, scheme: str, config: dict[str, Any], **payload: Any) -> None:
    """Write the tokenizer file atomically (temp file + rename), so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "scheme": scheme, "config": config}
    document.update(payload)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def read_tokenizer_json(path: Path) -> dict[str, Any]:
    """The parsed tokenizer file, with an error naming the file and the missing field if it is not one."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON action-tokenizer file ({error})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"{path}: expected a JSON object with format={FORMAT_NAME!r}")
    if document.get("version") != FORMAT_VERSION:
        version = document.get("version")
        raise ValueError(f"{path}: format version {version!r}, this code reads {FORMAT_VERSION}")
    for field in ("scheme", "config"):
        if field not in document:
            raise ValueError(f"{path}: missing field {field!r}")
    return document
