"""What a fine-tune kept of the old tasks, offline in a minute: held-out loss, action error per joint,
task-choice accuracy and localisation error of each policy on demonstrations of the old tasks.

No simulator: the policies read recorded frames (`HeldOutLoss`, vla/training/validation.py, the same
fixed frames for every policy) and their task choice is scored against the recorded environment state.
A policy without a task choice reports none.

    python bench/old_task_probe.py --old datasets/gap_arrays --policy policies/tabletop_nano \
        --policy runs/<fine-tune>/checkpoints/last [--json out.json]

`--old`: fresh layouts of the old tasks, e.g. `vla record --source expert --suite tabletop
--episodes-per-task 2 --seed 700000 --arrays --workers 2 --root datasets/gap_arrays` (the figures of
docs/RESULTS.md, for the shipped policy and the fine-tune without replay). The fine-tune recipe's replay
is recorded from seed 700000 too, so for a policy that replayed it pick seeds it never saw (800000).
"""

from __future__ import annotations

import argparse
import json
from contextlib import nullcontext
from pathlib import Path

import torch

from vla.models.checkpoint import load_checkpoint
from vla.training.batch_encoder import BatchEncoder
from vla.training.validation import HeldOutLoss


@torch.no_grad()
def probe(policy: Path, old: Path, batches: int) -> dict:
    bundle = load_checkpoint(policy)
    model = bundle.model.eval()
    held = HeldOutLoss(old, bundle, 64, batches, seed=0)
    encode = BatchEncoder(bundle, torch.device("cpu"), augment=False)
    metrics = held(model, encode, nullcontext())
    choice = getattr(model.objects, "task_choice", None) if model.objects is not None else None
    right = None
    if choice is not None:
        hits = 0
        for batch in held.batches:
            inputs = encode(batch, train=False)
            hits += int(choice.loss(model.instruction_features(inputs), inputs.environment_state)[1].sum())
        right = hits / held.frames
    return {
        "frames": held.frames,
        "loss": metrics.loss,
        "action_error_deg": metrics.action_error.tolist(),
        "task_choice_right": right,
        "localisation_error_mm": None
        if metrics.localisation_error is None
        else metrics.localisation_error * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="demonstrations of the old tasks")
    parser.add_argument("--policy", type=Path, action="append", required=True, help="repeatable")
    parser.add_argument("--batches", type=int, default=40, help="batches of 64 frames of --old")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {str(policy): probe(policy, args.old, args.batches) for policy in args.policy}
    for name, row in rows.items():
        error = " ".join(f"{e:.1f}" for e in row["action_error_deg"])
        choice = "-" if row["task_choice_right"] is None else f"{row['task_choice_right']:.1%}"
        located = "-" if row["localisation_error_mm"] is None else f"{row['localisation_error_mm']:.1f} mm"
        print(f"{name}: loss {row['loss']:.3f}, action error [{error}] deg, choice {choice}, {located}")
    if args.json:
        args.json.write_text(json.dumps({"old": str(args.old), "policies": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
