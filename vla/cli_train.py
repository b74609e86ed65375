"""`vla train`: train the VLA policy on a LeRobot dataset; checkpoints are self-describing folders."""

from __future__ import annotations

import argparse
from pathlib import Path

from vla.training.precision import PRECISIONS


def add_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train",
        help="train the VLA policy on a LeRobot dataset",
        description="Train the VLA policy (AdamW, warmup + cosine, bf16 on GPU, gradient clipping, image "
        "augmentation, TensorBoard, periodic checkpoints). "
        "Multi-GPU: torchrun --nproc-per-node=N -m vla train ...",
    )
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--dataset",
        type=Path,
        help="LeRobot v3 dataset, or a frame cache (record --arrays)",
    )
    source.add_argument(
        "--stream-expert",
        metavar="SUITE",
        help="instead of a dataset: the scripted expert's episodes on fresh layouts, rendered by worker "
        "processes while the policy trains and kept in a ring of the newest frames",
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
    train.add_argument(
        "--stop-at-step",
        type=int,
        default=0,
        help="stop and save at this step while the learning-rate schedule still spans --steps (0: off)",
    )
    train.add_argument(
        "--lr-schedule",
        choices=["steps", "time"],
        default="steps",
        help="steps: the cosine spans --steps; time: it also follows the share of --max-seconds trained, "
        "so a run the cap stops ends at the bottom of it (a borrowed machine's budget)",
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
    train.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="autocast precision, for every --policy; auto: bf16 on CUDA, fp32 on the CPU (bf16 is faster on "
        "CPUs with AVX-512 bf16 or AMX units)",
    )
    train.add_argument(
        "--shift-px",
        type=int,
        default=6,
        help="largest random image shift of the augmentation, pixels (0: colour jitter only)",
    )
    train.add_argument(
        "--environment-state-weight",
        type=float,
        default=0.0,
        help="weight of the auxiliary loss that reads object positions (observation.environment_state, "
        "recorded by the simulator) out of the image tokens; 0: off",
    )
    train.add_argument(
        "--environment-state-token",
        action="store_true",
        help="with --environment-state-weight: the head's predicted object positions also enter the "
        "language model as a token before the instruction (run at inference too)",
    )
    train.add_argument(
        "--task-choice",
        action="store_true",
        help="with --environment-state-token: the token's instruction object and "
        "destination are the predicted positions of the objects a linear map of the instruction picks, "
        "trained by cross-entropy (vla/models/task_choice.py)",
    )
    train.add_argument(
        "--arm-frame-features",
        action="store_true",
        help="with --environment-state-token: the token also carries the "
        "instruction object's and destination's bearing and reach from the arm's base "
        "(vla/models/arm_frame.py)",
    )
    train.add_argument(
        "--instruction-via-choice",
        action="store_true",
        help="with --task-choice: the language model no longer sees the sentence and word tokens, so the "
        "instruction reaches the actions only through the choice's objects in the objects token (a "
        "paraphrase acts as what the choice reads from it)",
    )
    train.add_argument(
        "--environment-state-teacher",
        type=float,
        default=0.0,
        help="with --environment-state-token: share of training samples whose token shows the recorded "
        "object positions instead of the predicted ones (teacher forcing)",
    )
    train.add_argument("--no-cache", action="store_true", help="decode frames on every access")
    train.add_argument("--resume", action="store_true", help="continue from <out>/checkpoints/last")
    train.add_argument("--init", type=Path, help="fine-tune from this checkpoint")
    train.add_argument(
        "--widen-normalization",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --init: widen the policy's ranges on the joints the data leaves, and say so (default); "
        "--no-widen-normalization refuses such data instead (it would be learnt clipped)",
    )
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
    train.add_argument("--stream-workers", type=int, default=1, help="--stream-expert: expert processes")
    train.add_argument(
        "--stream-frames",
        type=int,
        default=20_000,
        help="--stream-expert: frames the ring holds (98 KB each)",
    )
    train.add_argument(
        "--stream-start-frames",
        type=int,
        default=2_000,
        help="--stream-expert: frames rendered before the first step",
    )
    train.add_argument(
        "--stream-seed",
        type=int,
        help="--stream-expert: first layout seed (default 1,000,000: above every seed that recording, "
        "held-out caches and evaluation use)",
    )
    train.add_argument(
        "--stream-noise-deg",
        type=float,
        default=0.0,
        help="--stream-expert: perturb the expert's executed arm targets in bursts of up to this many "
        "degrees per joint; the recorded action stays the expert's (DART-style recovery data, "
        "sim/expert_noise.py)",
    )
    train.set_defaults(run=run_train)


def run_train(args: argparse.Namespace) -> int:
    stream = _stream_config(args)
    if args.policy != "vla":
        return _train_baseline(args, stream)
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
        shift_px=args.shift_px,
        precision=args.precision,
        environment_state_weight=args.environment_state_weight,
        environment_state_token=args.environment_state_token,
        environment_state_teacher=args.environment_state_teacher,
        task_choice=args.task_choice,
        arm_frame_features=args.arm_frame_features,
        instruction_via_choice=args.instruction_via_choice,
        cache_in_memory=not args.no_cache,
        resume=args.resume,
        init=args.init,
        widen_normalization=args.widen_normalization,
        backbone=args.backbone,
        freeze_vision=args.freeze_vision,
        lora_rank=args.lora_rank,
        max_seconds=args.max_seconds,
        lr_schedule=args.lr_schedule,
        stop_at_step=args.stop_at_step,
        val_dataset=args.val_dataset,
        val_batches=args.val_batches,
        stream=stream,
    )
    result = train(config)
    held_out = f", held-out loss {result.val_loss:.4f}" if result.val_loss is not None else ""
    print(f"final loss {result.final_loss:.4f}{held_out}; checkpoint: {result.last_checkpoint}")
    return 0


def _stream_config(args: argparse.Namespace):
    """--stream-expert and its --stream-* settings as a StreamConfig, or None when training on --dataset."""
    if not args.stream_expert:
        return None
    from vla.training.stream import StreamConfig

    return StreamConfig(
        suite=args.stream_expert,
        workers=args.stream_workers,
        capacity=args.stream_frames,
        start_frames=args.stream_start_frames,
        noise_deg=args.stream_noise_deg,
        **({"first_seed": args.stream_seed} if args.stream_seed is not None else {}),
    )


def _train_baseline(args: argparse.Namespace, stream) -> int:
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
            precision=args.precision,
            stream=stream,
        )
    )
    print(f"{args.policy}: {summary['steps']} steps, final loss {summary['final_loss']:.4f}; {args.out}")
    return 0
