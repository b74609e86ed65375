"""Task success with policy_node's control logic in the loop, without ROS: which part of the path costs what.

    .venv/bin/python bench/ros_logic_success.py --export exports/nano_gpu --episodes 12 \\
        [--latency-ticks 2] [--request-ahead 4] [--blend 3] [--horizon 3] [--max-step-rad 0.1]

One clock, no threads, no DDS: each control tick the simulation steps once, and the node's own modules
decide what the arm is told. `vla_ros.chunking.ChunkScheduler` plans and cross-fades chunks,
`vla_ros.safety.limit_commands` clamps and rate-limits, and `vla_ros.trajectory.TrajectoryFollower` follows
the commanded trajectory as sim_bridge_node does. A chunk computed from the observation of tick k is
merged `--latency-ticks` ticks later, as if inference and transport took that long. Compare with
`vla eval` (chunks run open loop the moment they are computed) and `bench/ros_success.py` (the real
processes) on the same seeds: whatever separates them is timing in the real processes.
"""

from __future__ import annotations

import argparse
import json
from collections import deque
from pathlib import Path

import numpy as np


def run_episode(env, policy, seed: int, task: str, args, units, safety_config) -> tuple[bool, int]:
    from vla_ros.chunking import ChunkScheduler
    from vla_ros.safety import limit_commands
    from vla_ros.trajectory import TrajectoryFollower

    from vla.evaluation.policies import policy_observation

    observation, info = env.reset(seed=seed, options={"task": task})
    policy.reset()
    period_s = 1.0 / env.config.control_hz
    scheduler = ChunkScheduler(args.request_ahead, args.blend)
    follower = TrajectoryFollower(env.units.to_radians(observation["agent_pos"]), period_s)
    in_flight: deque[tuple[int, int, np.ndarray]] = deque()  # (deliver at tick, observation tick, actions)
    previous_command = None
    rng = np.random.default_rng(seed)

    def merge_arrived(tick: int) -> None:
        while in_flight and in_flight[0][0] <= tick:
            _, observed, actions = in_flight.popleft()
            scheduler.merge(units.to_ros(actions), observed, tick)

    for tick in range(10_000):
        merge_arrived(tick)
        if scheduler.wants_request(tick):
            chunk = policy.infer(policy_observation(observation, info["task_description"]))
            scheduler.requested(tick)
            latency = args.latency_ticks + int(rng.integers(0, args.jitter_ticks + 1))
            in_flight.append((tick + latency, tick, chunk["actions"]))
            merge_arrived(tick)  # latency 0: usable this tick
        targets = scheduler.horizon(tick, args.horizon)
        if rng.random() < args.drop_commands:  # a tick whose command does not reach the follower in time
            targets = None
        if targets is not None:
            start = previous_command if previous_command is not None else follower.command
            commands = limit_commands(targets, start, safety_config)
            follower.receive([(k + 1) * period_s for k in range(len(commands))], commands)
            previous_command = commands[0]
            scheduler.advance(tick)
        observation, _, terminated, truncated, info_step = env.step(env.units.to_lerobot(follower.step()))
        info = info | info_step
        if terminated or truncated:
            return bool(info_step["is_success"]), tick + 1
    raise RuntimeError("episode did not end")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True)
    parser.add_argument("--task", default="push_yellow_cube_left")
    parser.add_argument("--episodes", type=int, default=12)
    parser.add_argument("--latency-ticks", type=int, default=2, help="ticks from observation to merged chunk")
    parser.add_argument("--jitter-ticks", type=int, default=0, help="extra latency, uniform in 0..n ticks")
    parser.add_argument(
        "--drop-commands", type=float, default=0.0, help="share of ticks whose command never arrives"
    )
    parser.add_argument("--request-ahead", type=int, default=4)
    parser.add_argument("--blend", type=int, default=3)
    parser.add_argument("--horizon", type=int, default=3, help="trajectory points per command")
    parser.add_argument("--max-step-rad", type=float, default=0.1, help="arm joints; the gripper gets 1.0")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from vla_ros.safety import SafetyConfig
    from vla_ros.units import PolicyUnits

    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.robot import GRIPPER_INDEX, JOINT_NAMES
    from vla.runtime import RuntimePolicy

    env = TabletopEnv(task=args.task)
    policy = RuntimePolicy(args.export, threads=2)
    low, high = env.units.low_rad, env.units.high_rad
    gripper = GRIPPER_INDEX
    units = PolicyUnits(JOINT_NAMES, JOINT_NAMES[gripper], float(low[gripper]), float(high[gripper]))
    safety_config = SafetyConfig(
        lower_rad=low,
        upper_rad=high,
        max_step_rad=np.array([args.max_step_rad] * 5 + [1.0]),
        max_input_age_s=1.0,
        low_confidence_threshold=0.0,
        low_confidence_mode="ignore",
        slow_factor=1.0,
    )
    outcomes = [
        run_episode(env, policy, seed, args.task, args, units, safety_config) for seed in range(args.episodes)
    ]
    for seed, (success, steps) in enumerate(outcomes):
        print(f"seed {seed}: {'success' if success else 'failure'} ({steps} steps)")
    settings = {k: v for k, v in vars(args).items() if k not in ("export", "json")}
    result = {"export": str(args.export), **settings, "successes": sum(s for s, _ in outcomes)}
    result["per_seed"] = [s for s, _ in outcomes]
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
