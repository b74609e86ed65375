"""Where does a policy stall? A closed-loop trace of each chunk it predicts, next to where the task cube is.

    python bench/chunk_trace.py --policy runs/nano_oracle/checkpoints/last --task pick_red_cube \
        --seed 0 [--episodes 3] [--oracle-objects [exact|grounding]] [--every 3]

Seeded episodes through the evaluation harness's action source (`vla.evaluation.policies`), one row per
inference: the step, the grasp centre's offset from the task cube (mm, world x / y / z), how far the chunk
moves the arm (the largest |last action - joint state| over the five arm joints, degrees) and the gripper
command at the chunk's end (%); then the horizontal miss when the policy first closes the gripper. For a
policy with the environment-state head, the first frame's localisation too: the cubes, and its guess of
the cube the instruction names. A policy caught in a fixed point asks for chunks that end where the arm
already is (motion near 0) while the offset stays large: the "hovers, never grasps" failure of
docs/RESULTS.md.
"""

from __future__ import annotations

import argparse

import numpy as np

CLOSING_PC = 20.0  # a chunk ending with the gripper command below this (%) is the policy's grasp


def localisation_mm(policy, observation: dict, instruction: str) -> tuple[float, float, float] | None:
    """On the episode's first frame, from a policy with the environment-state head (None otherwise): the
    mean |predicted - true| of the x, y of the cubes on the table, and the distance from the predicted
    `task_object` x, y to the true one and to the middle of the cubes, all in millimetres."""
    import torch

    from vla.evaluation.policies import policy_observation

    policy = getattr(policy, "policy", policy)  # an oracle wrapper's VLAPolicy
    model = getattr(policy, "model", None)
    if model is None or model.objects is None:
        return None
    batch = policy.batch_from_observation(policy_observation(observation, instruction))
    with torch.inference_mode():
        _, predicted = model(batch, with_environment_state=True)
    predicted = policy.bundle.normalization.environment_state.unnormalize(predicted[0].float().numpy())
    true = np.asarray(observation["environment_state"])
    cubes, guess = true[:12].reshape(4, 3), predicted[:12].reshape(4, 3)
    on_table = cubes[:, 2] > 0.001  # parked cubes read 0
    scene = 1000.0 * float(np.abs(guess[on_table, :2] - cubes[on_table, :2]).mean())
    named = 1000.0 * float(np.linalg.norm(predicted[16:18] - true[16:18]))
    middle = 1000.0 * float(np.linalg.norm(predicted[16:18] - cubes[on_table, :2].mean(0)))
    return scene, named, middle


def radial_tangential(offset_xy: np.ndarray, cube_xy: np.ndarray) -> tuple[float, float]:
    """A horizontal miss (mm, (2,)) split along the line from the arm's base (the world origin) to the cube:
    (radial, + beyond the cube; tangential, + anticlockwise seen from above). The shoulder pan sets the
    tangential part alone; lift, elbow and wrist flex set the radial part."""
    radial = cube_xy / np.linalg.norm(cube_xy)
    tangent = np.array([-radial[1], radial[0]])
    return float(offset_xy @ radial), float(offset_xy @ tangent)


def trace_episode(env, source, seed: int, every: int, located: list) -> tuple[bool, np.ndarray | None]:
    """One episode; prints every `every`-th chunk (0: none) and appends the first frame's
    `localisation_mm` to `located`. Returns success and, when the policy first closes the gripper (None if
    it never does), the grasp centre's offset from the task cube (mm, world x / y / z) followed by its
    horizontal part's radial and tangential components (mm, `radial_tangential`): (5,)."""
    from sim.robot import GRIPPER_SITE
    from vla.evaluation.policies import policy_observation

    observation, _ = env.reset(seed=seed)
    source.start(env, observation)
    first = localisation_mm(source.policy, observation, source.instruction)
    if first is not None:
        located.append(first)
        print(
            "first frame: cubes located to {:.1f} mm; the named cube guessed {:.1f} mm from it, {:.1f} mm "
            "from the middle of the cubes".format(*first)
        )
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
            cube_xy = env.scene_state().cube_pos[cube][:2]
            at_close = np.array([*offset, *radial_tangential(offset[:2], cube_xy)])
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

    misses, located = [], []
    for task in args.task or ["pick_red_cube"]:
        env = TabletopEnv(task=task)
        source = make_source(args.policy, env, oracle_objects=args.oracle_objects)
        if not isinstance(source, ChunkSource):
            raise SystemExit(
                f"--policy {args.policy}: a chunked policy (checkpoint or export folder) is traced"
            )
        for seed in range(args.seed, args.seed + args.episodes):
            success, at_close = trace_episode(env, source, seed, args.every, located)
            closing = (
                "never closes"
                if at_close is None
                else (
                    "closes at x/y/z offset "
                    + " / ".join(f"{v:.1f}" for v in at_close[:3])
                    + " mm, radial {:.1f}, tangential {:.1f} mm".format(*at_close[3:])
                )
            )
            print(f"{task} seed {seed}: {'success' if success else 'failure'}, {closing}")
            if at_close is not None:
                misses.append(at_close)
        env.close()
    if located:
        scene, named, middle = np.median(located, axis=0)
        print(
            f"first frames, medians: cubes located to {scene:.1f} mm; the named cube guessed {named:.1f} mm "
            f"from it, {middle:.1f} mm from the middle of the cubes"
        )
    if misses:
        misses = np.stack(misses)  # (n, 5)
        horizontal = np.hypot(misses[:, 0], misses[:, 1])
        radial, tangential = np.abs(misses[:, 3]), np.abs(misses[:, 4])
        print(
            f"horizontal miss when closing: median {np.median(horizontal):.1f} mm, "
            f"mean {np.mean(horizontal):.1f} mm over {len(misses)} episodes; |radial| median "
            f"{np.median(radial):.1f} mm, |tangential| median {np.median(tangential):.1f} mm"
        )


if __name__ == "__main__":
    main()
