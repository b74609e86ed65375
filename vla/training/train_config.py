"""`TrainConfig`: every option of one `vla train` run, as one typed tree, checked when built.

The `vla train` command line is generated from it (vla/config_cli.py), a run folder and each checkpoint
keep it as `train_config.json`, and `--config <that file>` runs it again. Named presets (`TRAIN_PRESETS`)
are starting points: `vla train --preset tabletop_nano --optim.lr 5e-4`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from vla.config_cli import group, option
from vla.training.precision import PRECISIONS, check_precision
from vla.training.stream import StreamConfig


@dataclass(frozen=True)
class RunConfig:
    out: Path | None = option(None, "run folder: checkpoints/, tensorboard/, train_config.json (required)")
    seed: int = option(0, "seed of the weights, batches and augmentation")
    device: str = option("auto", "auto | cpu | cuda | cuda:N")
    resume: bool = option(False, "continue from <out>/checkpoints/last")
    save_every: int = option(2_000, "steps between checkpoints")
    log_every: int = option(50, "steps between log lines")


@dataclass(frozen=True)
class DataConfig:
    dataset: Path | None = option(None, "a LeRobot v3 dataset or a frame cache (vla record --arrays)")
    val_dataset: Path | None = option(None, "held-out episodes: their loss at the start and every checkpoint")
    replay_dataset: Path | None = option(
        None, "old skills' demonstrations, mixed into every batch (keeps them)"
    )
    replay_share: float = option(0.3, "share of each batch replayed: --data.replay_dataset or the stream")
    val_batches: int = option(8, "held-out batches per validation")
    cache_in_memory: bool = option(True, "decode the dataset's frames once, into memory")
    num_workers: int = option(0, "decoding processes when not cached")
    stream: StreamConfig = group(
        StreamConfig, "the expert rendered while training: instead of a dataset, or replayed beside one"
    )


@dataclass(frozen=True)
class PolicyConfig:
    kind: str = option(
        "vla", "vla, or LeRobot's act / diffusion on the same batches", choices=("vla", "act", "diffusion")
    )
    model: str = option(
        "nano", "architecture preset (vla/models/configuration_vla.py)", choices=("nano", "debug")
    )
    init: Path | None = option(None, "fine-tune this checkpoint")
    backbone: Path | None = option(None, "a local pretrained SmolVLM folder (never downloaded)")
    freeze_vision: bool | None = option(None, "freeze the vision tower (none: frozen with init)")
    lora_rank: int = option(0, "> 0: train LoRA adapters of this rank instead (peft)")
    widen_normalization: bool = option(True, "with init: widen ranges the data leaves, naming each joint")


@dataclass(frozen=True)
class ObjectsConfig:
    weight: float = option(0.0, "weight of the object-position loss on the image tokens (0: off)")
    token: bool = option(False, "the predicted positions enter the model as an objects token")
    teacher: float = option(0.0, "share of samples whose token shows the recorded positions")
    task_choice: bool = option(False, "the instruction picks the token's object and destination")
    arm_frame: bool = option(False, "the token carries their bearing and reach from the arm's base")
    via_choice: bool = option(False, "the instruction reaches the actions only through the choice")
    pointer: bool = option(False, "the words point at the task's objects in the images (no slots)")
    point: float = option(0.0, "weight of the pointer's loss on the objects' front-camera tokens (0: off)")


@dataclass(frozen=True)
class AbstainConfig:
    weight: float = option(
        0.0, "> 0: an abstain head (or the pointer's null) learns from episodes that hold still (0: off)"
    )
    only: bool = option(False, "train the abstain head alone: the rest frozen, no action loss")


@dataclass(frozen=True)
class OptimConfig:
    steps: int = option(10_000, "optimiser steps (the cosine's length)")
    batch_size: int = option(64, "samples per step (per GPU)")
    lr: float = option(3e-4, "peak learning rate (AdamW)")
    weight_decay: float = option(0.01, "AdamW weight decay")
    warmup_steps: int = option(500, "linear warmup (at most a tenth of steps)")
    grad_clip: float = option(1.0, "gradient-norm clip")
    schedule: str = option(
        "steps", "the cosine follows the steps, or the share of max_seconds", choices=("steps", "time")
    )
    max_seconds: float = option(0.0, "> 0: stop and save after this long")
    stop_at_step: int = option(0, "> 0: stop and save here, the schedule still spanning steps")
    precision: str = option("auto", "autocast; auto: bf16 on CUDA, fp32 on a CPU", choices=PRECISIONS)


@dataclass(frozen=True)
class AugmentConfig:
    enabled: bool = option(True, "random image shifts and colour jitter")
    shift_px: int = option(6, "largest shift, pixels (0: colour jitter only)")


@dataclass(frozen=True)
class TrainConfig:
    """Train the policy on a LeRobot dataset or the expert stream (torchrun --nproc-per-node=N for DDP)."""

    run: RunConfig = group(RunConfig, "the run")
    data: DataConfig = group(DataConfig, "what it trains on")
    policy: PolicyConfig = group(PolicyConfig, "what it trains")
    objects: ObjectsConfig = group(ObjectsConfig, "object grounding of the shipped policy (vla/models/)")
    abstain: AbstainConfig = group(AbstainConfig, "saying 'not in view' (vla/models/abstain_head.py)")
    optim: OptimConfig = group(OptimConfig, "optimisation")
    augment: AugmentConfig = group(AugmentConfig, "augmentation")

    @property
    def stream(self) -> StreamConfig | None:
        """The expert stream it trains on (alone, or replayed beside `data.dataset`), or None."""
        return self.data.stream if self.data.stream.suite else None

    def __post_init__(self) -> None:
        if self.run.out is None:
            raise ValueError("--run.out is required: the run folder")
        if self.data.dataset is None and self.stream is None:
            raise ValueError(
                "train on --data.dataset, on --data.stream.suite, or on both (the stream replayed beside "
                "the dataset)"
            )
        optim = self.optim
        if optim.steps < 1 or optim.batch_size < 1 or self.data.val_batches < 1:
            raise ValueError("--optim.steps, --optim.batch_size and --data.val_batches must be at least 1")
        check_precision(optim.precision)
        if optim.schedule == "time" and (optim.max_seconds <= 0 or self.run.resume):
            raise ValueError(
                "--optim.schedule time needs --optim.max_seconds (the cap it decays towards) and no "
                "--run.resume (the first run's clock is not kept)"
            )
        objects = self.objects
        if not 0.0 <= objects.teacher <= 1.0:
            raise ValueError(f"--objects.teacher is a share in [0, 1]; got {objects.teacher}")
        if (objects.teacher > 0 or objects.arm_frame) and not (objects.token or objects.pointer):
            raise ValueError(
                "--objects.teacher and --objects.arm_frame need --objects.token or --objects.pointer"
            )
        if objects.pointer and objects.teacher > 0 and objects.weight <= 0:
            raise ValueError(
                "--objects.teacher shows the recorded positions in the pointer's token: it needs "
                "--objects.weight > 0 (a run without labels keeps none)"
            )
        if objects.point > 0 and not (objects.pointer and objects.weight > 0 and self.stream is not None):
            raise ValueError(
                "--objects.point trains the pointer (--objects.pointer) on where the stream's scene shows "
                "the recorded positions: it needs --objects.weight > 0 (which keeps them) and "
                "--data.stream.suite (whose camera draws them)"
            )
        if objects.pointer and (objects.token or objects.task_choice):
            raise ValueError(
                "--objects.pointer makes its own tokens and replaces the task choice: drop --objects.token "
                "and --objects.task_choice"
            )
        replays_stream = self.data.dataset is not None and self.stream is not None
        if self.data.replay_dataset is not None and (self.data.dataset is None or replays_stream):
            raise ValueError(
                "--data.replay_dataset mixes into --data.dataset alone: give --data.dataset, and no "
                "--data.stream.suite (the stream is the other replay source)"
            )
        if self.data.replay_dataset is not None or replays_stream:
            if not self.data.cache_in_memory:
                raise ValueError("replay mixes into --data.dataset in memory: keep --data.cache_in_memory")
            if not 0.0 < self.data.replay_share < 1.0:
                raise ValueError(f"--data.replay_share is a share in (0, 1); got {self.data.replay_share}")
        if min(self.augment.shift_px, objects.weight, objects.point, self.abstain.weight) < 0:
            raise ValueError(
                "--augment.shift_px, --objects.weight, --objects.point and --abstain.weight must be >= 0"
            )
        if self.abstain.only and (self.abstain.weight <= 0 or self.policy.init is None):
            raise ValueError(
                "--abstain.only trains the abstain head of a trained policy: give --policy.init and "
                "--abstain.weight > 0"
            )

    @property
    def warmup_steps(self) -> int:
        """The warmup the schedule uses: at most a tenth of the run."""
        return min(self.optim.warmup_steps, max(1, self.optim.steps // 10))


# The shipped policy's recipe from scratch: the expert stream with DART noise and every object module the
# shipped policies/tabletop_nano has (its training_state.json). The shipped weights came from a chain of
# fine-tunes (recipes/README.md); this preset is that chain's settings as one run.
TABLETOP_NANO = TrainConfig(
    run=RunConfig(out=Path("runs/tabletop_nano"), save_every=500),
    data=DataConfig(stream=StreamConfig(suite="tabletop", capacity=30_000, noise_deg=3.0)),
    objects=ObjectsConfig(
        weight=1.0, token=True, teacher=1.0, task_choice=True, arm_frame=True, via_choice=True
    ),
    optim=OptimConfig(batch_size=32, lr=1e-4, warmup_steps=100, steps=100_000, precision="bf16"),
    augment=AugmentConfig(shift_px=0),
)

TRAIN_PRESETS: dict[str, TrainConfig] = {
    "tabletop_nano": TABLETOP_NANO,
    # tests and smoke runs: the tiny architecture on the expert stream, a few steps on a CPU
    "debug": replace(
        TABLETOP_NANO,
        run=RunConfig(out=Path("runs/debug"), save_every=20, log_every=5),
        data=DataConfig(stream=StreamConfig(suite="tabletop", capacity=500, start_frames=100)),
        policy=PolicyConfig(model="debug"),
        optim=OptimConfig(batch_size=8, lr=1e-3, warmup_steps=2, steps=20, precision="fp32"),
    ),
}
