"""`vla bench ...`: measured figures (not pass/fail); results go to docs/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

from vla.tables import markdown_table


def add_parser(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="benchmarks", description="Benchmarks that report figures.")
    commands = bench.add_subparsers(dest="bench_command", required=True, metavar="SUBCOMMAND")
    sim = commands.add_parser(
        "sim",
        help="simulation speed: rendered and physics-only control steps/s",
        description="Control steps per second with both cameras rendered, and physics only.",
    )
    sim.add_argument("--steps", type=int, default=300, help="control steps to time")
    sim.add_argument("--size", type=int, default=128, help="camera image height and width (px)")
    sim.add_argument(
        "--compare-default",
        action="store_true",
        help="also time MuJoCo's default render settings with the original meshes (slow)",
    )
    sim.add_argument(
        "--suite",
        action="append",
        choices=["tabletop", "tabletop_compose"],
        help="scenes to time, side by side (repeatable; default: both)",
    )
    sim.add_argument("--frames-dir", type=Path, help="save one frame per camera here (PNG)")
    sim.add_argument("--json", type=Path, help="write the figures here")
    sim.set_defaults(run=run_sim)

    record = commands.add_parser(
        "record",
        help="recording speed: frames/s written and per-episode save time",
        description="Record scripted demonstrations into a temporary dataset and report frames/s written "
        "and the time save_episode blocks, for this stack's writer settings and LeRobot's defaults.",
    )
    record.add_argument("--episodes", type=int, default=16, help="episodes per setting (cycling the tasks)")
    record.add_argument(
        "--skip-lerobot-defaults", action="store_true", help="time only this stack's settings"
    )
    record.add_argument("--json", type=Path, help="write the figures here")
    record.set_defaults(run=run_record)

    policy = commands.add_parser(
        "policy",
        help="policy size, training samples/s and infer latency per preset",
        description="Parameters and checkpoint size per preset, training samples/s on synthetic in-memory "
        "batches, and infer() latency p50/p99 at batch 1.",
    )
    policy.add_argument("--preset", action="append", help="preset(s) to measure (default: nano)")
    policy.add_argument("--device", default="cpu")
    policy.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    policy.add_argument("--batch-size", type=int, default=32)
    policy.add_argument("--train-steps", type=int, default=10)
    policy.add_argument("--infer-calls", type=int, default=200)
    policy.add_argument("--json", type=Path)
    policy.set_defaults(run=run_policy)

    latency = commands.add_parser(
        "latency",
        help="per-chunk latency: torch eager vs the onnxruntime runtime (fp32, int8)",
        description="p50/p99 ms per infer() call at batch 1 for torch eager and the torch-free runtime, on "
        "the CPU with --threads threads, and on the GPU (torch and onnxruntime CUDA) when one is present.",
    )
    latency.add_argument("--policy", type=Path, help="checkpoint (default: the shipped policy)")
    latency.add_argument("--export", type=Path, help="existing export folder (default: export to a temp dir)")
    latency.add_argument("--variant", action="append", choices=["fp32", "fp16", "int8"])
    latency.add_argument("--threads", type=int, default=2)
    latency.add_argument("--calls", type=int, default=200)
    latency.add_argument("--json", type=Path)
    latency.set_defaults(run=run_latency)

    language = commands.add_parser(
        "language",
        help="held-out paraphrases: word coverage and sentence-embedding retrieval",
        description="For each task's held-out instructions: the share of words the word tokenizer knows, and "
        "whether the nearest training instruction in MiniLM space is of the same task.",
    )
    language.add_argument("--suite", default="tabletop")
    language.add_argument(
        "--policy",
        type=Path,
        help="a checkpoint trained with --objects.task_choice: report, per task, how often its choice names "
        "the instruction's object and destination, for training and held-out instructions",
    )
    language.set_defaults(run=run_language)


def run_sim(args: argparse.Namespace) -> int:
    from sim.benchmark import measure, save_camera_frames
    from sim.scene import SceneConfig

    fast = SceneConfig(image_height=args.size, image_width=args.size)
    suites = args.suite or ["tabletop", "tabletop_compose"]
    results = [measure(fast, args.steps, f"{s} scene (low-poly meshes, no MSAA/shadows)", s) for s in suites]
    if args.compare_default:
        default = SceneConfig(
            image_height=args.size, image_width=args.size, mesh_cell_m=0.0, default_render_quality=True
        )
        results.append(
            measure(default, max(10, args.steps // 20), "MuJoCo defaults (original meshes, MSAA, shadows)")
        )
    rows = [
        [r.label, f"{r.rendered_steps_per_s:.1f}", f"{r.physics_steps_per_s:.0f}", r.visual_triangles]
        for r in results
    ]
    cpu = platform.processor() or platform.machine()
    print(f"2 cameras at {args.size}x{args.size}, 30 Hz control; {os.cpu_count()} CPUs ({cpu})")
    print(markdown_table(["setting", "rendered steps/s", "physics-only steps/s", "arm triangles"], rows))
    if args.compare_default:
        speedup = results[0].rendered_steps_per_s / results[-1].rendered_steps_per_s
        print(f"speed-up over defaults: {speedup:.1f}x")
    if args.frames_dir:
        for path in save_camera_frames(args.frames_dir, fast):
            print(f"wrote {path}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    return 0


def run_record(args: argparse.Namespace) -> int:
    from vla.record_benchmark import measure_recording

    settings = ["durable"] if args.skip_lerobot_defaults else ["durable", "lerobot_defaults"]
    results = [measure_recording(name, args.episodes) for name in settings]
    rows = [
        [
            r.label,
            r.episodes,
            r.frames,
            f"{r.frames_per_s:.1f}",
            f"{r.save_mean_s:.2f}",
            f"{r.save_p50_s:.2f}",
            f"{r.save_max_s:.2f}",
            f"{r.save_last_s:.2f}",
        ]
        for r in results
    ]
    print(f"scripted expert, 2 cameras 128x128 as video, 30 fps; {os.cpu_count()} CPUs")
    header = [
        "writer",
        "episodes",
        "frames",
        "frames/s written",
        "save mean s",
        "save p50 s",
        "save max s",
        "save last s",
    ]
    print(markdown_table(header, rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    return 0


def run_policy(args: argparse.Namespace) -> int:
    import torch

    from vla.models.benchmark import measure_policy

    torch.set_num_threads(args.threads)
    results = [
        measure_policy(name, args.device, args.batch_size, args.train_steps, args.infer_calls)
        for name in (args.preset or ["nano"])
    ]
    device = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {args.threads} threads"
    )
    print(f"device: {device}; train batch {args.batch_size}; infer batch 1")
    rows = [
        [
            r.preset,
            f"{r.parameters / 1e6:.2f} M",
            f"{r.checkpoint_mb:.1f} MB",
            f"{r.train_samples_per_s:.0f}",
            f"{r.infer_p50_ms:.1f}",
            f"{r.infer_p99_ms:.1f}",
        ]
        for r in results
    ]
    print(
        markdown_table(
            ["preset", "parameters", "checkpoint", "train samples/s", "infer p50 ms", "infer p99 ms"], rows
        )
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    return 0


def run_latency(args: argparse.Namespace) -> int:
    import tempfile

    import torch

    from vla.default_policy import default_policy
    from vla.export import export_policy
    from vla.export.latency import flops_per_chunk, measure_latency

    variants = args.variant or ["fp32", "int8"]
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = args.policy or Path(default_policy())
        export = args.export
        if export is None:
            export = export_policy(
                checkpoint, Path(scratch) / "export", ["fp32", "fp16", "int8"], lambda m: None
            )
        results = measure_latency(
            checkpoint, export, variants, args.threads, args.calls, torch.cuda.is_available()
        )
        gflops = flops_per_chunk(checkpoint) / 1e9
    print(f"policy: {checkpoint}; batch 1; {gflops:.2f} GFLOP per chunk (forward)")
    baseline = {r.device: r.p50_ms for r in results if r.backend == "torch eager"}
    rows = [
        [r.backend, r.device, f"{r.p50_ms:.1f}", f"{r.p99_ms:.1f}", f"{baseline[r.device] / r.p50_ms:.2f}x"]
        for r in results
    ]
    print(markdown_table(["backend", "device", "p50 ms", "p99 ms", "speed-up (p50)"], rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "policy": str(checkpoint),
            "gflops_per_chunk": gflops,
            "results": [r.__dict__ for r in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def run_language(args: argparse.Namespace) -> int:
    from vla.evaluation.language_probe import probe_language, probe_task_choice

    if args.policy is not None:
        choices = probe_task_choice(args.policy, args.suite)
        rows = [
            [c.task, c.train_instructions, f"{c.train_accuracy:.0%}", c.heldout_instructions,
             f"{c.heldout_accuracy:.0%}"]
            for c in choices
        ]  # fmt: skip
        for split in ("train", "heldout"):
            counts = [getattr(c, f"{split}_instructions") for c in choices]
            right = sum(getattr(c, f"{split}_accuracy") * n for c, n in zip(choices, counts, strict=True))
            print(f"{args.policy}: task choice right for {right:.0f} of {sum(counts)} {split} instructions")
        header = ["task", "train instructions", "choice right", "held-out instructions", "choice right"]
        print(markdown_table(header, rows))
        return 0

    results = probe_language(args.suite)
    rows = [
        [r.task, r.heldout_instructions, f"{r.word_coverage:.0%}", f"{r.retrieval_accuracy:.0%}",
         f"{r.family_retrieval_accuracy:.0%}", f"{r.mean_similarity:.2f}"]
        for r in results
    ]  # fmt: skip
    n = sum(r.heldout_instructions for r in results)

    def weighted(values) -> str:
        return f"{sum(v * r.heldout_instructions for v, r in zip(values, results, strict=True)) / n:.0%}"

    rows.append(["**all**", n, weighted(r.word_coverage for r in results),
                 weighted(r.retrieval_accuracy for r in results),
                 weighted(r.family_retrieval_accuracy for r in results), ""])  # fmt: skip
    header = [
        "task",
        "held-out",
        "known words",
        "nearest train instruction: same task",
        "same family",
        "cosine",
    ]
    print(markdown_table(header, rows))
    return 0
