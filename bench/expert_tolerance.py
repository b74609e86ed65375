"""How accurate must a policy's actions be? The scripted expert with its joint targets perturbed.

    python bench/expert_tolerance.py [--episodes-per-task 4] [--bias 2 --bias 4 --bias 8] [--noise 3]
        [--joint-bias 3] [--bursts 3] [--workers 2] [--json results/bench/expert_tolerance.json]

With no perturbation flag it runs bias 2, 4, 8, noise 3 and joint bias 3; with any, only those given.

Perturbations of the expert's arm-joint targets (the gripper is left alone), in degrees:
- bias: one constant offset per episode, +size or -size on each of the five arm joints (a random sign per
  joint), as a policy that misjudges where the cube is would make;
- joint bias: the same offset on one arm joint at a time, the others as planned: which joints need the
  accuracy (a policy's held-out error differs a lot between joints);
- noise: independent Gaussian noise of standard deviation `size` on every joint at every step;
- bursts: the perturbations `vla record --expert-noise-deg` records under (sim/expert_noise.py): offsets
  up to +-size held for 0.2-0.6 s between quiet gaps. How many perturbed demonstrations survive, and so
  how much longer a recording with that noise takes.

The expert plans once per episode and does not correct itself, so this is a lower bound on what a
closed-loop policy could tolerate; it puts the held-out action error of `bench/held_out.py` (degrees) on
the same scale as task success. Seeds 0.. of every task, the same for every perturbation; no rendering.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def success_rate(perturbation: tuple[str, float, int | None], episodes_per_task: int) -> dict:
    """Per-task successes of the expert under one perturbation: ("none" | "bias" | "noise" | "bursts",
    degrees, the one arm joint biased or None for all)."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.expert_noise import ExpertNoise
    from sim.robot import ARM_JOINTS
    from sim.rollout import ExpertRunner
    from sim.tasks import suite_tasks

    kind, size, joint = perturbation
    env = TabletopEnv(render_mode=None, pixels=False)
    runner = ExpertRunner(env, ExpertNoise(size) if kind == "bursts" else None)
    arm = len(ARM_JOINTS)
    per_task = {}
    for task in [t.name for t in suite_tasks("tabletop")]:
        successes = 0
        for seed in range(episodes_per_task):
            if kind == "bursts":  # the recording's own code path
                successes += runner.run_episode(seed, task).success
                continue
            rng = np.random.default_rng(seed + 777)
            offset = np.zeros(arm + 1)
            if kind == "bias":
                offset[:arm] = rng.choice([-1.0, 1.0], arm) * size
                if joint is not None:  # that joint's offset alone (the same sign as in the all-joint runs)
                    offset[np.arange(arm + 1) != joint] = 0.0
            observation, info = env.reset(seed=seed, options={"task": task})
            runner.start(observation)
            for _ in range(env.max_episode_steps):
                action = runner.act().astype(np.float64) + offset
                if kind == "noise":
                    action[:arm] += rng.normal(0.0, size, arm)
                observation, _, terminated, truncated, info = env.step(action.astype(np.float32))
                if terminated or truncated:
                    break
            successes += bool(info["is_success"])
        per_task[task] = successes
    env.close()
    return {
        "perturbation": kind,
        "degrees": size,
        "joint": ARM_JOINTS[joint] if joint is not None else None,
        "per_task": per_task,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes-per-task", type=int, default=4)
    parser.add_argument("--bias", type=float, action="append", help="degrees (repeatable); default 2, 4, 8")
    parser.add_argument("--noise", type=float, action="append", help="degrees (repeatable); default 3")
    parser.add_argument(
        "--joint-bias",
        type=float,
        action="append",
        help="degrees on one joint at a time (repeatable); default 3",
    )
    parser.add_argument("--bursts", type=float, action="append", help="degrees (repeatable), as recorded")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from sim.robot import ARM_JOINTS

    if not (args.bias or args.noise or args.joint_bias or args.bursts):
        args.bias, args.noise, args.joint_bias = [2.0, 4.0, 8.0], [3.0], [3.0]
    perturbations = [("none", 0.0, None)]
    perturbations += [("bias", b, None) for b in args.bias or []]
    perturbations += [("noise", n, None) for n in args.noise or []]
    perturbations += [("bias", b, j) for b in args.joint_bias or [] for j in range(len(ARM_JOINTS))]
    perturbations += [("bursts", b, None) for b in args.bursts or []]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(success_rate, perturbations, [args.episodes_per_task] * len(perturbations)))

    from vla.tables import markdown_table

    tasks = list(rows[0]["per_task"])
    table = []
    for row in rows:
        total = sum(row["per_task"].values())
        episodes = args.episodes_per_task * len(tasks)
        label = (
            "expert as planned"
            if row["perturbation"] == "none"
            else f"{row['perturbation']} {row['degrees']:g}°"
            + (f" on {row['joint']}" if row["joint"] else "")
        )
        table.append([label, f"{total}/{episodes}", *row["per_task"].values()])
    print(markdown_table(["arm-joint targets", "successes", *tasks], table))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
