"""The checkpoint folder: self-describing, safetensors and JSON only (no pickle).

config.json            VLAConfig
backbone_config.json   the backbone's architecture (SmolVLMConfig), so no backbone folder is needed
model.safetensors      weights
normalization.json     state / action ranges
tokenizer.json         instruction tokenizer (`tokenizers` format)
action_tokenizer.json  control-token scheme
training_state.json    step and metrics (optional; optimizer state lives in optimizer.safetensors)

config.json carries the folder's `format_version`; a folder this code cannot read (a missing or corrupt
file, another format version, weights that do not fit the config) raises `BadInputError` naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from vla.models.configuration_vla import VLAConfig
from vla.models.modeling_vla import VLAModel
from vla.models.normalization import Normalization
from vla.models.pointer_heatmap import check_heatmap_weights
from vla.models.scene_objects import migrated_weights
from vla.runtime.errors import BadInputError, MissingInputError
from vla.tokenization import BinningActionTokenizer, load_action_tokenizer

CONFIG, WEIGHTS, NORMALIZATION = "config.json", "model.safetensors", "normalization.json"
BACKBONE_CONFIG = "backbone_config.json"
TEXT_TOKENIZER, ACTION_TOKENIZER = "tokenizer.json", "action_tokenizer.json"
REQUIRED_FILES = (CONFIG, BACKBONE_CONFIG, WEIGHTS, NORMALIZATION, TEXT_TOKENIZER, ACTION_TOKENIZER)

# The checkpoint folder's layout version, in config.json. Bump it when a change means code of the old version
# would misread a new folder or the reverse, and add a migration for the old one. A config.json without the
# field was written before the field existed by code whose layout is version 1 (the shipped
# policies/tabletop_nano among them), so it reads as version 1.
FORMAT_VERSION_KEY, FORMAT_VERSION = "format_version", 1


@dataclass
class PolicyBundle:
    """Everything a checkpoint folder holds, loaded."""

    config: VLAConfig
    model: VLAModel
    normalization: Normalization
    text_tokenizer: Tokenizer
    action_tokenizer: BinningActionTokenizer


def save_checkpoint(folder: Path, bundle: PolicyBundle, training_state: dict | None = None) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {FORMAT_VERSION_KEY: FORMAT_VERSION, **bundle.config.to_dict()}
    (folder / CONFIG).write_text(json.dumps(config, indent=2))
    (folder / BACKBONE_CONFIG).write_text(bundle.model.backbone.config.to_json_string())
    # contiguous() and clone(): safetensors refuses shared or strided storage.
    state = {k: v.detach().contiguous().clone() for k, v in bundle.model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    bundle.normalization.save(folder / NORMALIZATION)
    bundle.text_tokenizer.save(str(folder / TEXT_TOKENIZER))
    bundle.action_tokenizer.save(folder / ACTION_TOKENIZER)
    if training_state is not None:
        (folder / "training_state.json").write_text(json.dumps(training_state, indent=2))
    return folder


def read_checkpoint_config(folder: Path) -> VLAConfig:
    """The config of checkpoint `folder`, after checking what can be checked without loading weights: the
    folder and every required file exist, config.json parses and its format version is one this code reads.
    Raises MissingInputError / BadInputError naming the file and what to do."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingInputError(f"checkpoint folder {folder} does not exist")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing and (folder / "export.json").is_file():
        raise BadInputError(
            f"{folder} is an export folder (vla export's output), not a checkpoint: give the checkpoint "
            "folder it was exported from"
        )
    if missing:
        raise MissingInputError(
            f"checkpoint {folder} is missing {', '.join(missing)}: copy the whole folder that `vla train` "
            "wrote (checkpoints/last or step_*), or a clone without Git LFS files?"
        )
    path = folder / CONFIG
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInputError(f"{path}: not valid JSON ({error}); the checkpoint is damaged") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object; the checkpoint is damaged")
    version = data.pop(FORMAT_VERSION_KEY, FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise BadInputError(
            f"{path}: checkpoint format version {version!r}, this vla reads version {FORMAT_VERSION}; load "
            "it with the vla that wrote it (or a newer one that migrates it)"
        )
    try:
        return VLAConfig.from_dict(data)
    except (TypeError, ValueError) as error:
        raise BadInputError(f"{path}: {error} (written by another vla version?)") from None


def load_checkpoint(folder: Path, device: str = "cpu") -> PolicyBundle:
    """Load a checkpoint folder; a missing or unreadable file is named in the error (BadInputError)."""
    folder = Path(folder)
    config = read_checkpoint_config(folder)
    text_tokenizer = Tokenizer.from_file(str(folder / TEXT_TOKENIZER))
    backbone_config = json.loads((folder / BACKBONE_CONFIG).read_text())
    model = VLAModel(config, text_tokenizer.get_vocab_size(), backbone_config)
    weights = migrated_weights(_read_weights(folder / WEIGHTS, device))
    check_heatmap_weights(weights, str(folder / WEIGHTS))
    try:
        model.load_state_dict(weights)
    except RuntimeError as error:  # "Error(s) in loading state_dict ...: Missing key(s) ... Unexpected ..."
        detail = " ".join(str(error).split())[:300]
        raise BadInputError(
            f"{folder / WEIGHTS} does not fit {folder / CONFIG} ({detail}); the two files come from "
            "different runs: copy the whole checkpoint folder again"
        ) from None
    model.to(device).eval()
    return PolicyBundle(
        config,
        model,
        Normalization.load(folder / NORMALIZATION),
        text_tokenizer,
        load_action_tokenizer(folder / ACTION_TOKENIZER),
    )


def _read_weights(path: Path, device: str) -> dict:
    """model.safetensors as a state dict; a truncated or foreign file raises BadInputError naming it."""
    try:
        return load_file(str(path), device=device)
    except Exception as error:  # safetensors raises its own SafetensorError (and OSError) for a bad file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise BadInputError(
            f"corrupt weights file {path}: {reason}; copy the checkpoint folder again"
        ) from None
