"""`vla train`: train the VLA policy on a LeRobot dataset; checkpoints are self-describing folders."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="train the VLA policy on a LeRobot dataset",
        description="Train the VLA policy (AdamW, warmup + cosine, bf16 on GPU, gradient clipping, image "
        "augmentation, TensorBoard, periodic checkpoints). "
        "Multi-GPU: torchrun --nproc-per-node=N -m vla train ...",
    )
    train.add_argument(
        "--dataset",
        type=Path,
        required=True,
        help="LeRobot v3 dataset, or a frame cache (record --arrays)",
    )
    train.add_argument(
        "--policy",
        choices=["vla", "act", "diffusion"],
        default="vla",
        help="vla: this stack's policy; act / diffusion: LeRobot's baselines on the same data and batches",
    )
    train.add_argument(
        "--max-seconds",
        type=float,
        default=0.0,
        help="stop and save after this long (0: off)",
    )
    train.add_argument("--out", type=Path, required=True, help="run folder (checkpoints/, tensorboard/)")
    train.add_argument("--preset", default="nano", help="model preset: nano | debug")
    train.add_argument("--steps", type=int, default=10_000)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--lr", type=float, default=3e-4)
    train.add_argument("--warmup-steps", type=int, default=500)
    train.add_argument("--save-every", type=int, default=2_000)
    train.add_argument("--log-every", type=int, default=50)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto | cpu | cuda")
    train.add_argument("--num-workers", type=int, default=0, help="decoding workers (with --no-cache)")
    train.add_argument("--no-augment", action="store_true")
    train.add_argument("--no-cache", action="store_true", help="decode frames on every access")
    train.add_argument("--resume", action="store_true", help="continue from <out>/checkpoints/last")
    train.add_argument("--init", type=Path, help="fine-tune from this checkpoint")
    train.add_argument("--backbone", type=Path, help="local pretrained SmolVLM folder (never downloaded)")
    train.add_argument(
        "--freeze-vision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="freeze the vision tower (default: on with --init, off otherwise)",
    )
    train.add_argument("--lora-rank", type=int, default=0, help="train LoRA adapters of this rank (peft)")
    train.add_argument(
        "--val-dataset",
        type=Path,
        help="held-out episodes (dataset or frame cache from other seeds): loss at the start and at every "
        "checkpoint, in TensorBoard (val/loss) and each checkpoint's training_state.json",
    )
    train.add_argument("--val-batches", type=int, default=8, help="held-out batches per validation")
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    if args.policy != "vla":
        return _train_baseline(args)
    from vla.training.loop import TrainConfig, train

    config = TrainConfig(
        dataset=args.dataset,
        out=args.out,
        preset=args.preset,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=min(args.warmup_steps, max(1, args.steps // 10)),
        save_every=args.save_every,
        log_every=args.log_every,
        seed=args.seed,
        device=args.device,
        num_workers=args.num_workers,
        augment=not args.no_augment,
        cache_in_memory=not args.no_cache,
        resume=args.resume,
        init=args.init,
        backbone=args.backbone,
        freeze_vision=args.freeze_vision,
        lora_rank=args.lora_rank,
        max_seconds=args.max_seconds,
        val_dataset=args.val_dataset,
        val_batches=args.val_batches,
    )
    result = train(config)
    held_out = f", held-out loss {result.val_loss:.4f}" if result.val_loss is not None else ""
    print(f"final loss {result.final_loss:.4f}{held_out}; checkpoint: {result.last_checkpoint}")
    return 0


def _train_baseline(args: argparse.Namespace) -> int:
    from vla.baselines.train import BaselineRun, train_baseline

    summary = train_baseline(
        BaselineRun(
            kind=args.policy,
            dataset=args.dataset,
            out=args.out,
            steps=args.steps,
            batch_size=args.batch_size,
            seed=args.seed,
            save_every=args.save_every,
            log_every=args.log_every,
            device=args.device,
            max_seconds=args.max_seconds,
        )
    )
    print(f"{args.policy}: {summary['steps']} steps, final loss {summary['final_loss']:.4f}; {args.out}")
    return 0
