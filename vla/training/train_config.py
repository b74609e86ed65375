"""`TrainConfig`: the typed options of one `vla train` run, checked when built."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vla.training.precision import check_precision
from vla.training.stream import StreamConfig


@dataclass(frozen=True)
class TrainConfig:
    dataset: Path | None  # a LeRobot v3 dataset, or a frame cache (vla.training.frames.save_arrays)
    out: Path
    preset: str = "nano"
    steps: int = 10_000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup_steps: int = 500
    grad_clip: float = 1.0
    save_every: int = 2_000
    log_every: int = 50
    seed: int = 0
    device: str = "auto"
    num_workers: int = 0
    augment: bool = True
    shift_px: int = 6  # random image shift of the augmentation, pixels (0: colour jitter only)
    environment_state_weight: float = 0.0  # > 0: auxiliary object-position loss (needs environment state)
    environment_state_token: bool = False  # the head's predicted positions feed the language model
    task_choice: bool = False  # the token's task values: the instruction's choice among the predicted objects
    arm_frame_features: bool = False  # the token also carries the task objects' bearing and reach
    instruction_via_choice: bool = False  # the actions see the instruction only through the task choice
    environment_state_teacher: float = (
        0.0  # share of training samples whose token gets the recorded positions
    )
    cache_in_memory: bool = True
    resume: bool = False
    init: Path | None = None  # fine-tune from this checkpoint
    backbone: Path | None = None  # pretrained SmolVLM folder instead of the preset's scratch backbone
    freeze_vision: bool | None = None  # default: frozen when fine-tuning (--init), trained otherwise
    lora_rank: int = 0  # > 0: train LoRA adapters on the language model instead of its weights
    max_seconds: float = 0.0  # > 0: stop (and save) once this run has trained this long
    lr_schedule: str = "steps"  # "time": the cosine also follows the share of max_seconds trained
    stop_at_step: int = 0  # > 0: stop (and save) at this step, though the lr schedule spans `steps`
    val_dataset: Path | None = None  # held-out episodes: loss at the start and at every checkpoint
    val_batches: int = 8  # batches of `batch_size` held-out samples per validation
    precision: str = "auto"  # "bf16" | "fp32" autocast; auto: bf16 on CUDA, fp32 on the CPU
    widen_normalization: bool = True  # with --init: widen the ranges the data leaves (False: refuse the data)
    stream: StreamConfig | None = None  # instead of `dataset`: expert episodes rendered while training

    def __post_init__(self) -> None:
        if (self.dataset is None) == (self.stream is None):
            raise ValueError("train on --dataset or on --stream-expert, exactly one of them")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError("--steps and --batch-size must be at least 1")
        if self.val_batches < 1:
            raise ValueError("--val-batches must be at least 1")
        check_precision(self.precision)
        if self.lr_schedule not in ("steps", "time"):
            raise ValueError(f"--lr-schedule is steps or time; got {self.lr_schedule!r}")
        if self.lr_schedule == "time" and (self.max_seconds <= 0 or self.resume):
            raise ValueError(
                "--lr-schedule time needs --max-seconds (the cap it decays towards) and no --resume "
                "(the first run's clock is not kept)"
            )
        if not 0.0 <= self.environment_state_teacher <= 1.0:
            raise ValueError(
                f"--environment-state-teacher is a share in [0, 1]; got {self.environment_state_teacher}"
            )
        if self.environment_state_teacher > 0 and not self.environment_state_token:
            raise ValueError("--environment-state-teacher needs --environment-state-token")
        if self.arm_frame_features and not self.environment_state_token:
            raise ValueError("--arm-frame-features needs --environment-state-token")
        if self.shift_px < 0 or self.environment_state_weight < 0:
            raise ValueError("--shift-px and --environment-state-weight must be >= 0")
