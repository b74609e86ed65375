"""Reading an export folder: export.json (what was exported) and config.json (the policy's shapes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FORMAT_NAME = "vla.onnx_export"  # the writer is vla/export/onnx_export.py
MANIFEST = "export.json"


@dataclass(frozen=True)
class ExportFolder:
    """The facts the runtime needs, read from the folder's JSON files."""

    path: Path
    variants: dict[str, str]  # variant name -> .onnx file name
    cameras: tuple[str, ...]
    image_size: int  # px; frames of another size are resized
    state_dim: int
    action_dim: int
    chunk_length: int
    max_instruction_tokens: int
    sentence_encoder: dict | None  # {"model", "tokenizer", "dim"} or None

    @classmethod
    def read(cls, folder: Path | str) -> ExportFolder:
        path = Path(folder).expanduser()
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            hint = (
                " (a checkpoint folder? run `vla export` first)"
                if (path / "model.safetensors").is_file()
                else ""
            )
            raise FileNotFoundError(f"{path} is not an export folder: no {MANIFEST}{hint}")
        manifest = _read_json(manifest_path)
        if manifest.get("format") != FORMAT_NAME:
            raise ValueError(
                f"{manifest_path}: format is {manifest.get('format')!r}, expected {FORMAT_NAME!r}"
            )
        config = _read_json(path / "config.json")
        folder_facts = cls(
            path=path,
            variants=dict(manifest["variants"]),
            cameras=tuple(config["cameras"]),
            image_size=int(config["vision"]["image_size"]),
            state_dim=int(config["state_dim"]),
            action_dim=int(config["action_dim"]),
            chunk_length=int(config["chunk_length"]),
            max_instruction_tokens=int(config["text"]["max_instruction_tokens"]),
            sentence_encoder=manifest.get("sentence_encoder"),
        )
        needed = list(folder_facts.variants.values()) + ["tokenizer.json"]
        if folder_facts.sentence_encoder:
            needed += [folder_facts.sentence_encoder["model"], folder_facts.sentence_encoder["tokenizer"]]
        missing = [name for name in needed if not (path / name).is_file()]
        if missing:
            raise FileNotFoundError(f"export folder {path} is missing {', '.join(missing)}")
        return folder_facts

    def model_path(self, variant: str) -> Path:
        if variant not in self.variants:
            raise KeyError(f"{self.path} has no {variant!r} variant; it has {', '.join(self.variants)}")
        return self.path / self.variants[variant]


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"export folder file missing: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from error
