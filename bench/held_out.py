"""Does a policy generalise beyond its training layouts? Loss and action error on held-out episodes.

    python bench/held_out.py --dataset datasets/tabletop_expert_2_s500k \
        --policy policies/tabletop_nano --policy runs/nano_cpu_ft/checkpoints/step_0001000 ...
        [--dataset datasets/tabletop_gpu_train_first2] [--batches 8] [--json results/bench/held_out.json]

For each checkpoint and each dataset (a LeRobot dataset or a frame cache): the chunk loss and the mean
|decoded action - expert action| per action dimension in the dataset's units (SO-101: degrees for the
five arm joints, 0-100 for the gripper), on a fixed seeded subset of frames, as `vla train --data.val_dataset`
computes them (vla/training/validation.py). Render held-out caches from seeds no training set uses:

    vla record --source expert --arrays --suite tabletop --episodes-per-task 2 --seed 500000 \
        --root datasets/tabletop_expert_2_s500k

Closed-loop success (`vla eval`) is the figure that counts; this one needs no simulator and shows
memorisation: a policy that only learnt its training layouts has a low loss on them and a high one here.

`--swap images|state|instruction` (repeatable) adds rows where that input comes from another frame of the
subset (the batch rolled by half its length, so mostly another episode and task) while the targets stay:
how much each input moves the prediction. A policy that reads its cameras loses accuracy when the images
are swapped; one that extrapolates from the joint state alone (the "copycat" shortcut of behaviour
cloning with proprioception) barely notices. `--swap blank-state` zeroes the joint state instead, the
input the removed `--state-dropout` trained with: how well the policy does from cameras and instruction alone.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from contextlib import nullcontext
from pathlib import Path

SWAPPABLE = ("images", "state", "instruction", "blank-state")


class SwappedInput:
    """The run's BatchEncoder, with one input rolled by half the batch: another frame's, same targets."""

    def __init__(self, encode, field: str):
        self.encode, self.field = encode, field

    def __call__(self, batch: dict, train: bool = False):
        import torch

        inputs = self.encode(batch, train=train)
        if self.field == "blank-state":  # what the removed --state-dropout trained with: no reading at all
            return dataclasses.replace(inputs, state=torch.zeros_like(inputs.state))
        shift = len(batch["state"]) // 2
        names = {"images": ["images"], "state": ["state"], "instruction": ["words", "sentence"]}[self.field]
        rolled = {
            name: torch.roll(getattr(inputs, name), shift, dims=0)
            for name in names
            if getattr(inputs, name) is not None
        }
        return dataclasses.replace(inputs, **rolled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, action="append", required=True, help="checkpoint folder")
    parser.add_argument("--dataset", type=Path, action="append", required=True, help="held-out episodes")
    parser.add_argument("--batches", type=int, default=8, help="batches of --batch-size frames")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", type=Path, help="write the rows here too")
    parser.add_argument(
        "--swap",
        action="append",
        default=[],
        choices=SWAPPABLE,
        help="also measure with this input taken from another frame (repeatable)",
    )
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
            held_out = HeldOutLoss(dataset, bundle, args.batch_size, args.batches)
            for swapped in [None, *args.swap]:
                encoder = encode if swapped is None else SwappedInput(encode, swapped)
                metrics = held_out(bundle.model, encoder, nullcontext())
                error = metrics.action_error
                rows.append(
                    [
                        str(folder),
                        dataset.name,
                        swapped or "-",
                        f"{metrics.loss:.3f}",
                        f"{error[:-1].mean():.1f}",
                        f"{error[-1]:.1f}",
                    ]
                )
                records.append(
                    {
                        "policy": str(folder),
                        "dataset": str(dataset),
                        "swapped": swapped,
                        "loss": metrics.loss,
                        "action_error": error.tolist(),
                    }
                )
    headers = ["policy", "dataset", "input swapped", "loss", "arm error (mean of joints)", "gripper error"]
    print(markdown_table(headers, rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
