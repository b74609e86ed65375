"""The training loop behind `vla train`: single process, or one process per GPU under torchrun (DDP)."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from vla.models.backbone import fit_image_size
from vla.models.checkpoint import PolicyBundle, load_checkpoint, save_checkpoint
from vla.models.configuration_vla import VLAConfig, preset
from vla.models.instruction import InstructionEncoder
from vla.models.modeling_vla import VLABatch, VLAModel, training_losses
from vla.models.normalization import ENVIRONMENT_STATE, Normalization, RangeNormalizer
from vla.models.task_choice import task_choice_sources
from vla.record_arrays import expert_environment_state_names, expert_fixed_destinations
from vla.tokenization import BinningActionTokenizer, BinningConfig
from vla.tokenization.text import build_word_tokenizer, encode_instructions
from vla.training.augment import augment_images, drop_state, perturb_state
from vla.training.batches import DeviceBatches
from vla.training.data import ChunkDataset, collate, dataset_normalization, open_training_source
from vla.training.finetune import add_lora, freeze_vision_tower, has_lora, merged_copy
from vla.training.frames import arrays_from_episodes, arrays_stats, feature_names
from vla.training.interrupt import StopSignals
from vla.training.optim import ScheduleClock, build_optimizer, load_optimizer, save_optimizer
from vla.training.precision import autocast_for, check_precision
from vla.training.ranges import with_data_ranges
from vla.training.stream import StreamBatches, StreamConfig, start_stream, stream_batches, suite_instructions
from vla.training.validation import HeldOutLoss


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
    state_noise: float = 0.0  # std of Gaussian noise on the normalised joint state (training batches only)
    state_dropout: float = 0.0  # share of training samples whose joint state is zeroed
    shift_px: int = 6  # random image shift of the augmentation, pixels (0: colour jitter only)
    environment_state_weight: float = 0.0  # > 0: auxiliary object-position loss (needs environment state)
    environment_state_token: bool = False  # the head's predicted positions feed the language model
    grounding_dims: int = 0  # > 0: the last this many environment-state values feed the grounding query
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
        if not 0.0 <= self.state_noise <= 1.0:
            raise ValueError(f"--state-noise is a std in normalised units, 0 to 1; got {self.state_noise}")
        if not 0.0 <= self.state_dropout < 1.0:
            raise ValueError(f"--state-dropout is a probability in [0, 1); got {self.state_dropout}")
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


def _device(name: str) -> torch.device:
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


def model_config(cfg: TrainConfig) -> VLAConfig:
    """The preset, pointed at --backbone when one is given."""
    return preset(cfg.preset, **({"backbone_path": str(cfg.backbone)} if cfg.backbone else {}))


def fresh_bundle(config: VLAConfig, instructions: list[str], normalization: Normalization) -> PolicyBundle:
    """An untrained policy for a dataset with these instructions and this normalisation."""
    if config.backbone_path:
        from tokenizers import Tokenizer

        text_tokenizer = Tokenizer.from_file(str(Path(config.backbone_path) / "tokenizer.json"))
    else:  # a word vocabulary from the instructions the dataset actually holds
        text_tokenizer = build_word_tokenizer(instructions)
    model = VLAModel(config, text_tokenizer.get_vocab_size())
    action_tokenizer = BinningActionTokenizer(BinningConfig(config.n_action_bins, config.action_dim))
    return PolicyBundle(config, model, normalization, text_tokenizer, action_tokenizer)


def with_environment_head(
    bundle: PolicyBundle,
    data: Normalization,
    weight: float,
    token: bool = False,
    grounding_dims: int = 0,
    task_choice_names: list[str] | None = None,
    fixed_destinations: tuple[tuple[float, float, float], ...] = (),
    arm_frame: bool = False,
) -> PolicyBundle:
    """With an auxiliary weight > 0: the bundle with the heads its training asks for, added to
    `bundle.model` in place when missing: the image-token head on the scene part of the environment state,
    the `objects` token (`token`), the grounding query on its last `grounding_dims` values and, given the
    environment state's names (`task_choice_names`), the task choice (vla/models/task_choice.py) with
    `fixed_destinations` (x, y, z in m) among its destinations; a policy whose choice lacks some of them
    gets them appended; with `arm_frame`, the token's bearing-and-reach features
    (vla/models/arm_frame.py). The state's normalisation is the policy's own where it has one, else the
    training data's (`data`)."""
    if (token or grounding_dims or task_choice_names is not None or arm_frame) and weight <= 0:
        raise ValueError(
            "--environment-state-token, --grounding-dims, --task-choice and --arm-frame-features need "
            "--environment-state-weight > 0 (their heads are trained)"
        )
    if weight <= 0:
        return bundle
    if data.environment_state is None:
        raise ValueError(
            "--environment-state-weight: the training data has no observation.environment_state (record it "
            "from the simulator: vla record --source expert, or train with --stream-expert)"
        )
    theirs, ours = data.environment_state, bundle.normalization.environment_state
    dim = len(theirs.low)
    config = bundle.config
    grounding = grounding_dims or config.grounding_dims
    scene = dim - grounding
    model = bundle.model
    head = model.environment_head
    if head is not None and head.proj.out_features != scene:
        raise ValueError(
            f"the policy's environment-state head has {head.proj.out_features} outputs; the data's {dim} "
            f"values less {grounding} named by the instruction leave {scene}"
        )
    if ours is None:
        ours = theirs
    elif len(ours.low) == scene < dim:  # a scene-only policy gets grounding: the data's ranges for it
        ours = RangeNormalizer(
            np.concatenate([ours.low, theirs.low[scene:]]), np.concatenate([ours.high, theirs.high[scene:]])
        )
    elif len(ours.low) != dim:
        raise ValueError(
            f"the policy normalises {len(ours.low)} environment-state values, the data has {dim}"
        )
    config = replace(
        config,
        environment_state_dim=dim,
        environment_state_token=config.environment_state_token or token,
        grounding_dims=grounding,
        arm_frame_features=config.arm_frame_features or arm_frame,
    )
    added_destinations = None  # (sources, constants) appended to a trained choice
    if task_choice_names is not None:
        if len(task_choice_names) != dim:
            raise ValueError(
                f"--task-choice: {len(task_choice_names)} environment-state names for {dim} values"
            )
        objects, destinations, constants = task_choice_sources(task_choice_names, fixed_destinations)
        if config.task_choice:
            added_destinations = destinations_to_add(config, objects, destinations, constants)
        if not config.task_choice or added_destinations:
            config = replace(
                config,
                task_object_sources=objects,
                task_destination_sources=destinations,
                task_destination_constants=constants,
            )
    model.config = config
    if model.environment_head is None:
        model.add_environment_head(scene)
    if config.environment_state_token and model.environment_proj is None:
        model.add_environment_token()
    if grounding and model.grounding_head is None:
        model.add_grounding_head(grounding)
    if config.task_choice and model.task_choice is None:
        model.add_task_choice(ours.low, ours.high)
    elif added_destinations:
        model.task_choice.add_destinations(*added_destinations)
    if config.arm_frame_features and model.arm_frame is None:
        model.add_arm_frame(ours.low, ours.high)
    normalization = replace(bundle.normalization, environment_state=ours)
    return replace(bundle, config=config, normalization=normalization)


