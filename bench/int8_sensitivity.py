"""Which layers does int8 hurt? Quantise one module group at a time and measure how far actions move.

    python bench/int8_sensitivity.py --export exports/tabletop_nano [--episodes-per-task 1] [--stride 3]
        [--keep model.action_head,decoding ...] [--whole-graphs-only] [--latency-calls 150]

Observations are the frames a seeded expert sees on every task of the suite (the states a working policy
visits). For each group of `vla.export.quantization.quantizable_groups` the graph is quantised with only
that group in int8, and the actions are compared with fp32 on the same observations. Then whole-graph
variants: everything in int8, and everything except each `--keep` set (comma-separated groups or prefixes).

Errors are mean absolute differences from fp32 over every step of every chunk: arm joints in degrees,
gripper in percent (so101_follower units). `share of MACs` is the group's multiply-adds at batch 1, which
is what int8 speeds up; each whole-graph variant also gets its latency (p50 ms per chunk, 2 threads,
in alternating blocks with the fp32 graph; `--whole-graphs-only` skips the per-group rows). Success in
closed loop is the figure that counts (`vla eval --variant int8`); this ranks layers cheaply, on this
machine in about a minute.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np


def expert_observations(suite: str, episodes_per_task: int, stride: int, seed: int) -> list[dict]:
    """Every `stride`-th observation of seeded expert episodes, as `RuntimePolicy.infer` takes them."""
    from sim.tasks import suite_tasks
    from vla.record_arrays import expert_jobs, run_expert_job

    observations = []
    for job in expert_jobs(suite, [t.name for t in suite_tasks(suite)], episodes_per_task, seed):
        for episode in run_expert_job(job):
            for t in range(0, len(episode["state"]), stride):
                obs = {key: frames[t] for key, frames in episode["images"].items()}
                observations.append(obs | {"observation.state": episode["state"][t], "task": episode["task"]})
    return observations


def chunk_actions(policy, observations: list[dict]) -> np.ndarray:
    """(N, T, A) actions of one chunk per observation."""
    return np.stack([policy.infer(obs)["actions"] for obs in observations])


def action_error(actions: np.ndarray, reference: np.ndarray) -> dict:
    """Mean and 99th-percentile |difference|: arm joints (degrees), gripper (percent)."""
    difference = np.abs(actions - reference)
    arm, gripper = difference[..., :-1], difference[..., -1]
    return {
        "arm_mean_deg": float(arm.mean()),
        "arm_p99_deg": float(np.percentile(arm, 99)),
        "gripper_mean_pc": float(gripper.mean()),
    }


def group_macs(model, groups: dict[str, list[str]]) -> dict[str, int]:
    """Multiply-adds of each group's quantisable nodes at batch 1: weight size × rows it is applied to."""
    from onnx import numpy_helper, shape_inference

    inferred = shape_inference.infer_shapes(model)
    shapes = {  # unknown (dynamic) dimensions count as 1, i.e. batch 1
        value.name: [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        for value in [*inferred.graph.value_info, *inferred.graph.output]
    }
    weights = {i.name: numpy_helper.to_array(i).size for i in model.graph.initializer}
    nodes = {node.name: node for node in model.graph.node}
    macs = {}
    for group, names in groups.items():
        total = 0
        for node in (nodes[name] for name in names):
            if node.op_type == "Gather":  # a table look-up: no multiply-adds
                continue
            shape = shapes.get(node.output[0], [1])
            features = shape[1] if node.op_type == "Conv" else shape[-1]
            total += max(weights.get(i, 0) for i in node.input) * (int(np.prod(shape)) // features)
        macs[group] = total
    return macs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True, help="export folder (with policy.onnx)")
    parser.add_argument("--suite", default="tabletop")
    parser.add_argument("--episodes-per-task", type=int, default=1)
    parser.add_argument("--stride", type=int, default=3, help="keep every n-th observation")
    parser.add_argument("--seed", type=int, default=500_000, help="first expert layout seed")
    parser.add_argument("--keep", action="append", default=[], help="groups kept in float, comma-separated")
    parser.add_argument("--json", type=Path, help="write the table here too")
    parser.add_argument("--latency-calls", type=int, default=150, help="timed calls per whole-graph variant")
    parser.add_argument("--whole-graphs-only", action="store_true", help="skip the one-group-at-a-time rows")
    args = parser.parse_args()

    import onnx

    import sim  # noqa: F401  (headless GL before mujoco loads)
    from vla.export.quantization import KEEP_FLOAT, kept_in_float, quantizable_groups, quantize_int8
    from vla.runtime import RuntimePolicy

    observations = expert_observations(args.suite, args.episodes_per_task, args.stride, args.seed)
    print(f"{len(observations)} expert observations")
    policy = RuntimePolicy(args.export, variant="fp32", threads=2)
    reference = chunk_actions(policy, observations)
    model = onnx.load(str(args.export / "policy.onnx"))
    groups = quantizable_groups(model)
    macs = group_macs(model, groups)
    total_macs = sum(macs.values())

    rows = []
    whole_graphs = {"fp32": policy.session}  # variant -> session, for the latency column
    with tempfile.TemporaryDirectory() as scratch:

        def measure(name: str, keep: list[str]) -> dict:
            quantized = Path(scratch) / f"policy.int8.{len(rows)}.onnx"
            quantize_int8(args.export / "policy.onnx", quantized, keep_float=keep)
            # Only the policy graph changes: the runtime's preprocessing and instruction encoding stay.
            policy.session = _session(quantized)
            row = {"variant": name, **action_error(chunk_actions(policy, observations), reference)}
            print(json.dumps(row))
            return row

        if not args.whole_graphs_only:
            for group in groups:
                row = measure(group, [g for g in groups if g != group])
                rows.append(row | {"share_of_macs": macs[group] / total_macs})
        whole = [
            ("all in int8", []),
            *((f"all but {k}", k.split(",")) for k in [",".join(KEEP_FLOAT), *args.keep]),
        ]
        for name, kept in whole:
            share = sum(m for group, m in macs.items() if not kept_in_float(group, kept))
            rows.append(measure(name, kept) | {"share_of_macs": share / total_macs})
            whole_graphs[name] = policy.session
        latency = whole_graph_latency(policy, whole_graphs, observations[0], args.latency_calls)

    print(f"\nfp32 graph: p50 {latency['fp32']:.2f} ms per chunk (2 threads, {args.latency_calls} calls)")
    print("| int8 in | share of MACs | arm mean (deg) | arm p99 (deg) | gripper mean (%) | p50 ms |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        row["p50_ms"] = latency.get(row["variant"])
        p50 = "" if row["p50_ms"] is None else f"{row['p50_ms']:.2f}"
        print(
            f"| {row['variant']} | {row['share_of_macs']:.1%} | {row['arm_mean_deg']:.3f} | "
            f"{row['arm_p99_deg']:.2f} | {row['gripper_mean_pc']:.2f} | {p50} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"observations": len(observations), "rows": rows}, indent=2))


def whole_graph_latency(policy, sessions: dict, observation: dict, calls: int) -> dict[str, float]:
    """p50 ms of `policy.infer(observation)` with each session as its graph, in alternating blocks."""
    from vla.export.latency import time_blocks

    def infer_with(session):
        def infer():
            policy.session = session
            policy.infer(observation)

        return infer

    times = time_blocks({name: infer_with(session) for name, session in sessions.items()}, calls)
    return {name: float(np.percentile(seconds, 50) * 1e3) for name, seconds in times.items()}


def _session(path: Path):
    """An onnxruntime session made the way `RuntimePolicy(..., threads=2)` makes its own, on the CPU."""
    import onnxruntime

    from vla.runtime.providers import execution_providers, session_options

    return onnxruntime.InferenceSession(str(path), session_options(2), providers=execution_providers("cpu"))


if __name__ == "__main__":
    main()
