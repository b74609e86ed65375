"""Where a fine-tune's forgetting falls on the table: the episodes a policy won before and lost after, by
how far their task's object started from a point (by default the middle of `push_away`'s start box).

Both evaluations must be of the same suite and seeds (`vla eval ... --out`); each episode's layout is
rebuilt by resetting the simulator with its task and seed (no rendering), and the task object's start
position is read from the environment state. Prints, per task family, the episodes won before and lost
after against those kept, with the median distance (m), and a Mann-Whitney U test pooled over the
families that hold any such episode.

    python bench/lost_episode_layouts.py results/tabletop_nano_tabletop_before_e20/eval_info.json \
        docs/results/finetune_push_away/ft_push_away_d50_r0.5x25n3_lora0_lr1e-4_tabletop_nano_tabletop_e20.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu

from sim.env import TabletopEnv
from sim.tasks.push import AWAY_START_BOX


def outcomes(path: Path) -> tuple[str, dict[tuple[str, int], bool]]:
    info = json.loads(path.read_text())
    return info["suite"], {(e["task"], e["seed"]): bool(e["success"]) for e in info["per_episode"]}


def object_start_xy(suite: str, episodes: list[tuple[str, int]]) -> dict[tuple[str, int], np.ndarray]:
    """(task, seed) -> (2,) the task object's start x, y in m, world frame."""
    starts = {}
    for task in sorted({task for task, _ in episodes}):
        env = TabletopEnv(suite=suite, task=task, render_mode=None, pixels=False)
        names = env.environment_state_names
        for _, seed in sorted(e for e in episodes if e[0] == task):
            env.reset(seed=seed)
            state = dict(zip(names, env.environment_state(), strict=True))
            starts[(task, seed)] = np.array([state["task_object.x"], state["task_object.y"]])
        env.close()
    return starts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="eval_info.json of the policy before fine-tuning")
    parser.add_argument("after", type=Path, help="eval_info.json of the fine-tuned policy, same seeds")
    centre = [float(np.mean(AWAY_START_BOX[0])), float(np.mean(AWAY_START_BOX[1]))]
    parser.add_argument("--point", type=float, nargs=2, default=centre, metavar=("X", "Y"))
    args = parser.parse_args()

    suite, before = outcomes(args.before)
    suite_after, after = outcomes(args.after)
    if suite != suite_after or set(before) != set(after):
        raise ValueError(f"{args.before} and {args.after} are not the same suite and seeds")
    won_before = [episode for episode, success in before.items() if success]
    distance = {
        episode: float(np.linalg.norm(xy - np.array(args.point)))
        for episode, xy in object_start_xy(suite, won_before).items()
    }
    lost_all, kept_all = [], []
    print(f"object start distance from ({args.point[0]:.3f}, {args.point[1]:.3f}) m, episodes won before")
    for family in sorted({task.split("_")[0] for task, _ in won_before}):
        mine = [e for e in won_before if e[0].split("_")[0] == family]
        lost = [distance[e] for e in mine if not after[e]]
        kept = [distance[e] for e in mine if after[e]]
        lost_median = f"{np.median(lost):.3f}" if lost else "-"
        kept_median = f"{np.median(kept):.3f}" if kept else "-"
        print(f"{family:6s} lost {len(lost):3d} (median {lost_median}), kept {len(kept):3d} ({kept_median})")
        if lost:
            lost_all += lost
            kept_all += kept
    if lost_all and kept_all:
        test = mannwhitneyu(lost_all, kept_all)
        print(
            f"pooled over families with losses: lost {len(lost_all)} median {np.median(lost_all):.3f}, kept "
            f"{len(kept_all)} median {np.median(kept_all):.3f}, Mann-Whitney U p = {test.pvalue:.4f}"
        )


if __name__ == "__main__":
    main()