def fine_tuning_bundle(
    initial: PolicyBundle,
    data: Normalization,
    state_names: list[str] | tuple[str, ...] | None,
    action_names: list[str] | tuple[str, ...] | None,
    widen: bool,
) -> PolicyBundle:
    """`initial` with its normalisation checked against the data's, or widened to it (training/ranges.py)."""
    normalization = with_data_ranges(
        initial.normalization,
        data,
        tuple(state_names) if state_names else None,
        tuple(action_names) if action_names else None,
        widen,
    )
    return replace(initial, normalization=normalization)


def with_instruction_via_choice(bundle: PolicyBundle, via_choice: bool) -> PolicyBundle:
    """The bundle whose language model no longer sees the sentence and word tokens (`via_choice`), so the
    instruction reaches the actions through the task choice only; a policy trained that way keeps it."""
    if not via_choice or bundle.config.instruction_via_choice:
        return bundle
    config = replace(bundle.config, instruction_via_choice=True)  # refused without a task choice
    bundle.model.config = config
    return replace(bundle, config=config)


def destinations_to_add(config: VLAConfig, objects, destinations, constants) -> tuple | None:
    """(sources, constants) of the destinations the data offers beyond a trained choice's, which they must
    extend (same objects, its destinations first); None when they are the same."""
    have = config.task_destination_sources
    have_constants = config.task_destination_constants or ((0.0, 0.0, 0.0),) * len(have)
    if (config.task_object_sources, have, have_constants) == (objects, destinations, constants):
        return None
    n = len(have)
    if config.task_object_sources != objects or (destinations[:n], constants[:n]) != (have, have_constants):
        raise ValueError(
            f"--task-choice: the policy chooses among objects {list(config.task_object_sources)} and "
            f"destinations {list(have)} (constants {list(have_constants)}), which the training data's "
            f"{list(objects)} and {list(destinations)} (constants {list(constants)}) do not extend"
        )
    return destinations[n:], constants[n:]


