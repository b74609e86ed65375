"""A policy's actions on fixed simulator frames, as digests: did a code change alter what the policy does?

    python bench/policy_actions_digest.py --policy policies/tabletop_nano --out /tmp/after.json
    git worktree add /tmp/before <commit> && (cd /tmp/before && python /path/to/this --out /tmp/before.json)
    diff /tmp/before.json /tmp/after.json

For `--frames` seeded resets of each task of the suite: the SHA-256 of the actions (T, A) and of the
confidence (T,) that `infer` returns, as float32 bytes, and the first action (degrees) for a reader. Equal
digests mean bit-identical outputs. Run it from the checkout under test: it imports `vla` from the
current directory first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np


def digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float32).tobytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="policies/tabletop_nano")
    parser.add_argument("--suite", default="tabletop")
    parser.add_argument("--frames", type=int, default=2, help="seeded resets per task")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(Path.cwd()))  # the checkout under test, before any installed vla

    from sim.env import TabletopEnv
    from sim.tasks import suite_tasks
    from vla.evaluation.policies import policy_observation
    from vla.policy import VLAPolicy

    policy = VLAPolicy.from_checkpoint(args.policy)
    rows = []
    for task in suite_tasks(args.suite):
        env = TabletopEnv(task=task.name, suite=args.suite)
        for seed in range(args.frames):
            observation, _ = env.reset(seed=seed)
            out = policy.infer(policy_observation(observation, env.instruction))
            rows.append(
                {
                    "task": task.name,
                    "seed": seed,
                    "actions_sha256": digest(out["actions"]),
                    "confidence_sha256": digest(out["confidence"]),
                    "first_action_deg": np.round(out["actions"][0], 4).tolist(),
                }
            )
        env.close()
    args.out.write_text(json.dumps({"policy": str(args.policy), "frames": rows}, indent=1) + "\n")
    print(f"{len(rows)} frames -> {args.out}")


if __name__ == "__main__":
    main()
