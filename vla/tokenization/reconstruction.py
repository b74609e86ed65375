"""How much an action tokenizer loses: tokens per chunk and reconstruction error on demonstration data.

Reads a LeRobot v3 dataset's `action` column straight from its parquet files (pyarrow only, no torch, no
lerobot), cuts episodes into chunks, normalises them per joint (1st/99th percentile to [-1, 1], as
OpenVLA and FAST do) and reports each tokenizer's round-trip error in normalised and original units.

    python -m vla.tokenization.reconstruction --root datasets/tabletop --chunk-len 10 --stride 5
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vla.tokenization.action_base import ActionTokenizer


@dataclass(frozen=True)
class DatasetActionChunks:
    """chunks (N, T, A) float64 in the dataset's units (degrees; gripper 0-100); episode_index (N,) the
    episode of each chunk; low/high (A,) the 1st/99th percentiles of every action read; names (A,)."""

    chunks: np.ndarray
    episode_index: np.ndarray
    low: np.ndarray
    high: np.ndarray
    names: tuple[str, ...]


@dataclass(frozen=True)
class ReconstructionResult:
    """One tokenizer's round trip over N chunks, compared with the clipped normalised chunk: the
    tokenizer's own loss, in normalised units (`*_norm`) and mapped back to original units (the rest).
    The loss of clipping to the percentile bounds, shared by every scheme, is `ClippingLoss`."""

    label: str
    tokens_per_chunk: float
    rmse_norm: float
    max_abs_norm: float
    rmse: float  # over every joint; degrees and gripper percent mixed
    max_abs: float
    rmse_per_joint: np.ndarray  # (A,)
    max_abs_per_joint: np.ndarray  # (A,)


@dataclass(frozen=True)
class ClippingLoss:
    """What normalisation alone loses: the share of values outside [low, high] and the error, in original
    units, of clipping them to the bounds. A tokenizer cannot do better than this against raw actions."""

    clipped_fraction: float
    rmse: float
    max_abs: float
    rmse_per_joint: np.ndarray  # (A,)


def read_episode_actions(root: Path) -> tuple[dict[int, np.ndarray], tuple[str, ...]]:
    """{episode_index: (L, A) float64 actions in frame order} from root/data/*/*.parquet, and joint names."""
    root = Path(root)
    files = sorted(root.glob("data/*/*.parquet"))
    if not files:
        raise FileNotFoundError(f"{root}: no data/*/*.parquet files; is it a LeRobot v3 dataset?")
    episodes, frames, actions = [], [], []
    for file in files:
        table = pq.read_table(file)
        for field in ("action", "episode_index"):
            if field not in table.column_names:
                raise ValueError(f"{file}: no column {field!r} (columns: {table.column_names})")
        column = table.column("action").combine_chunks()
        lengths = pc.list_value_length(column).to_numpy(zero_copy_only=False)
        if len(column) and lengths.min() != lengths.max():
            raise ValueError(f"{file}: column 'action' rows have {lengths.min()} to {lengths.max()} values")
        width = int(lengths[0]) if len(column) else 0
        actions.append(column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), width))
        episodes.append(table.column("episode_index").to_numpy())
        has_frames = "frame_index" in table.column_names
        frames.append(table.column("frame_index").to_numpy() if has_frames else np.arange(len(column)))
    if len({a.shape[1] for a in actions if len(a)}) > 1:
        raise ValueError(f"{root}: action width differs between parquet files")
    episode, frame, action = np.concatenate(episodes), np.concatenate(frames), np.concatenate(actions)
    order = np.lexsort((frame, episode))  # episode first, then frame
    episode, action = episode[order], action[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, episode[1:] != episode[:-1]])
    by_episode = {int(episode[s]): part for s, part in zip(starts, np.split(action, starts[1:]), strict=True)}
    return by_episode, _joint_names(root, action.shape[1])


