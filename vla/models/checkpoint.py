"""The checkpoint folder: self-describing, safetensors and JSON only (no pickle).

config.json            VLAConfig
backbone_config.json   the backbone's architecture (SmolVLMConfig), so no backbone folder is needed
model.safetensors      weights
normalization.json     state / action ranges
tokenizer.json         instruction tokenizer (`tokenizers` format)
action_tokenizer.json  control-token scheme
training_state.json    step and metrics (optional; optimizer state lives in optimizer.safetensors)
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
from vla.tokenization import BinningActionTokenizer, load_action_tokenizer

CONFIG, WEIGHTS, NORMALIZATION = "config.json", "model.safetensors", "normalization.json"
BACKBONE_CONFIG = "backbone_config.json"
TEXT_TOKENIZER, ACTION_TOKENIZER = "tokenizer.json", "action_tokenizer.json"
REQUIRED_FILES = (CONFIG, BACKBONE_CONFIG, WEIGHTS, NORMALIZATION, TEXT_TOKENIZER, ACTION_TOKENIZER)


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
    (folder / CONFIG).write_text(json.dumps(bundle.config.to_dict(), indent=2))
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


def load_checkpoint(folder: Path, device: str = "cpu") -> PolicyBundle:
    """Load a checkpoint folder; a missing file is named in the error."""
    folder = Path(folder)
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"checkpoint {folder} is missing {', '.join(missing)}")
    config = VLAConfig.from_dict(json.loads((folder / CONFIG).read_text()))
    text_tokenizer = Tokenizer.from_file(str(folder / TEXT_TOKENIZER))
    backbone_config = json.loads((folder / BACKBONE_CONFIG).read_text())
    model = VLAModel(config, text_tokenizer.get_vocab_size(), backbone_config)
    model.load_state_dict(load_file(str(folder / WEIGHTS), device=device))
    model.to(device).eval()
    return PolicyBundle(
        config,
        model,
        Normalization.load(folder / NORMALIZATION),
        text_tokenizer,
        load_action_tokenizer(folder / ACTION_TOKENIZER),
    )
