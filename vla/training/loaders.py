"""Where a run's batches come from, and the policy that fits them: `--data.dataset` (with
`--data.replay_dataset` mixed in), the expert stream (`--data.stream.suite`), or a dataset with the
stream replayed beside it (both given). Each returns the policy (fresh or `--policy.init`'s, its ranges
checked against the data) and the loader the step loop iterates."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, Subset, WeightedRandomSampler

from vla.contract import ACTION, ACTION_NAMES, ENVIRONMENT_STATE, OBS_STATE, camera_key
from vla.models.checkpoint import PolicyBundle
from vla.models.configuration_vla import VLAConfig
from vla.models.normalization import Normalization
from vla.record_arrays import expert_environment_state_names, expert_fixed_destinations
from vla.training.batches import DeviceBatches
from vla.training.data import ChunkDataset, collate, dataset_normalization, open_training_source
from vla.training.frames import DatasetArrays, arrays_from_episodes, arrays_stats, feature_names, load_arrays
from vla.training.policy_setup import ObjectsTraining, fine_tuning_bundle, model_config, training_policy
from vla.training.replay import StreamReplayBatches, combined, replay_weights, stream_replay_rows
from vla.training.stream import StreamBatches, start_stream, stream_batches, suite_instructions
from vla.training.train_config import TrainConfig


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
        both = combined(
            new, old, f"--data.dataset {cfg.data.dataset}", f"--data.replay_dataset {cfg.data.replay_dataset}"
        )
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


def joint_names(features: dict) -> tuple[list[str] | None, list[str] | None]:
    """The state's and the action's joint names in a dataset's LeRobot features (None where unnamed)."""
    return (
        feature_names(features.get(OBS_STATE, {}).get("names")),
        feature_names(features.get(ACTION, {}).get("names")),
    )


def fitted_init(
    cfg: TrainConfig,
    initial: PolicyBundle | None,
    normalization: Normalization,
    state_names: list[str] | None,
    action_names: list[str] | None,
) -> PolicyBundle | None:
    """`initial` with its ranges checked against the data's, widened where allowed (`fine_tuning_bundle`),
    when it starts a fine-tune. A resumed run keeps the ranges it started with; the abstain head alone reads
    neither state nor actions, so training it keeps the policy's ranges and actions exactly as they were."""
    if initial is None or cfg.run.resume or cfg.abstain.only:
        return initial
    return fine_tuning_bundle(
        initial, normalization, state_names, action_names, cfg.policy.widen_normalization
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
        cfg.objects.pointer,
    )


def dataset_loader(
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
    initial = fitted_init(cfg, initial, normalization, *joint_names(data.features))
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


def stream_loader(
    cfg: TrainConfig, initial: PolicyBundle | None, device: torch.device
) -> tuple[PolicyBundle, StreamBatches]:
    """The policy (fresh, normalised by the first streamed episodes, or `initial`) and streamed batches."""
    tic = time.perf_counter()
    stream, first = start_stream(cfg.stream)
    try:
        normalization = Normalization.from_lerobot_stats(arrays_stats(arrays_from_episodes(first)))
        initial = fitted_init(cfg, initial, normalization, ACTION_NAMES, ACTION_NAMES)
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
            # object positions are kept only for a loss that reads them: never for the abstain head alone
            # (another scene's layout may be streamed beside a tabletop policy), nor for a label-free run
            keep_environment_state=cfg.objects.weight > 0 and not cfg.abstain.only,
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


def stream_replay_loader(
    cfg: TrainConfig, initial: PolicyBundle | None, device: torch.device
) -> tuple[PolicyBundle, StreamReplayBatches]:
    """The policy and batches of `cfg.data.dataset`, held in memory, with `--data.replay_share` of each
    batch from the `--data.stream.suite` expert stream (vla/training/replay.py). Its ranges and
    instructions are the dataset's and the stream's together (its first episodes stand for the stream)."""
    tic = time.perf_counter()
    config = initial.config if initial else model_config(cfg)
    camera_keys = [camera_key(camera) for camera in config.cameras]
    lerobot_dataset, arrays = open_training_source(cfg.data.dataset, config)
    new = arrays if arrays is not None else load_arrays(lerobot_dataset, camera_keys)
    features = lerobot_dataset.meta.features if lerobot_dataset is not None else {}
    suite = cfg.stream.suite
    stream, first = start_stream(cfg.stream)
    try:
        streamed = arrays_from_episodes(first, expert_environment_state_names(suite))
        both = combined(new, streamed, f"--data.dataset {cfg.data.dataset}", f"the {suite} stream")
        if both.environment_state is None:  # kept only when both have it under the same names
            new = replace(new, environment_state=None, environment_state_names=None)
        normalization = Normalization.from_lerobot_stats(arrays_stats(both))
        initial = fitted_init(cfg, initial, normalization, *joint_names(features))
        names = both.environment_state_names
        if cfg.objects.task_choice and not names:
            raise ValueError(
                f"--objects.task_choice: --data.dataset {cfg.data.dataset} and the {suite} stream do not "
                f"share named {ENVIRONMENT_STATE} values (record the dataset in the {suite} scene with "
                "vla record --source expert)"
            )
        instructions = sorted(set(new.tasks) | set(suite_instructions(suite)))
        bundle = run_policy(cfg, initial, instructions, normalization, names)
        chunk_length, batch_size = bundle.config.chunk_length, cfg.optim.batch_size
        replayed = stream_replay_rows(batch_size, cfg.data.replay_share)
        dataset_rows = DeviceBatches(
            new, camera_keys, chunk_length, device, batch_size - replayed, cfg.run.seed, bundle.normalization
        )
        streamed_rows = stream_batches(
            stream,
            first,
            camera_keys,
            chunk_length,
            bundle.normalization,
            device,
            replayed,
            cfg.run.seed,
            keep_environment_state=both.environment_state is not None,
        )
        loader = StreamReplayBatches(dataset_rows, streamed_rows)
    except BaseException:
        stream.close()
        raise
    print(
        f"{len(new.state)} frames of {cfg.data.dataset} and the {suite} expert stream "
        f"({cfg.stream.workers} worker(s)): {batch_size - replayed} + {replayed} rows a batch; ready in "
        f"{time.perf_counter() - tic:.1f} s"
    )
    return bundle, loader