def cut_chunks(episodes: dict[int, np.ndarray], chunk_len: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Windows of chunk_len consecutive actions every `stride` frames, never crossing an episode boundary:
    (N, T, A) chunks and the (N,) episode of each. Episodes shorter than chunk_len give none."""
    if chunk_len < 1 or stride < 1:
        raise ValueError(f"chunk_len and stride must be >= 1, got {chunk_len}, {stride}")
    chunks, owners = [], []
    for index, actions in sorted(episodes.items()):
        for start in range(0, len(actions) - chunk_len + 1, stride):
            chunks.append(actions[start : start + chunk_len])
            owners.append(index)
    width = next(iter(episodes.values())).shape[1] if episodes else 0
    stacked = np.stack(chunks) if chunks else np.zeros((0, chunk_len, width))
    return stacked, np.asarray(owners, dtype=np.int64)


def percentile_bounds(actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-joint 1st and 99th percentiles of actions (..., A); a joint that never moves gets +-1 unit
    around its value so normalisation stays finite."""
    flat = actions.reshape(-1, actions.shape[-1])
    low, high = np.percentile(flat, [1.0, 99.0], axis=0)
    still = high - low < 1e-6
    return np.where(still, low - 1.0, low), np.where(still, high + 1.0, high)


def action_chunks_from_dataset(root: Path, chunk_len: int, stride: int) -> DatasetActionChunks:
    """Every chunk of `chunk_len` actions (every `stride` frames) of the dataset at `root`, with bounds."""
    episodes, names = read_episode_actions(root)
    chunks, owners = cut_chunks(episodes, chunk_len, stride)
    low, high = percentile_bounds(np.concatenate(list(episodes.values())))
    return DatasetActionChunks(chunks, owners, low, high, names)


def normalise(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """actions (..., A) -> (..., A) with low -> -1 and high -> +1 (not clipped: the tokenizers clip)."""
    return 2.0 * (actions - low) / (high - low) - 1.0


def denormalise(normalised: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """The inverse of `normalise`."""
    return low + (normalised + 1.0) * 0.5 * (high - low)


def measure_reconstruction(
    chunks_deg: np.ndarray, low: np.ndarray, high: np.ndarray, tokenizers: Sequence[ActionTokenizer]
) -> list[ReconstructionResult]:
    """Round-trip chunks_deg (N, T, A), in original units, through each (fitted) tokenizer after
    normalising with per-joint bounds low/high (A,); one result per tokenizer, in order."""
    chunks_deg = np.asarray(chunks_deg, dtype=np.float64)
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    if chunks_deg.ndim != 3 or chunks_deg.shape[0] == 0:
        raise ValueError(f"chunks_deg must be a non-empty (N, T, A) array, got shape {chunks_deg.shape}")
    if low.shape != (chunks_deg.shape[2],) or high.shape != low.shape or np.any(high <= low):
        raise ValueError(f"low/high must be ({chunks_deg.shape[2]},) with high > low, got {low} and {high}")
    normalised = normalise(chunks_deg, low, high)
    target = np.clip(normalised, -1.0, 1.0)
    results = []
    for tokenizer in tokenizers:
        token_counts, decoded = [], []
        for chunk in normalised:
            tokens = tokenizer.encode(chunk)
            token_counts.append(np.asarray(tokens).size)
            decoded.append(tokenizer.decode(tokens))
        decoded = np.stack(decoded).astype(np.float64)  # (N, T, A)
        error_norm = decoded - target
        error = denormalise(decoded, low, high) - denormalise(target, low, high)
        results.append(
            ReconstructionResult(
                label=tokenizer_label(tokenizer),
                tokens_per_chunk=float(np.mean(token_counts)),
                rmse_norm=float(np.sqrt(np.mean(error_norm**2))),
                max_abs_norm=float(np.abs(error_norm).max()),
                rmse=float(np.sqrt(np.mean(error**2))),
                max_abs=float(np.abs(error).max()),
                rmse_per_joint=np.sqrt(np.mean(error**2, axis=(0, 1))),
                max_abs_per_joint=np.abs(error).max(axis=(0, 1)),
            )
        )
    return results


def clipping_loss(chunks_deg: np.ndarray, low: np.ndarray, high: np.ndarray) -> ClippingLoss:
    """The error of clipping chunks_deg (N, T, A) to the per-joint bounds low/high (A,)."""
    chunks_deg = np.asarray(chunks_deg, dtype=np.float64)
    error = np.clip(chunks_deg, low, high) - chunks_deg
    return ClippingLoss(
        clipped_fraction=float(np.mean(error != 0.0)),
        rmse=float(np.sqrt(np.mean(error**2))),
        max_abs=float(np.abs(error).max()),
        rmse_per_joint=np.sqrt(np.mean(error**2, axis=(0, 1))),
    )


def tokenizer_label(tokenizer: ActionTokenizer) -> str:
    """A short name with the settings that matter, e.g. 'bins n=256' or 'fast scale=10 vocab=1024'."""
    config = getattr(tokenizer, "config", None)
    if tokenizer.scheme == "bins" and config is not None:
        return f"bins n={config.n_bins}"
    if tokenizer.scheme == "fast" and config is not None:
        return f"fast scale={config.scale:g} vocab={tokenizer.vocab_size}"
    return tokenizer.scheme


def reconstruction_tables(results: list[ReconstructionResult], names: Sequence[str]) -> str:
    """Markdown: the summary table, then RMSE / max abs error per joint in original units."""
    from vla.tables import markdown_table

    summary = markdown_table(
        ["scheme", "tokens/chunk", "RMSE norm", "max abs norm", "RMSE deg", "max abs deg"],
        [
            [r.label, f"{r.tokens_per_chunk:.1f}", f"{r.rmse_norm:.4f}", f"{r.max_abs_norm:.4f}"]
            + [f"{r.rmse:.3f}", f"{r.max_abs:.3f}"]
            for r in results
        ],
    )
    per_joint = markdown_table(
        ["scheme", *names],
        [
            [r.label]
            + [f"{e:.3f} / {m:.3f}" for e, m in zip(r.rmse_per_joint, r.max_abs_per_joint, strict=True)]
            for r in results
        ],
    )
    return f"{summary}\n\nper joint, RMSE / max abs (degrees; gripper percent):\n\n{per_joint}"


def _joint_names(root: Path, width: int) -> tuple[str, ...]:
    try:
        names = json.loads((root / "meta" / "info.json").read_text())["features"]["action"]["names"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError):
        names = None
    if isinstance(names, list) and len(names) == width:
        return tuple(str(n) for n in names)
    return tuple(f"action[{i}]" for i in range(width))


def main(argv: list[str] | None = None) -> int:
    """Binning vs FAST on a dataset: FAST fitted (and bounds taken) on the training episodes, both
    evaluated on held-out episodes (every k-th, k = 1 / (1 - train_fraction): recording is task-major,
    so held-out episodes spread over the tasks)."""
    from vla.tokenization.action_bins import BinningActionTokenizer, BinningConfig
    from vla.tokenization.action_fast import FastActionTokenizer, FastConfig

    parser = argparse.ArgumentParser(
        prog="python -m vla.tokenization.reconstruction", description=main.__doc__
    )
    parser.add_argument("--root", type=Path, required=True, help="LeRobot v3 dataset folder")
    parser.add_argument("--chunk-len", type=int, default=10)
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--train-fraction", type=float, default=0.8)
    parser.add_argument("--n-bins", type=int, default=256)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--vocab-size", type=int, default=1024)
    args = parser.parse_args(argv)
    if not 0.0 < args.train_fraction < 1.0:
        parser.error(f"--train-fraction must be in (0, 1), got {args.train_fraction}")

    episodes, names = read_episode_actions(args.root)
    every = max(2, round(1.0 / (1.0 - args.train_fraction)))
    held_out = {index for rank, index in enumerate(sorted(episodes)) if rank % every == every - 1}
    train = {i: a for i, a in episodes.items() if i not in held_out}
    test = {i: a for i, a in episodes.items() if i in held_out}
    if not test:
        raise SystemExit(f"{args.root}: {len(episodes)} episode(s); need at least {every} to hold one out")
    low, high = percentile_bounds(np.concatenate(list(train.values())))
    train_chunks, _ = cut_chunks(train, args.chunk_len, args.stride)
    test_chunks, _ = cut_chunks(test, args.chunk_len, args.stride)

    action_dim = len(names)
    bins = BinningActionTokenizer(BinningConfig(n_bins=args.n_bins, action_dim=action_dim))
    config = FastConfig(args.chunk_len, action_dim, scale=args.scale, vocab_size=args.vocab_size)
    fast = FastActionTokenizer(config).fit(normalise(train_chunks, low, high))
    results = measure_reconstruction(test_chunks, low, high, [bins, fast])
    clipping = clipping_loss(test_chunks, low, high)
    print(
        f"{args.root}: {len(train)} train episodes ({len(train_chunks)} chunks), {len(test)} held-out "
        f"episodes ({len(test_chunks)} chunks); T={args.chunk_len}, stride {args.stride}, A={action_dim} "
        f"(T*A = {args.chunk_len * action_dim}); bounds: train 1st/99th percentiles\n"
    )
    print(reconstruction_tables(results, names))
    print(
        f"\nclipping to the bounds, before tokenizing: {clipping.clipped_fraction:.2%} of held-out values, "
        f"RMSE {clipping.rmse:.3f}, max abs {clipping.max_abs:.3f} (degrees; gripper percent)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
