"""What widening a policy's ranges for fine-tuning data costs before any training step, and what the
rewrite of vla/training/widen_model.py keeps.

The ranges widen where `--new` (the fine-tuning dataset) leaves the policy's (vla/training/ranges.py).
The held-out loss and action error (degrees per joint) are then measured on `--old` (demonstrations of
the tasks the policy already does) for: the policy as shipped; the widened ranges with the model as it
was; the widened ranges with the model rewritten to act as before (what `vla train --policy.init` does).

    python bench/widening_cost.py --policy policies/tabletop_nano --new datasets/push_away_50 \
        --old datasets/gap_arrays [--json out.json]

`--old` is best a frame cache, raw frames as the shipped policy was trained on (the figures of docs/LOG.md,
2026-12-06 late night: `vla record --source expert --suite tabletop --episodes-per-task 2 --seed 700000
--arrays --workers 2 --root datasets/gap_arrays`).
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch

from vla.contract import camera_key
from vla.models.checkpoint import load_checkpoint
from vla.models.normalization import Normalization
from vla.training.batch_encoder import BatchEncoder
from vla.training.data import open_training_source
from vla.training.frames import arrays_stats, load_arrays
from vla.training.policy_setup import fine_tuning_bundle
from vla.training.ranges import with_data_ranges
from vla.training.validation import HeldOutLoss


def data_ranges(root: Path, bundle) -> Normalization:
    source, arrays = open_training_source(root, bundle.config)
    if arrays is None:
        arrays = load_arrays(source, [camera_key(camera) for camera in bundle.config.cameras])
    return Normalization.from_lerobot_stats(arrays_stats(arrays))


def measure(bundle, old: Path, batches: int) -> dict:
    held = HeldOutLoss(old, bundle, 64, batches, seed=0)
    encode = BatchEncoder(bundle, torch.device("cpu"), augment=False)
    metrics = held(bundle.model.eval(), encode, nullcontext())
    return {"frames": held.frames, "loss": metrics.loss, "action_error_deg": metrics.action_error.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--new", type=Path, required=True, help="the fine-tuning dataset")
    parser.add_argument("--old", type=Path, required=True, help="demonstrations of the policy's tasks")
    parser.add_argument("--batches", type=int, default=40, help="batches of 64 frames of --old")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    shipped = load_checkpoint(args.policy)
    data = data_ranges(args.new, shipped)
    widened = with_data_ranges(shipped.normalization, data, None, None, widen=True)
    rows = {
        "as shipped": measure(shipped, args.old, args.batches),
        "ranges widened, model as it was": measure(
            replace(shipped, normalization=widened), args.old, args.batches
        ),
        "ranges widened, model rewritten": measure(
            fine_tuning_bundle(load_checkpoint(args.policy), data, None, None, True), args.old, args.batches
        ),
    }
    for name, row in rows.items():
        error = " ".join(f"{e:.2f}" for e in row["action_error_deg"])
        print(f"{name:34s} loss {row['loss']:.4f}  action error (deg) [{error}]")
    if args.json:
        report = {"policy": str(args.policy), "new": str(args.new), "old": str(args.old), "rows": rows}
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
