"""`vla export`: a checkpoint -> an ONNX export folder for the torch-free runtime (`vla.runtime`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    export = subparsers.add_parser(
        "export",
        help="export a policy for the torch-free runtime (ONNX)",
        description="Export the whole policy (vision tower, projector, language model, action head, token "
        "decoding, normalisation) to ONNX beside the JSON files the runtime needs. Variants: fp32, "
        "fp16 (GPU, TensorRT) and int8 (dynamic quantisation, CPU).",
    )
    export.add_argument("--policy", help="checkpoint folder (default: the shipped default policy)")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--out", type=Path, required=True, help="export folder to write")
    export.add_argument(
        "--variant",
        action="append",
        choices=["fp32", "fp16", "int8"],
        help="graph variant(s) to write (repeatable; default: all three)",
    )
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from vla.default_policy import default_policy
    from vla.export import VARIANTS, export_policy
    from vla.export.onnx_export import MANIFEST
    from vla.models.checkpoint import read_checkpoint_config
    from vla.runtime.errors import BadInputError

    policy = args.policy or default_policy()
    if policy == "expert":
        raise BadInputError("--policy expert: the scripted expert has no network; export a checkpoint")
    # A missing file or another format version: one line, before anything is written.
    read_checkpoint_config(Path(policy))
    if (args.out / MANIFEST).is_file():
        print(f"overwriting the export in {args.out}")
    export_policy(Path(policy), args.out, args.variant or list(VARIANTS))
    for path in sorted(args.out.iterdir()):
        print(f"  {path.name:28s} {path.stat().st_size / 1e6:8.2f} MB")
    print(f"export folder: {args.out}  (load with vla.runtime.RuntimePolicy)")
    return 0
