"""Reading an export folder: export.json (what was exported) and config.json (the policy's shapes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vla.runtime.errors import BadInputError, MissingInputError

# What vla/export/onnx_export.py writes. FORMAT_VERSION changes whenever a change to the folder's files or
# the graph's inputs/outputs means a reader of the old version would misread the new one (or the reverse).
# Version 2 (2026-12-06): the policy graph outputs `abstain`.
FORMAT_NAME, FORMAT_VERSION = "vla.onnx_export", 2
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
    source_checkpoint: str | None = None  # the checkpoint it was exported from, for the re-export hint

    @property
    def remedy(self) -> str:
        """What to do about a bad export: the command that writes a good one in its place."""
        source = self.source_checkpoint or "<checkpoint folder>"
        return f"re-export it with `vla export --policy {source} --out {self.path}`"

    @classmethod
    def read(cls, folder: Path | str) -> ExportFolder:
        """The folder's facts; a missing, foreign or other-version folder raises BadInputError naming it."""
        path = Path(folder).expanduser()
        manifest_path = path / MANIFEST
        if not path.is_dir():
            raise MissingInputError(f"export folder {path} does not exist; write one with `vla export`")
        if not manifest_path.is_file():
            hint = (
                " (a checkpoint folder? run `vla export` first)"
                if (path / "model.safetensors").is_file()
                else ""
            )
            raise MissingInputError(f"{path} is not an export folder: no {MANIFEST}{hint}")
        manifest = _read_json(manifest_path)
        if manifest.get("format") != FORMAT_NAME:
            raise BadInputError(
                f"{manifest_path}: format is {manifest.get('format')!r}, expected {FORMAT_NAME!r} "
                "(write an export folder with `vla export`)"
            )
        source = manifest.get("source_checkpoint")
        version = manifest.get("version")
        if version != FORMAT_VERSION:
            found = "no format version" if version is None else f"format version {version!r}"
            raise BadInputError(
                f"{manifest_path}: {found}, this vla reads version {FORMAT_VERSION}; re-export it with this "
                f"vla (`vla export --policy {source or '<checkpoint folder>'} --out {path}`) or run it with "
                "the vla that wrote it"
            )
        config = _read_json(path / "config.json")
        try:
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
                source_checkpoint=source,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BadInputError(
                f"export folder {path}: export.json or config.json lacks or garbles {error}; "
                f"re-export it with `vla export --policy {source or '<checkpoint folder>'} --out {path}`"
            ) from None
        needed = list(folder_facts.variants.values()) + ["tokenizer.json"]
        if folder_facts.sentence_encoder:
            needed += [folder_facts.sentence_encoder["model"], folder_facts.sentence_encoder["tokenizer"]]
        missing = [name for name in needed if not (path / name).is_file()]
        if missing:
            raise MissingInputError(
                f"export folder {path} is missing {', '.join(missing)}; {folder_facts.remedy}"
            )
        return folder_facts

    def model_path(self, variant: str) -> Path:
        if variant not in self.variants:
            raise BadInputError(f"{self.path} has no {variant!r} variant; it has {', '.join(self.variants)}")
        return self.path / self.variants[variant]


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise MissingInputError(f"export folder file missing: {path}; write the folder with `vla export`")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadInputError(
            f"{path}: not valid JSON ({error}); re-export the folder with `vla export`"
        ) from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a JSON object; re-export the folder with `vla export`")
    return data
