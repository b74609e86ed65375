"""Rendered steps/s of the compose scene with its cylinders drawn at COMPOSE_CYLINDER_STACKS against MuJoCo's
default 16 stacks, alternating in one process (the same episodes and steps as `vla bench sim`).

    MUJOCO_GL=egl python bench/compose_stacks.py --runs 4 --json docs/results/compose_stacks.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics

import sim.scene
from sim.benchmark import measure
from sim.scene import SceneConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    shipped = sim.scene.COMPOSE_CYLINDER_STACKS
    rates: dict[int, list[float]] = {shipped: [], 16: []}
    for _ in range(args.runs):
        for stacks in rates:
            sim.scene.COMPOSE_CYLINDER_STACKS = stacks  # read when the scene is built
            speed = measure(SceneConfig(), args.steps, f"{stacks} stacks", suite="tabletop_compose")
            rates[stacks].append(round(speed.rendered_steps_per_s, 1))
            print(f"{stacks:2d} stacks: {rates[stacks][-1]} rendered steps/s", flush=True)
    medians = {stacks: statistics.median(values) for stacks, values in rates.items()}
    ratio = medians[shipped] / medians[16]
    print(f"median {shipped} stacks {medians[shipped]}, 16 stacks {medians[16]}, ratio {ratio:.3f}")
    if args.json:
        report = {"machine": platform.processor() or platform.machine(), "steps": args.steps, "rates": rates}
        with open(args.json, "w") as out:
            json.dump(report | {"medians": medians}, out, indent=2)


if __name__ == "__main__":
    main()
