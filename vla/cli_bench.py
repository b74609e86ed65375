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
    sim.add_argument("--frames-dir", type=Path, help="save one frame per camera here (PNG)")
    sim.add_argument("--json", type=Path, help="write the figures here")
    sim.set_defaults(run=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    from sim.benchmark import measure, save_camera_frames
    from sim.scene import SceneConfig

    fast = SceneConfig(image_height=args.size, image_width=args.size)
    results = [measure(fast, args.steps, "this stack (low-poly meshes, no MSAA/shadows)")]
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
    if len(results) == 2:
        speedup = results[0].rendered_steps_per_s / results[1].rendered_steps_per_s
        print(f"speed-up over defaults: {speedup:.1f}x")
    if args.frames_dir:
        for path in save_camera_frames(args.frames_dir, fast):
            print(f"wrote {path}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2) + "\n")
    return 0
