"""Setting a run up: process group and seeds, the data source (a dataset or the streamed expert), the
policy, fine-tuning options, optimizer and lr schedule; `prepare` returns them as one `TrainingRun`."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, Subset, WeightedRandomSampler

from vla.contract import ACTION, ACTION_NAMES, ENVIRONMENT_STATE, OBS_STATE, camera_key
from vla.models.checkpoint import PolicyBundle, load_checkpoint
from vla.models.configuration_vla import VLAConfig
from vla.models.modeling_vla import VLAModel
from vla.models.normalization import Normalization
from vla.record_arrays import expert_environment_state_names, expert_fixed_destinations
from vla.training.batch_encoder import BatchEncoder
from vla.training.batches import DeviceBatches
from vla.training.data import ChunkDataset, collate, dataset_normalization, open_training_source
from vla.training.finetune import add_lora, freeze_vision_tower, train_only_abstain_head
from vla.training.frames import DatasetArrays, arrays_from_episodes, arrays_stats, feature_names, load_arrays
from vla.training.optim import ScheduleClock, build_optimizer, load_optimizer
from vla.training.policy_setup import (
    ObjectsTraining,
    fine_tuning_bundle,
    model_config,
    training_policy,
)
from vla.training.precision import autocast_for
from vla.training.replay import combined, replay_weights
from vla.training.run_checkpoints import last_checkpoint, resume_from_last, save_run_config
from vla.training.stream import StreamBatches, start_stream, stream_batches, suite_instructions
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
class TrainingData:
    """What `--data.dataset` (and `--data.replay_dataset`) gives a run."""

    lerobot_dataset: object | None  # None when the frames are in memory as `arrays`
    instructions: list[str]
    normalization: Normalization
    arrays: DatasetArrays | None
    weights: np.ndarray | None = None  # (F,) sampling probability per frame, with replay; None: uniform
    features: dict = field(default_factory=dict)  # --data.dataset's LeRobot features (their joint names)


def load_training_data(cfg: TrainConfig, config: VLAConfig) -> TrainingData:
    """`cfg.data.dataset`, with `cfg.data.replay_dataset` mixed in (vla/training/replay.py) when given."""
    lerobot_dataset, arrays = open_training_source(cfg.data.dataset, config)
    if cfg.data.replay_dataset is not None:
        camera_keys = [camera_key(camera) for camera in config.cameras]
        new = arrays if arrays is not None else load_arrays(lerobot_dataset, camera_keys)
        source, old = open_training_source(cfg.data.replay_dataset, config, "--data.replay_dataset")
        old = old if old is not None else load_arrays(source, camera_keys)
        both = combined(new, old, cfg.data.dataset, cfg.data.replay_dataset)
        weights = replay_weights(len(new.state), len(old.state), cfg.data.replay_share)
        normalization = Normalization.from_lerobot_stats(arrays_stats(both))
        features = lerobot_dataset.meta.features if lerobot_dataset is not None else {}
        return TrainingData(None, sorted(set(both.tasks)), normalization, both, weights, features)
    if arrays is not None:
        stats = arrays_stats(arrays)
        return TrainingData(None, sorted(set(arrays.tasks)), Normalization.from_lerobot_stats(stats), arrays)
    instructions = list(lerobot_dataset.meta.tasks.index)
    normalization = dataset_normalization(lerobot_dataset)
    return TrainingData(
        lerobot_dataset, instructions, normalization, None, None, lerobot_dataset.meta.features
    )


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
        bundle, loader = _stream_loader(replace(cfg, data=replace(cfg.data, stream=stream)), initial, device)
        sampler = None
    else:
        bundle, loader, sampler = _dataset_loader(cfg, initial, device, rank, world)

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
    for group in optimizer.param_groups:
        group.setdefault(
            "initial_lr", cfg.optim.lr
        )  # LambdaLR needs it to start mid-schedule on --run.resume
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
    )


def run_policy(
    cfg: TrainConfig,
    initial: PolicyBundle | None,
    instructions: list[str],
    normalization: Normalization,
    names: list[str] | None,
) -> PolicyBundle:
    """The policy `cfg` trains (`training_policy`): its object modules, and an abstain head with
    --abstain.weight; `names`: the environment state's, for the task choice."""
    objects = objects_training(cfg, names)
    return training_policy(
        initial, model_config(cfg), instructions, normalization, objects, cfg.abstain.weight > 0
    )


def objects_training(cfg: TrainConfig, names: list[str] | None) -> ObjectsTraining:
    """The object modules `cfg` asks for; `names`: the environment state's, for the task choice."""
    return ObjectsTraining(
        cfg.objects.weight,
        cfg.objects.token,
        tuple(names) if cfg.objects.task_choice else None,
        expert_fixed_destinations() if cfg.objects.task_choice else (),
        cfg.objects.arm_frame,
        cfg.objects.via_choice,
    )


