"""Where does a policy stall? A closed-loop trace of each chunk it predicts, next to where the task cube is.

    python bench/chunk_trace.py --policy runs/nano_oracle/checkpoints/last --task pick_red_cube \
        --seed 0 [--oracle-objects [exact|grounding]] [--every 3]

One seeded episode through the evaluation harness's action source (`vla.evaluation.policies`), one row per
inference: the step, the grasp centre's offset from the task cube (mm, world x / y / z), how far the chunk
moves the arm (the largest |last action - joint state| over the five arm joints, degrees) and the gripper
command at the chunk's end (%). A policy caught in a fixed point asks for chunks that end where the arm
already is (motion near 0) while the offset stays large: the "hovers, never grasps" failure of
docs/RESULTS.md. Physics-only rendering is not possible here: the policy needs its cameras.
"""

from __future__ import annotations

import argparse

import numpy as np

CLOSING_PC = 20.0  # a chunk ending with the gripper command below this (%) is the policy's grasp


def trace_episode(env, source, seed: int, every: int) -> tuple[bool, np.ndarray | None]:
    """One episode; prints every `every`-th chunk (0: none). Returns success and the grasp centre's offset
    from the task cube (mm, (3,)) when the policy first closes the gripper (None if it never does)."""
    from sim.robot import GRIPPER_SITE
    from vla.evaluation.policies import policy_observation

    observation, _ = env.reset(seed=seed)
    source.start(env, observation)
    cube = env.current_task.slots["cube"]
    site = env.model.site(GRIPPER_SITE).id
    if every:
        print(f"{env.task} seed {seed}: {env.task_description!r}")
        print(f"{'step':>5} {'grasp centre - cube (mm)':>26} {'chunk motion (deg)':>19} {'gripper (%)':>12}")
    step, chunks, at_close = 0, 0, None
    while True:
        chunk = source.policy.infer(policy_observation(observation, source.instruction))["actions"]
        arm = np.asarray(observation["agent_pos"][:5])
        motion = float(np.abs(chunk[-1, :5] - arm).max())
        offset = 1000.0 * (env.data.site_xpos[site] - env.scene_state().cube_pos[cube])
        if every and chunks % every == 0:
            x, y, z = offset
            print(f"{step:>5} {x:>8.1f} {y:>8.1f} {z:>8.1f} {motion:>19.2f} {chunk[-1, 5]:>12.1f}")
        if at_close is None and chunk[-1, 5] < CLOSING_PC:
            at_close = offset
        chunks += 1
        for action in chunk:
            observation, _, terminated, truncated, info = env.step(action)
            step += 1
            if terminated or truncated:
                return bool(info["is_success"]), at_close


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--policy", required=True, help="checkpoint folder (torch) or export folder")
    parser.add_argument("--task", action="append", help="repeatable (default: pick_red_cube)")
    parser.add_argument("--seed", type=int, default=0, help="first layout seed")
    parser.add_argument("--episodes", type=int, default=1, help="per task, seeds seed, seed+1, ...")
    parser.add_argument(
        "--oracle-objects", nargs="?", const="exact", default="", help="as `vla eval --oracle-objects`"
    )
    parser.add_argument("--every", type=int, default=1, help="print every Nth chunk (0: summaries only)")
    args = parser.parse_args()

    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from vla.evaluation.policies import ChunkSource, make_source

    misses = []
    for task in args.task or ["pick_red_cube"]:
        env = TabletopEnv(task=task)
        source = make_source(args.policy, env, oracle_objects=args.oracle_objects)
        if not isinstance(source, ChunkSource):
            raise SystemExit(
                f"--policy {args.policy}: a chunked policy (checkpoint or export folder) is traced"
            )
        for seed in range(args.seed, args.seed + args.episodes):
            success, at_close = trace_episode(env, source, seed, args.every)
            closing = (
                "never closes"
                if at_close is None
                else ("closes at x/y/z offset " + " / ".join(f"{v:.1f}" for v in at_close) + " mm")
            )
            print(f"{task} seed {seed}: {'success' if success else 'failure'}, {closing}")
            if at_close is not None:
                misses.append(float(np.hypot(*at_close[:2])))
        env.close()
    if misses:
        print(
            f"horizontal miss when closing: median {np.median(misses):.1f} mm, "
            f"mean {np.mean(misses):.1f} mm over {len(misses)} episodes"
        )


if __name__ == "__main__":
    main()