def load_training_data(
    cfg: TrainConfig, config: VLAConfig
) -> tuple[object | None, list[str], Normalization, object]:
    """(LeRobotDataset or None, instructions, normalisation, frame cache or None) for `cfg.dataset`."""
    lerobot_dataset, arrays = open_training_source(cfg.dataset, config)
    if arrays is not None:
        stats = arrays_stats(arrays)
        return None, sorted(set(arrays.tasks)), Normalization.from_lerobot_stats(stats), arrays
    instructions = list(lerobot_dataset.meta.tasks.index)
    return lerobot_dataset, instructions, dataset_normalization(lerobot_dataset), None


class BatchEncoder:
    """Turns collated samples into model inputs: augmentation, instruction tokens, control-token targets."""

    def __init__(
        self,
        bundle: PolicyBundle,
        device: torch.device,
        augment: bool,
        tasks: list[str] = (),
        state_noise: float = 0.0,
        state_dropout: float = 0.0,
        shift_px: int = 6,
        teacher_objects: float = 0.0,
    ):
        """`tasks`: the instructions that batches with a "task_index" (DeviceBatches) index into.
        `state_noise`: std of the noise added to the normalised joint state of training batches;
        `state_dropout`: share of training samples whose state is zeroed (after the noise);
        `shift_px`: the augmentation's random image shift; `teacher_objects`: share of training samples
        whose `objects` token shows the recorded object positions instead of the predicted ones."""
        self.bundle, self.device, self.augment = bundle, device, augment
        self.state_noise, self.state_dropout, self.shift_px = state_noise, state_dropout, shift_px
        self.teacher_objects = teacher_objects
        self.image_size = bundle.model.backbone.config.vision_config.image_size
        self.instructions = InstructionEncoder(bundle.config, bundle.text_tokenizer)
        self.task_words, self.task_sentences = None, None
        if tasks:  # every instruction's words and embedding once, on the device
            max_words = bundle.config.text.max_instruction_tokens
            words = encode_instructions(bundle.text_tokenizer, list(tasks), max_words)
            self.task_words = torch.from_numpy(words).to(device)  # (K, L)
            _, sentence = self.instructions(list(tasks), device)
            self.task_sentences = sentence  # (K, 384) or None

    def __call__(self, batch: dict, train: bool = True) -> VLABatch:
        images = batch["images"].to(self.device).float() / 255.0
        images = fit_image_size(images, self.image_size)  # as VLAPolicy does at inference
        if train and self.augment:
            images = augment_images(images, max_shift_px=self.shift_px)
        if "task_index" in batch:
            words, sentence = self._indexed_instructions(batch["task_index"], train)
        else:
            words, sentence = self.instructions(batch["task"], self.device, train)
        state = batch["state"].to(self.device)
        if train:
            state = drop_state(perturb_state(state, self.state_noise), self.state_dropout)
        environment = batch.get("environment_state")
        if environment is not None:
            environment = environment.to(self.device)
        from_record = None
        if train and self.teacher_objects > 0 and environment is not None:
            from_record = torch.rand(len(environment), device=self.device) < self.teacher_objects
        return VLABatch(
            images,
            state,
            words,
            sentence,
            self._action_tokens(batch["actions"].to(self.device)),
            batch["action_is_pad"].to(self.device),
            environment,
            from_record,
        )

    def _indexed_instructions(self, index: torch.Tensor, train: bool):
        """Words (word dropout when training, as InstructionEncoder does) and sentences, on the device."""
        words = self.task_words[index]
        if train:
            words = self.instructions.drop_words(words)
        sentence = self.task_sentences[index] if self.task_sentences is not None else None
        return words, sentence

    def _action_tokens(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T, A) normalised actions -> control-token targets, on the device for the binning tokenizer."""
        tokenizer = self.bundle.action_tokenizer
        if isinstance(tokenizer, BinningActionTokenizer):
            return tokenizer.encode_tensor(actions)
        return torch.from_numpy(tokenizer.encode_batch(actions.cpu().numpy())).to(self.device)


@dataclass
class TrainResult:
    last_checkpoint: Path  # <out>/checkpoints/last
    model: VLAModel  # this process's trained model (every DDP rank holds identical weights)
    final_loss: float
    val_loss: float | None = None  # held-out loss at the last checkpoint (--val-dataset)


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
    schedule: ScheduleClock  # the scheduler's position: steps, or the share of --max-seconds trained
    encode: BatchEncoder
    autocast: object
    start_step: int
    validation: HeldOutLoss | None  # rank 0, with --val-dataset


def prepare(cfg: TrainConfig) -> TrainingRun:
    """Process group, seeds, data, policy (fresh, --init or --resume), fine-tuning, optimizer, schedule."""
    rank, world = _distributed()
    device = _device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        torch.cuda.set_device(device)
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    np.random.seed(cfg.seed)

    last = cfg.out / "checkpoints" / "last"
    resume_state = None
    if cfg.resume:
        if not last.is_dir():
            raise FileNotFoundError(f"--resume: no checkpoint at {last}")
        cfg = replace(cfg, init=last)
        resume_state = json.loads((last / "training_state.json").read_text())

    initial = load_checkpoint(cfg.init) if cfg.init is not None else None  # --init or --resume
    if cfg.stream is not None:
        if world > 1:
            raise ValueError("--stream-expert trains in one process; run it without torchrun")
        if device.type == "cpu":
            _leave_cores_to_workers(cfg.stream.workers)
        first_job = resume_state.get("stream_next_job", 0) if resume_state else 0
        stream = replace(cfg.stream, first_job=first_job)
        bundle, loader = _stream_loader(replace(cfg, stream=stream), initial, device)
        sampler = None
    else:
        bundle, loader, sampler = _dataset_loader(cfg, initial, device, rank, world)

    fine_tuning = cfg.init is not None and not cfg.resume
    if cfg.freeze_vision if cfg.freeze_vision is not None else fine_tuning:
        freeze_vision_tower(bundle.model)
    if cfg.lora_rank:
        add_lora(bundle.model, cfg.lora_rank)
    model = bundle.model.to(device).train()
    ddp_model = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    optimizer = build_optimizer(model, cfg.lr, cfg.weight_decay)
    start_step = 0
    if resume_state is not None:
        start_step = resume_state["step"]
        if not cfg.lora_rank:  # LoRA adapters restart from the merged weights: no optimizer state to match
            load_optimizer(optimizer, last)
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", cfg.lr)  # LambdaLR needs it to start mid-schedule on --resume
    schedule = ScheduleClock(
        cfg.warmup_steps, cfg.steps, cfg.max_seconds if cfg.lr_schedule == "time" else 0.0
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule.multiplier, last_epoch=start_step - 1)
    autocast = autocast_for(cfg.precision, device)
    validation = None
    if cfg.val_dataset is not None and rank == 0:
        validation = HeldOutLoss(cfg.val_dataset, bundle, cfg.batch_size, cfg.val_batches, cfg.seed)
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
            cfg.augment,
            getattr(loader, "tasks", ()),
            cfg.state_noise,
            cfg.state_dropout,
            cfg.shift_px,
            cfg.environment_state_teacher,
        ),
        autocast,
        start_step,
        validation,
    )


def _dataset_loader(
    cfg: TrainConfig, initial: PolicyBundle | None, device: torch.device, rank: int, world: int
) -> tuple[PolicyBundle, DataLoader | DeviceBatches, DistributedSampler | None]:
    """The policy (fresh or `initial`) and batches of `cfg.dataset`: on the device, or a DataLoader."""
    tic = time.perf_counter()
    lerobot_dataset, instructions, normalization, arrays = load_training_data(
        cfg, initial.config if initial else model_config(cfg)
    )
    if initial is not None and not cfg.resume:  # a resumed run keeps the ranges it started with
        features = lerobot_dataset.meta.features if lerobot_dataset is not None else {}
        initial = fine_tuning_bundle(
            initial,
            normalization,
            feature_names(features.get("observation.state", {}).get("names")),
            feature_names(features.get("action", {}).get("names")),
            cfg.widen_normalization,
        )
    bundle = initial or fresh_bundle(model_config(cfg), instructions, normalization)
    names = None
    if cfg.task_choice:
        if lerobot_dataset is not None:
            names = feature_names(lerobot_dataset.meta.features.get(ENVIRONMENT_STATE, {}).get("names"))
        else:
            names = arrays.environment_state_names
        if not names:
            raise ValueError(
                f"--task-choice: {cfg.dataset} does not name its {ENVIRONMENT_STATE} values (record it "
                "from the simulator: vla record --source expert, or train with --stream-expert)"
            )
    bundle = with_environment_head(
        bundle,
        normalization,
        cfg.environment_state_weight,
        cfg.environment_state_token,
        cfg.grounding_dims,
        names,
        expert_fixed_destinations() if cfg.task_choice else (),
        cfg.arm_frame_features,
    )
    bundle = with_instruction_via_choice(bundle, cfg.instruction_via_choice)
    chunks = ChunkDataset(lerobot_dataset, bundle.config, bundle.normalization, cfg.cache_in_memory, arrays)
    if rank == 0 and chunks.arrays is not None:
        seconds = time.perf_counter() - tic
        frames, cameras = len(chunks), len(bundle.config.cameras)
        print(f"loaded {frames} frames x {cameras} cameras in {seconds:.1f} s ({frames / seconds:.0f}/s)")
    sampler = DistributedSampler(chunks, world, rank, seed=cfg.seed) if world > 1 else None
    if chunks.arrays is not None and world == 1 and len(chunks) >= cfg.batch_size:
        config = bundle.config
        loader = DeviceBatches(
            chunks.arrays,
            chunks.camera_keys,
            config.chunk_length,
            device,
            cfg.batch_size,
            cfg.seed,
            bundle.normalization,
        )
    else:
        loader = DataLoader(
            chunks,
            batch_size=cfg.batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            collate_fn=collate,
            drop_last=len(chunks) >= cfg.batch_size * world,
            num_workers=0 if chunks.arrays is not None else cfg.num_workers,  # decoding workers without cache
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
        if initial is not None and not cfg.resume:  # a resumed run keeps the ranges it started with
            from sim.robot import ACTION_NAMES  # the simulator only when streaming from it

            initial = fine_tuning_bundle(
                initial, normalization, ACTION_NAMES, ACTION_NAMES, cfg.widen_normalization
            )
        bundle = initial or fresh_bundle(
            model_config(cfg), suite_instructions(cfg.stream.suite), normalization
        )
        bundle = with_environment_head(
            bundle,
            normalization,
            cfg.environment_state_weight,
            cfg.environment_state_token,
            cfg.grounding_dims,
            expert_environment_state_names() if cfg.task_choice else None,
            expert_fixed_destinations() if cfg.task_choice else (),
            cfg.arm_frame_features,
        )
        bundle = with_instruction_via_choice(bundle, cfg.instruction_via_choice)
        config = bundle.config
        camera_keys = [f"observation.images.{camera}" for camera in config.cameras]
        batches = stream_batches(
            stream,
            first,
            camera_keys,
            config.chunk_length,
            bundle.normalization,
            device,
            cfg.batch_size,
            cfg.seed,
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


def train(cfg: TrainConfig) -> TrainResult:
    """Train from scratch, from --init, or --resume; checkpoints go to `<out>/checkpoints/`."""
    run = prepare(cfg)
    try:
        with StopSignals(enabled=run.world == 1) as stop:
            return _train_steps(run, stop)
    finally:
        if isinstance(run.loader, StreamBatches):
            run.loader.stream.close()


def _train_steps(run: TrainingRun, stop: StopSignals) -> TrainResult:
    from tqdm import tqdm

    cfg = run.cfg
    writer = _tensorboard(cfg.out) if run.rank == 0 else None
    progress = tqdm(
        total=cfg.steps, initial=run.start_step, desc="training", unit="step", disable=run.rank != 0
    )
    step, epoch, samples = run.start_step, 0, 0
    val_loss = _validate(run, writer, progress, step) if run.validation is not None else None
    tic = started = time.perf_counter()
    run.schedule.start()
    # Stopping early (wall-time cap, --stop-at-step or a stop signal) is decided after a step, which is then
    # saved; a cap or signal that arrives while an epoch's last batch is fetched stops after the next epoch's
    # first.
    stopping = out_of_time = False
    while step < cfg.steps and not stopping:
        if run.sampler is not None:
            run.sampler.set_epoch(epoch)
        for batch in run.loader:
            with run.autocast:
                inputs = run.encode(batch)
                # Through DDP, so gradients are synchronised.
                losses = training_losses(run.ddp_model, inputs, cfg.environment_state_weight)
            loss = losses["actions"]  # the figure logged as the loss, comparable with runs without the aux
            run.optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
            run.optimizer.step()
            run.scheduler.step()
            step += 1
            samples += len(batch["state"]) * run.world
            if step % cfg.log_every == 0 or step == cfg.steps:
                rate = samples / (time.perf_counter() - tic)
                streamed = {}
                if isinstance(run.loader, StreamBatches):  # episodes taken, rendered frames/s
                    stats = run.loader.stats()
                    streamed = {"episodes": stats["episodes"], "rendered_s": f"{stats['frames_per_s']:.0f}"}
                if "environment_state" in losses:
                    streamed["loc"] = f"{losses['environment_state'].item():.3f}"
                if "grounding" in losses:
                    streamed["ground"] = f"{losses['grounding'].item():.3f}"
                if "task_choice_accuracy" in losses:  # share of the batch with object and destination right
                    streamed["choice"] = f"{losses['task_choice_accuracy'].item():.2f}"
                progress.set_postfix(loss=f"{loss.item():.3f}", samples_s=f"{rate:.0f}", **streamed)
                if writer is not None:
                    writer.add_scalar("train/loss", loss.item(), step)
                    for name in ("environment_state", "grounding", "task_choice"):
                        if name in losses:
                            writer.add_scalar(f"train/{name}_loss", losses[name].item(), step)
                    if "task_choice_accuracy" in losses:
                        writer.add_scalar(
                            "train/task_choice_accuracy", losses["task_choice_accuracy"].item(), step
                        )
                    writer.add_scalar("train/grad_norm", float(grad_norm), step)
                    writer.add_scalar("train/lr", run.scheduler.get_last_lr()[0], step)
                    writer.add_scalar("train/samples_per_s", rate, step)
                    if isinstance(run.loader, StreamBatches):
                        for name, value in run.loader.stats().items():
                            writer.add_scalar(f"stream/{name}", value, step)
                samples, tic = 0, time.perf_counter()
            progress.update(1)
            out_of_time = cfg.max_seconds > 0 and time.perf_counter() - started > cfg.max_seconds
            at_stop_step = 0 < cfg.stop_at_step <= step
            stopping = out_of_time or at_stop_step or stop.received is not None
            if run.rank == 0 and (step % cfg.save_every == 0 or step == cfg.steps or stopping):
                if run.validation is not None:
                    paused = time.perf_counter()
                    val_loss = _validate(run, writer, progress, step)
                    progress.set_postfix(loss=f"{loss.item():.3f}", val_loss=f"{val_loss:.3f}")
                    tic += time.perf_counter() - paused  # samples/s counts training time only
                _save(run, step, float(loss.item()), val_loss)
            if step >= cfg.steps or stopping:
                break
        epoch += 1
    if stop.received is not None:
        print(f"stopped at step {step} of {cfg.steps} by {stop.received}, saved: continue with --resume")
    elif out_of_time:
        print(f"stopped at step {step} of {cfg.steps}: --max-seconds {cfg.max_seconds:g} reached")
    elif step < cfg.steps:
        print(f"stopped at step {step} of {cfg.steps}: --stop-at-step")
    progress.close()
    if writer is not None:
        writer.close()
    if run.world > 1:
        dist.barrier()
    return TrainResult(cfg.out / "checkpoints" / "last", run.model, float(loss.item()), val_loss)


def _validate(run: TrainingRun, writer, progress, step: int) -> float:
    """Held-out loss and action error of the model as it is now: a log line, and val/* in TensorBoard."""
    metrics = run.validation(run.model, run.encode, run.autocast)
    progress.write(f"step {step}: {metrics.summary()} ({run.validation.frames} frames)")
    if writer is not None:
        writer.add_scalar("val/loss", metrics.loss, step)
        writer.add_scalar("val/action_error_mean", float(metrics.action_error.mean()), step)
        for dim, error in enumerate(metrics.action_error):
            writer.add_scalar(f"val/action_error/{dim}", float(error), step)
        if metrics.localisation_error is not None:
            writer.add_scalar("val/localisation_error_mm", metrics.localisation_error * 1000, step)
        if metrics.grounding_error is not None:
            writer.add_scalar("val/grounding_error_mm", metrics.grounding_error * 1000, step)
    return metrics.loss


def _save(run: TrainingRun, step: int, loss: float, val_loss: float | None = None) -> None:
    cfg, bundle, optimizer = run.cfg, run.bundle, run.optimizer
    folder = cfg.out / "checkpoints" / f"step_{step:07d}"
    state = {"step": step, "loss": loss, "train_config": {k: str(v) for k, v in asdict(cfg).items()}}
    if val_loss is not None:
        state["val_loss"] = val_loss  # held-out loss at this step (--val-dataset)
    if isinstance(run.loader, StreamBatches):
        state["stream_next_job"] = run.loader.stream.jobs_done  # where --resume continues the stream
        state["stream_episodes"] = run.loader.ring.episodes_added
    if has_lora(bundle.model):
        bundle = replace(bundle, model=merged_copy(bundle.model))
    save_checkpoint(folder, bundle, state)
    save_optimizer(optimizer, folder)
    last = cfg.out / "checkpoints" / "last"
    tmp = last.with_name("last.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(folder, tmp)
    shutil.rmtree(last, ignore_errors=True)
    tmp.rename(last)


def _tensorboard(out: Path):
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(out / "tensorboard"))