def _dataset_loader(
    cfg: TrainConfig, initial: PolicyBundle | None, device: torch.device, rank: int, world: int
) -> tuple[PolicyBundle, DataLoader | DeviceBatches, DistributedSampler | None]:
    """The policy (fresh or `initial`) and batches of `cfg.data.dataset`: on the device, or a DataLoader."""
    tic = time.perf_counter()
    if cfg.data.replay_dataset is not None and world > 1:
        raise ValueError("--data.replay_dataset trains in one process; run it without torchrun")
    data = load_training_data(cfg, initial.config if initial else model_config(cfg))
    lerobot_dataset, instructions, normalization, arrays = (
        data.lerobot_dataset,
        data.instructions,
        data.normalization,
        data.arrays,
    )
    if cfg.abstain.only and arrays is not None:
        # The abstain head reads images and the instruction only: object positions recorded in another
        # scene's layout (tabletop_compose's, beside a tabletop policy) are never normalised or read.
        arrays = replace(arrays, environment_state=None, environment_state_names=None)
    # A resumed run keeps the ranges it started with; the abstain head alone reads neither state nor
    # actions, so training it keeps the policy's ranges and its actions exactly as they were.
    if initial is not None and not cfg.run.resume and not cfg.abstain.only:
        features = data.features
        initial = fine_tuning_bundle(
            initial,
            normalization,
            feature_names(features.get(OBS_STATE, {}).get("names")),
            feature_names(features.get(ACTION, {}).get("names")),
            cfg.policy.widen_normalization,
        )
    names = None
    if cfg.objects.task_choice:
        if lerobot_dataset is not None:
            names = feature_names(lerobot_dataset.meta.features.get(ENVIRONMENT_STATE, {}).get("names"))
        else:
            names = arrays.environment_state_names
        if not names:
            raise ValueError(
                f"--objects.task_choice: {cfg.data.dataset} does not name its {ENVIRONMENT_STATE} values "
                "(record it from the simulator: vla record --source expert, or train with "
                "--data.stream.suite)"
            )
    bundle = run_policy(cfg, initial, instructions, normalization, names)
    chunks = ChunkDataset(
        lerobot_dataset, bundle.config, bundle.normalization, cfg.data.cache_in_memory, arrays
    )
    if rank == 0 and chunks.arrays is not None:
        seconds = time.perf_counter() - tic
        frames, cameras = len(chunks), len(bundle.config.cameras)
        print(f"loaded {frames} frames x {cameras} cameras in {seconds:.1f} s ({frames / seconds:.0f}/s)")
    sampler = DistributedSampler(chunks, world, rank, seed=cfg.run.seed) if world > 1 else None
    if chunks.arrays is not None and world == 1 and len(chunks) >= cfg.optim.batch_size:
        config = bundle.config
        loader = DeviceBatches(
            chunks.arrays,
            chunks.camera_keys,
            config.chunk_length,
            device,
            cfg.optim.batch_size,
            cfg.run.seed,
            bundle.normalization,
            data.weights,
        )
    else:
        decoders = 0 if chunks.arrays is not None else cfg.data.num_workers  # decoding workers without cache
        weights = data.weights
        if chunks.trained is not None and not chunks.trained.all():  # held episodes: their first second
            weights = None if weights is None else weights[chunks.trained]
            chunks = Subset(chunks, np.flatnonzero(chunks.trained).tolist())
            if sampler is not None:
                sampler = DistributedSampler(chunks, world, rank, seed=cfg.run.seed)
        order = sampler
        if weights is not None:  # replay: one process (checked above), frames drawn by their weights
            generator = torch.Generator().manual_seed(cfg.run.seed)
            order = WeightedRandomSampler(weights, len(chunks), generator=generator)
        loader = DataLoader(
            chunks,
            batch_size=cfg.optim.batch_size,
            shuffle=order is None,
            sampler=order,
            collate_fn=collate,
            drop_last=len(chunks) >= cfg.optim.batch_size * world,
            num_workers=decoders,
        )
    return bundle, loader, sampler


def _stream_loader(
    cfg: TrainConfig, initial: PolicyBundle | None, device: torch.device
) -> tuple[PolicyBundle, StreamBatches]:
    """The policy (fresh, normalised by the first streamed episodes, or `initial`) and streamed batches."""
    tic = time.perf_counter()
    stream, first = start_stream(cfg.stream)
    try:
        normalization = Normalization.from_lerobot_stats(arrays_stats(arrays_from_episodes(first)))
        # A resumed run keeps the ranges it started with, and so does the abstain head trained alone.
        if initial is not None and not cfg.run.resume and not cfg.abstain.only:
            initial = fine_tuning_bundle(
                initial, normalization, ACTION_NAMES, ACTION_NAMES, cfg.policy.widen_normalization
            )
        names = expert_environment_state_names(cfg.stream.suite) if cfg.objects.task_choice else None
        instructions = suite_instructions(cfg.stream.suite)
        bundle = run_policy(cfg, initial, instructions, normalization, names)
        config = bundle.config
        camera_keys = [camera_key(camera) for camera in config.cameras]
        batches = stream_batches(
            stream,
            first,
            camera_keys,
            config.chunk_length,
            bundle.normalization,
            device,
            cfg.optim.batch_size,
            cfg.run.seed,
            # the abstain head alone reads images and the instruction: object positions streamed from
            # another scene's layout (tabletop_compose's, beside a tabletop policy) are never kept
            keep_environment_state=not cfg.abstain.only,
        )
    except BaseException:
        stream.close()
        raise
    print(
        f"streaming {cfg.stream.suite} expert episodes from {cfg.stream.workers} worker(s): the first "
        f"{len(batches.ring)} frames took {time.perf_counter() - tic:.1f} s; the ring holds up to "
        f"{cfg.stream.capacity}"
    )
    return bundle, batches
