"""Can nano's vision tower learn where the objects are? Patchify against the convolutional stem.

    python bench/localisation_probe.py [--episodes 1600] [--steps 2000] [--stem patch --stem conv]

Frames of the front camera, every 6th control step of seeded expert episodes (seeds from 7,100,000; the
last 2,000 frames held out), labelled with the simulator's object positions (`environment_state`: x, y, z
of each cube, x, y of each bowl). For each stem, nano's vision tower and connector (from scratch) plus the
policy's auxiliary head (`EnvironmentStateHead`) are trained on that regression alone: batch 64, AdamW
5e-4 with warm-up and cosine decay, smooth-L1, colour jitter but no shifts (a fixed camera: a shift moves
the objects). Reported every 250 steps: the held-out error, mean |predicted - true| per coordinate of
the objects on the table, in millimetres (what `vla train` logs as the localisation error). Each stem
trains in its own process on one thread, side by side.

The policy needs ~1-2 px (~3-6 mm) to grasp a 3 cm cube; this says how much of that the tower gives and
how fast. CPU-2: ~15 min to render, then ~25-40 min per stem for 2,000 steps.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

EVERY = 6  # control steps between kept frames: consecutive frames are nearly the same picture
HELD_OUT = 2000


def render_frames(first_seed: int, episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(F, H, W, 3) uint8 front frames and (F, E) environment states of expert episodes."""
    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from sim.rollout import ExpertRunner
    from sim.tasks import suite_tasks

    env = TabletopEnv(render_mode=None, pixels=False)
    runner = ExpertRunner(env)
    tasks = [task.name for task in suite_tasks("tabletop")]
    frames, states = [], []
    for i in range(episodes):
        step = [0]

        def keep(observation, action, step=step):
            if step[0] % EVERY == 0:
                frames.append(env.rig.render(env.data)["front"])
                states.append(observation["environment_state"])
            step[0] += 1

        runner.run_episode(first_seed + i, task=tasks[i % len(tasks)], on_step=keep)
    env.close()
    return np.stack(frames), np.stack(states)


def train_probe(stem: str, data: Path, steps: int, seed: int = 0) -> list[dict]:
    """Train one stem on the saved frames; held-out error (mm) every 250 steps."""
    import torch

    from vla.models.backbone import build_backbone, encode_images
    from vla.models.configuration_vla import VisionConfig, preset
    from vla.models.environment_head import EnvironmentStateHead, environment_state_loss
    from vla.models.normalization import RangeNormalizer
    from vla.training.augment import augment_images

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    loaded = np.load(data)
    frames = torch.from_numpy(loaded["frames"]).permute(0, 3, 1, 2)  # (F, 3, H, W) uint8
    states = loaded["states"]
    normalizer = RangeNormalizer(np.quantile(states, 0.01, 0), np.quantile(states, 0.99, 0))
    targets = torch.from_numpy(normalizer.normalize(states))
    held = min(HELD_OUT, len(frames) // 5)
    train_frames, val_frames = frames[:-held], frames[-held:]
    train_targets, val_states = targets[:-held], states[-held:]

    config = preset("nano", vision=VisionConfig(stem=stem))
    backbone = build_backbone(config, text_vocab_size=8)
    tower = torch.nn.ModuleList([backbone.vision_model, backbone.connector])
    head = EnvironmentStateHead(config.vision.tokens_per_image, config.text.hidden_size, states.shape[1])
    parameters = list(tower.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=5e-4, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + np.cos(np.pi * s / steps))
    )

    def predict(images: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) in [0, 1] -> (B, E)
        tokens = encode_images(backbone, images[:, None] * 2.0 - 1.0)  # (B, 1, P, D)
        return head(tokens.flatten(1, 2))

    def held_out_mm() -> float:
        tower.eval()
        errors = []
        with torch.no_grad():
            for start in range(0, held, 250):
                predicted = normalizer.unnormalize(
                    predict(val_frames[start : start + 250].float() / 255).numpy()
                )
                true = val_states[start : start + 250]
                errors.append(np.abs(predicted - true)[np.abs(true) > 1e-4])
        tower.train()
        return float(np.concatenate(errors).mean() * 1000)

    rows, generator = [], torch.Generator().manual_seed(seed)
    for step in range(1, steps + 1):
        index = torch.randint(len(train_frames), (64,), generator=generator)
        images = augment_images(train_frames[index].float()[:, None] / 255, max_shift_px=0)[:, 0]
        loss = environment_state_loss(predict(images), train_targets[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
        if step % 250 == 0 or step == steps:
            rows.append({"stem": stem, "step": step, "samples": step * 64, "held_out_mm": held_out_mm()})
            print(f"{stem}: step {step}, held-out error {rows[-1]['held_out_mm']:.1f} mm", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1600)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--stem", action="append", choices=("patch", "conv"), help="default: both")
    parser.add_argument("--data", type=Path, default=Path("results/bench/localisation_frames.npz"))
    parser.add_argument("--json", type=Path, default=Path("results/bench/localisation_probe.json"))
    args = parser.parse_args()
    stems = args.stem or ["patch", "conv"]

    if not args.data.is_file():
        args.data.parent.mkdir(parents=True, exist_ok=True)
        half = args.episodes // 2
        with ProcessPoolExecutor(2) as pool:  # two render processes, disjoint seeds
            parts = list(pool.map(render_frames, [7_100_000, 7_110_000], [half, args.episodes - half]))
        np.savez(
            args.data,
            frames=np.concatenate([p[0] for p in parts]),
            states=np.concatenate([p[1] for p in parts]),
        )
    with ProcessPoolExecutor(len(stems)) as pool:
        results = list(pool.map(train_probe, stems, [args.data] * len(stems), [args.steps] * len(stems)))
    rows = [row for result in results for row in result]

    from vla.tables import markdown_table

    steps = sorted({row["step"] for row in rows})
    table = [
        [f"{step:,} ({step * 64:,})"]
        + [
            f"{next(r['held_out_mm'] for r in rows if r['stem'] == s and r['step'] == step):.1f}"
            for s in stems
        ]
        for step in steps
    ]
    print(markdown_table(["step (samples)", *(f"{s}: held-out mm" for s in stems)], table))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
