"""Setting a run up: process group and seeds, the data source and its policy (vla/training/loaders.py),
fine-tuning options, optimizer and lr schedule; `prepare` returns them as one `TrainingRun`."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from sim.tasks.suites import get_suite
from vla.models.checkpoint import PolicyBundle, load_checkpoint
from vla.models.modeling_vla import VLAModel
from vla.training.batch_encoder import BatchEncoder
from vla.training.batches import DeviceBatches
from vla.training.finetune import add_lora, freeze_vision_tower, train_only_abstain_head
from vla.training.loaders import dataset_loader, stream_loader, stream_replay_loader
from vla.training.optim import ScheduleClock, build_optimizer, load_optimizer
from vla.training.pointing_labels import PointingLabels
from vla.training.precision import autocast_for
from vla.training.run_checkpoints import last_checkpoint, resume_from_last, save_run_config
from vla.training.stream import StreamBatches
from vla.training.train_config import TrainConfig
from vla.training.validation import HeldOutLoss


def _leave_cores_to_workers(workers: int) -> None:
    """Training on the CPU beside `workers` render processes: torch takes the cores they leave. With its
    default of one thread per core, its spinning threads and the renderers fight over the cores: on 2
    cores with 1 worker, 12 samples/s and 77 rendered frames/s, against 27 and 98 with 1 torch thread
    (docs/LOG.md, 2026-12-01)."""
    threads = max(1, (os.cpu_count() or 1) - workers)
    if torch.get_num_threads() > threads:
        torch.set_num_threads(threads)
        print(
            f"streaming on the CPU: {threads} torch thread(s), {workers} core(s) left to the expert workers"
        )


def training_device(name: str) -> torch.device:
    """`--run.device`: "auto" is the GPU when there is one, else the CPU; any other name as torch reads it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group when launched by torchrun."""
    if "RANK" not in os.environ:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


@dataclass
class TrainingRun:
    """Everything the step loop needs, built by `prepare`."""

    cfg: TrainConfig
    rank: int
    world: int
    bundle: PolicyBundle
    model: VLAModel
    ddp_model: torch.nn.Module  # `model`, wrapped in DistributedDataParallel when world > 1
    loader: DataLoader | DeviceBatches | StreamBatches
    sampler: DistributedSampler | None
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    schedule: ScheduleClock  # the scheduler's position: steps, or the share of --optim.max_seconds trained
    encode: BatchEncoder
    autocast: object
    start_step: int
    validation: HeldOutLoss | None  # rank 0, with --data.val_dataset
    pointing: PointingLabels | None  # with --objects.point


def prepare(cfg: TrainConfig) -> TrainingRun:
    """Process group, seeds, data, policy (fresh, --policy.init or --run.resume), fine-tuning, optimizer,
    schedule."""
    rank, world = _distributed()
    device = training_device(cfg.run.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(cfg.run.seed)
    random.seed(cfg.run.seed)
    np.random.seed(cfg.run.seed)

    if rank == 0:
        save_run_config(cfg)
    cfg, resume_state = resume_from_last(cfg)

    initial = (
        load_checkpoint(cfg.policy.init) if cfg.policy.init is not None else None
    )  # --policy.init or --run.resume
    if cfg.stream is not None:
        if world > 1:
            raise ValueError("--data.stream.suite trains in one process; run it without torchrun")
        if device.type == "cpu":
            _leave_cores_to_workers(cfg.stream.workers)
        first_job = resume_state["stream_next_job"] if resume_state else cfg.stream.first_job
        stream = replace(cfg.stream, first_job=first_job)
        streaming = replace(cfg, data=replace(cfg.data, stream=stream))
        if cfg.data.dataset is not None:  # the dataset, with the stream replayed beside it
            bundle, loader = stream_replay_loader(streaming, initial, device)
        else:
            bundle, loader = stream_loader(streaming, initial, device)
        sampler = None
    else:
        bundle, loader, sampler = dataset_loader(cfg, initial, device, rank, world)

    fine_tuning = cfg.policy.init is not None and not cfg.run.resume
    if cfg.policy.freeze_vision if cfg.policy.freeze_vision is not None else fine_tuning:
        freeze_vision_tower(bundle.model)
    if cfg.policy.lora_rank:
        add_lora(bundle.model, cfg.policy.lora_rank)
    if cfg.abstain.only:
        train_only_abstain_head(bundle.model)
    model = bundle.model.to(device).train()
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = build_optimizer(model, cfg.optim.lr, cfg.optim.weight_decay)
    start_step = 0
    if resume_state is not None:
        start_step = resume_state["step"]
        if (
            not cfg.policy.lora_rank
        ):  # LoRA adapters restart from the merged weights: no optimizer state to match
            load_optimizer(optimizer, last_checkpoint(cfg.run.out))
    for group in optimizer.param_groups:  # LambdaLR needs it to start mid-schedule on --run.resume
        group.setdefault("initial_lr", group["lr"])  # --optim.lr, times a module's lr_scale
    schedule = ScheduleClock(
        cfg.warmup_steps, cfg.optim.steps, cfg.optim.max_seconds if cfg.optim.schedule == "time" else 0.0
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule.multiplier, last_epoch=start_step - 1)
    autocast = autocast_for(cfg.optim.precision, device)
    validation = None
    if cfg.data.val_dataset is not None and rank == 0:
        validation = HeldOutLoss(
            cfg.data.val_dataset, bundle, cfg.optim.batch_size, cfg.data.val_batches, cfg.run.seed
        )
    return TrainingRun(
        cfg,
        rank,
        world,
        bundle,
        model,
        ddp_model,
        loader,
        sampler,
        optimizer,
        scheduler,
        schedule,
        BatchEncoder(
            bundle,
            device,
            cfg.augment.enabled,
            getattr(loader, "tasks", ()),
            cfg.augment.shift_px,
            cfg.objects.teacher,
        ),
        autocast,
        start_step,
        validation,
        pointing_labels(cfg, bundle),
    )


def pointing_labels(cfg: TrainConfig, bundle: PolicyBundle) -> PointingLabels | None:
    """The pointing loss's labels for --objects.point: the stream's scene's front camera, the model's token
    layout and the task values' normalisation."""
    if cfg.objects.point <= 0:
        return None
    model = bundle.model
    cameras = tuple(model.config.cameras)
    environment = bundle.normalization.environment_state
    return PointingLabels.front_camera(
        cfg.objects.point,
        get_suite(cfg.stream.suite).scene_config(),
        cameras,
        model.image_token_count() // len(cameras),
        environment.low,
        environment.high,
    )
