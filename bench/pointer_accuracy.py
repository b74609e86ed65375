"""Where does an instruction-pointer policy point, and how far off are its positions? On first frames.

    python bench/pointer_accuracy.py --policy runs/<run>/checkpoints/last [--split train] [--seeds 2]
        [--first-seed 5000000] [--json out.json]

For every task of a `tabletop_compose` split and `--seeds` layouts each (seeds from `--first-seed`, a
validation range no reported figure uses), the episode's first frame (the arm at rest, where the
pointer's first CPU run stopped every episode) goes through the policy's pointer once. Per role (the task
object, then its destination):

- `token_accuracy`: the share whose likeliest answer is the front-camera token that shows the recorded
  position (vla/training/pointing_labels.py), over roles in view;
- `answers`: how often the likeliest answer is a front token, a wrist token, the place or "nothing";
- `error_cm`: median and 90th percentile of |predicted - recorded| in the table's plane (x, y), cm.
  A 3 cm cube needs ~0.5 cm. `likeliest_token_error_cm`: the same for the likeliest token's read-out
  alone, and `peak`: the softmax's largest weight (an error from weight spread over tokens, or from the
  read-out itself). `closer_to_other_role`: the share of layouts whose predicted position lies nearer
  the other role's recorded one than its own (the roles' words bound to the wrong objects).

It renders and runs one forward pass per layout: ~1 s each on CPU-2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def measure(policy_folder: Path, split: str, seeds: int, first_seed: int) -> dict:
    import torch

    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from vla.evaluation.policies import policy_observation
    from vla.models.task_choice import TASK_VALUES, metres_from_normalised
    from vla.policy import VLAPolicy
    from vla.training.pointing_labels import PointingLabels

    policy = VLAPolicy.from_checkpoint(policy_folder)
    model, ranges = policy.model, policy.bundle.normalization.environment_state
    env = TabletopEnv(suite="tabletop_compose", split=split)
    cameras = tuple(policy.config.cameras)
    tokens = model.image_token_count()
    labels = PointingLabels.front_camera(
        1.0, env.config, cameras, tokens // len(cameras), ranges.low, ranges.high
    )
    low = torch.as_tensor(ranges.low[-TASK_VALUES:])
    high = torch.as_tensor(ranges.high[-TASK_VALUES:])
    front = range(labels.first_token, labels.first_token + labels.grid**2)
    pointer = model.objects.pointer
    rows = []
    with torch.inference_mode():
        for task in env.tasks:
            for seed in range(first_seed, first_seed + seeds):
                obs, _ = env.reset(seed=seed, options={"task": task.name})
                environment = env.environment_state()  # (E,) metres
                recorded = torch.as_tensor(environment[-TASK_VALUES:]).unsqueeze(0)  # (1, 6) metres
                policy.reset()
                batch = policy.batch_from_observation(policy_observation(obs, env.task_description))
                images = model.image_tokens(batch.images)
                instruction = model.pointer_instruction(batch)
                log_pointing = pointer.log_role_absence(instruction, images, batch.images)[0]  # (R, M + 2)
                positions, _ = pointer.point(instruction, images, batch.images)
                predicted = metres_from_normalised(positions, low, high)[0].view(2, 3)
                # the likeliest token's own read-out: the same pass with the scores 150x sharper, so that
                # an error from weight spread over several tokens tells apart from the read-out's own
                pointer.score_scale += 5.0
                sharp, _ = pointer.point(instruction, images, batch.images)
                pointer.score_scale -= 5.0
                sharp = metres_from_normalised(sharp, low, high)[0].view(2, 3)
                state = torch.as_tensor(ranges.normalize(environment)).unsqueeze(0)  # (1, E) normalised
                target, in_view = labels.targets(state, tokens)
                for role in range(2):
                    answer = int(log_pointing[role].argmax())
                    rows.append(
                        {
                            "task": task.name,
                            "family": task.name.split("_")[0],
                            "seed": seed,
                            "role": ("object", "destination")[role],
                            "in_view": bool(in_view[0, role]),
                            "hit": answer == int(target[0, role].argmax()),
                            "answer": "front"
                            if answer in front
                            else "wrist"
                            if answer < tokens
                            else ("place", "nothing")[answer - tokens],
                            "error_cm": planar_cm(predicted[role], recorded[0, 3 * role : 3 * role + 3]),
                            # how far from the other role's object: a role binding its words to the
                            # wrong object (a stack's base taken for its cube) lands near there
                            "other_role_cm": planar_cm(
                                predicted[role], recorded[0, 3 * (1 - role) : 3 * (1 - role) + 3]
                            ),
                            "likeliest_token_error_cm": planar_cm(
                                sharp[role], recorded[0, 3 * role : 3 * role + 3]
                            ),
                            "peak": float(log_pointing[role].exp().max()),
                        }
                    )
    env.close()
    return summarise(rows) | {"episodes": rows}


def planar_cm(predicted, recorded) -> float:
    """|predicted - recorded| in the table's plane (x, y), cm, of two (3,) positions in metres."""
    return 100.0 * float(((predicted[:2] - recorded[:2]) ** 2).sum().sqrt())


def summarise(rows: list[dict]) -> dict:
    summary = {}
    for role in ("object", "destination"):
        mine = [r for r in rows if r["role"] == role]
        seen = [r for r in mine if r["in_view"]]
        errors = np.array([r["error_cm"] for r in mine])
        answers = {a: sum(r["answer"] == a for r in mine) for a in ("front", "wrist", "place", "nothing")}
        summary[role] = {
            "layouts": len(mine),
            "token_accuracy": float(np.mean([r["hit"] for r in seen])) if seen else None,
            "answers": answers,
            "error_cm_median": float(np.median(errors)),
            "error_cm_p90": float(np.percentile(errors, 90)),
            "closer_to_other_role": float(np.mean([r["other_role_cm"] < r["error_cm"] for r in mine])),
            "likeliest_token_error_cm_median": float(
                np.median([r["likeliest_token_error_cm"] for r in mine])
            ),
            "peak_median": float(np.median([r["peak"] for r in mine])),
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--split", default="train", choices=("train", "heldout"))
    parser.add_argument("--seeds", type=int, default=2, help="layouts per task")
    parser.add_argument("--first-seed", type=int, default=5_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.policy, args.split, args.seeds, args.first_seed)
    for role in ("object", "destination"):
        print(role, json.dumps(result[role]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
