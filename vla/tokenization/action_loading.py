"""`load_action_tokenizer`: read a tokenizer file of whichever scheme it names.

Its own module because it needs every scheme, and every scheme needs `action_base`'s helpers: kept in
`action_base` it made an import circle.
"""

from __future__ import annotations

from pathlib import Path

from vla.tokenization.action_base import ActionTokenizer, read_tokenizer_json
from vla.tokenization.action_bins import BinningActionTokenizer
from vla.tokenization.action_fast import FastActionTokenizer

SCHEMES = {cls.scheme: cls for cls in (BinningActionTokenizer, FastActionTokenizer)}


def load_action_tokenizer(path: Path) -> ActionTokenizer:
    """The tokenizer saved at `path` by `save`, of whichever scheme the file names ("bins" or "fast")."""
    document = read_tokenizer_json(path)
    cls = SCHEMES.get(document["scheme"])
    if cls is None:
        raise ValueError(f"{path}: unknown scheme {document['scheme']!r}; known: {sorted(SCHEMES)}")
    return cls.from_document(document, path)
