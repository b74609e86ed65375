"""Does the policy refuse where the named object is missing, and only there? On first frames, no rollout.

    python bench/abstain_first_frames.py --policy runs/<run>/checkpoints/last [--seeds 1]
        [--first-seed 5000000] [--json out.json]

For every task of `tabletop_compose`'s absent split and of its training compositions, `--seeds` layouts each
(seeds from `--first-seed`, a validation range no reported figure uses), the episode's first frame goes
through the policy once (`VLAPolicy.infer`, the chunk the closed loop would execute first). Reports per
split the share whose `abstain` reaches vla.contract.ABSTAIN_THRESHOLD (on the absent split: refused in
time; on the training compositions: a false refusal), per family on the absent split, and the AUROC of
`abstain` between the two (1: some threshold separates them; 0.5: chance).

Why: `vla eval`'s "abstained in the first second" is the highest `abstain` of the chunks inferred in that
second, with the arm at rest, so the first frame predicts it at about a tenth of a rollout's cost; and
split by family it says which instructions the head cannot check against the scene.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def measure(policy_folder: Path, seeds: int, first_seed: int) -> dict:
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from vla.contract import ABSTAIN_THRESHOLD
    from vla.evaluation.policies import policy_observation
    from vla.policy import VLAPolicy

    policy = VLAPolicy.from_checkpoint(policy_folder)
    rows = []
    for split in ("absent", "train"):
        env = TabletopEnv(suite="tabletop_compose", split=split)
        for task in env.tasks:
            for seed in range(first_seed, first_seed + seeds):
                obs, _ = env.reset(seed=seed, options={"task": task.name})
                policy.reset()
                chunk = policy.infer(policy_observation(obs, env.task_description))
                abstain = float(chunk["abstain"])  # 0 for a policy without an abstain head
                rows.append({"split": split, "task": task.name, "seed": seed, "abstain": abstain})
        env.close()
    summary = {}
    for split in ("absent", "train"):
        scores = np.array([r["abstain"] for r in rows if r["split"] == split])
        summary[split] = {"layouts": len(scores), "refused": float(np.mean(scores >= ABSTAIN_THRESHOLD))}
    for family in ("pick", "place", "push", "stack"):
        mine = [r["abstain"] >= ABSTAIN_THRESHOLD for r in rows if r["task"].startswith(f"absent_{family}_")]
        summary["absent"][f"refused_{family}"] = float(np.mean(mine))
    absent = np.array([r["abstain"] for r in rows if r["split"] == "absent"])
    present = np.array([r["abstain"] for r in rows if r["split"] == "train"])
    # AUROC: the chance that an absent layout scores above a present one (ties count half)
    above = (absent[:, None] > present[None, :]).mean() + 0.5 * (absent[:, None] == present[None, :]).mean()
    return summary | {"auroc": float(above), "threshold": ABSTAIN_THRESHOLD, "layouts": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=1, help="layouts per task")
    parser.add_argument("--first-seed", type=int, default=5_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.policy, args.seeds, args.first_seed)
    print(json.dumps({k: v for k, v in result.items() if k != "layouts"}))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
