"""Does a policy generalise beyond its training layouts? Loss and action error on held-out episodes.

    python bench/held_out.py --dataset datasets/tabletop_expert_2_s500k \
        --policy policies/tabletop_nano --policy runs/nano_cpu_ft/checkpoints/step_0001000 ...
        [--dataset datasets/tabletop_gpu_train_first2] [--batches 8] [--json results/bench/held_out.json]

For each checkpoint and each dataset (a LeRobot dataset or a frame cache): the chunk loss and the mean
|decoded action - expert action| per action dimension in the dataset's units (SO-101: degrees for the
five arm joints, 0-100 for the gripper), on a fixed seeded subset of frames, as `vla train --val-dataset`
computes them (vla/training/validation.py). Render held-out caches from seeds no training set uses:

    vla record --source expert --arrays --suite tabletop --episodes-per-task 2 --seed 500000 \
        --root datasets/tabletop_expert_2_s500k

Closed-loop success (`vla eval`) is the figure that counts; this one needs no simulator and shows
memorisation: a policy that only learnt its training layouts has a low loss on them and a high one here.
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, action="append", required=True, help="checkpoint folder")
    parser.add_argument("--dataset", type=Path, action="append", required=True, help="held-out episodes")
    parser.add_argument("--batches", type=int, default=8, help="batches of --batch-size frames")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, help="write the rows here too")
    args = parser.parse_args()

    import torch

    from vla.models.checkpoint import load_checkpoint
    from vla.tables import markdown_table
    from vla.training.loop import BatchEncoder
    from vla.training.validation import HeldOutLoss

    rows, records = [], []
    for folder in args.policy:
        bundle = load_checkpoint(folder)
        encode = BatchEncoder(bundle, torch.device("cpu"), augment=False)
        for dataset in args.dataset:
            metrics = HeldOutLoss(dataset, bundle, args.batch_size, args.batches)(
                bundle.model, encode, nullcontext()
            )
            error = metrics.action_error
            rows.append(
                [
                    str(folder),
                    dataset.name,
                    f"{metrics.loss:.3f}",
                    f"{error[:-1].mean():.1f}",
                    f"{error[-1]:.1f}",
                ]
            )
            records.append(
                {
                    "policy": str(folder),
                    "dataset": str(dataset),
                    "loss": metrics.loss,
                    "action_error": error.tolist(),
                }
            )
    print(markdown_table(["policy", "dataset", "loss", "arm error (mean of joints)", "gripper error"], rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
