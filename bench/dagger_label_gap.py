"""How far the expert's DAgger labels sit from the states they label, against its own demonstrations.

For each task, episodes driven by `--policy` (DAgger, vla/record_arrays.py) and the expert's own episodes
on the same seeds: the gap |action[t] - state[t]| over the five arm joints in degrees, pooled over frames.
A plan timed from reset labels a lagging arm with where the plan already is, so a large gap means
labels that ask for jumps no demonstration makes. Run: python bench/dagger_label_gap.py --policy P
"""

from __future__ import annotations

import argparse

import numpy as np

import sim  # noqa: F401  (headless GL before mujoco loads)
from sim.robot import ARM_JOINTS
from sim.tasks import suite_tasks
from vla.record_arrays import ExpertJob, run_expert_job


def arm_gaps(episodes: list[dict]) -> np.ndarray:
    """(frames,) largest arm-joint gap between the label and the state, degrees."""
    arm = len(ARM_JOINTS)
    return np.concatenate([np.abs(e["action"][:, :arm] - e["state"][:, :arm]).max(axis=1) for e in episodes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="checkpoint or export folder that drives")
    parser.add_argument("--episodes", type=int, default=3, help="per task")
    parser.add_argument("--seed", type=int, default=2_000_000, help="first layout seed")
    args = parser.parse_args()
    print("| task | frames driven / expert | label gap p50 driven / expert | p90 driven / expert |")
    print("|---|---|---|---|")
    pooled = {"driven": [], "expert": []}
    for task in [t.name for t in suite_tasks("tabletop")]:
        driven = arm_gaps(
            run_expert_job(ExpertJob("tabletop", task, args.seed, args.episodes, driver=args.policy))
        )
        expert = arm_gaps(run_expert_job(ExpertJob("tabletop", task, args.seed, args.episodes)))
        pooled["driven"].append(driven)
        pooled["expert"].append(expert)
        print(
            f"| {task} | {len(driven)} / {len(expert)} | {np.median(driven):.1f} / {np.median(expert):.1f}° "
            f"| {np.percentile(driven, 90):.1f} / {np.percentile(expert, 90):.1f}° |"
        )
    driven, expert = np.concatenate(pooled["driven"]), np.concatenate(pooled["expert"])
    print(
        f"| **all** | {len(driven)} / {len(expert)} | {np.median(driven):.1f} / {np.median(expert):.1f}° "
        f"| {np.percentile(driven, 90):.1f} / {np.percentile(expert, 90):.1f}° |"
    )


if __name__ == "__main__":
    main()
