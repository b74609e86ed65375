"""Action tokenizers: control tokens for a VLA policy (uniform binning, FAST), torch-free.

Contract: normalised action chunks (T, A) in [-1, 1] in, the same out; one JSON file per tokenizer.
"""

from vla.tokenization.action_base import ActionTokenizer
from vla.tokenization.action_bins import BinningActionTokenizer, BinningConfig
from vla.tokenization.action_fast import FastActionTokenizer, FastConfig
from vla.tokenization.action_loading import load_action_tokenizer

__all__ = [
    "ActionTokenizer",
    "BinningActionTokenizer",
    "BinningConfig",
    "FastActionTokenizer",
    "FastConfig",
    "load_action_tokenizer",
]
