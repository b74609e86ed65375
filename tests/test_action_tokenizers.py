"""Action tokenizers (uniform binning, FAST): round trips, robustness to model output, files, real data."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vla.tokenization import (
    ActionTokenizer,
    BinningActionTokenizer,
    BinningConfig,
    FastActionTokenizer,
    FastConfig,
    load_action_tokenizer,
)
from vla.tokenization.action_fast import dct_matrix
from vla.tokenization.reconstruction import (
    action_chunks_from_dataset,
    measure_reconstruction,
    normalise,
    read_episode_actions,
)

T, A = 20, 6


def smooth_chunks(n: int, seed: int = 0, chunk_len: int = T) -> np.ndarray:
    """(n, chunk_len, A) sinusoids of random frequency/phase/amplitude plus 1% noise, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, chunk_len)[None, :, None]
    frequency, phase = rng.uniform(0.2, 1.5, (n, 1, A)), rng.uniform(0, 2 * np.pi, (n, 1, A))
    amplitude, offset = rng.uniform(0.1, 0.6, (n, 1, A)), rng.uniform(-0.3, 0.3, (n, 1, A))
    chunks = offset + amplitude * np.sin(2 * np.pi * frequency * t + phase)
    return np.clip(chunks + rng.normal(0.0, 0.01, chunks.shape), -1.0, 1.0)


@pytest.fixture(scope="module")
def fast() -> FastActionTokenizer:
    return FastActionTokenizer(FastConfig(chunk_len=T, action_dim=A)).fit(smooth_chunks(1000))


def test_binning_round_trip_is_within_half_a_bin():
    bins = BinningActionTokenizer(BinningConfig(n_bins=256))
    chunk = np.random.default_rng(1).uniform(-1.0, 1.0, (T, A))
    chunk[0, :3] = [-1.0, 0.0, 1.0]  # both edges and the middle
    tokens = bins.encode(chunk)
    assert tokens.shape == (T, A) and tokens.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() < bins.vocab_size == 256
    decoded = bins.decode(tokens)
    assert decoded.shape == (T, A) and decoded.dtype == np.float32
    assert np.abs(decoded - chunk).max() <= 1.0 / 256 + 1e-6  # half of the bin width 2 / 256
    centers = bins.bin_centers
    assert centers.shape == (256,) and centers.dtype == np.float32
    every_center = np.tile(centers[:, None], (1, A))  # (256, A): a "chunk" holding each centre once
    assert np.array_equal(bins.encode(every_center), np.tile(np.arange(256)[:, None], (1, A)))


def test_values_outside_the_range_are_clipped(fast):
    bins = BinningActionTokenizer()
    chunk = np.full((T, A), 3.0)
    chunk[:, ::2] = -7.5
    assert set(np.unique(bins.encode(chunk))) == {0, 255}
    assert np.allclose(np.abs(bins.decode(bins.encode(chunk))), 1.0 - 1.0 / 256)
    large = 5.0 * smooth_chunks(1, seed=3)[0]
    assert np.abs(large).max() > 1.0
    assert fast.encode(large) == fast.encode(np.clip(large, -1.0, 1.0))
    assert np.abs(fast.decode(fast.encode(chunk))).max() <= 1.0


def test_binning_batches_take_any_leading_dims():
    bins = BinningActionTokenizer()
    chunks = smooth_chunks(6).reshape(2, 3, T, A)
    tokens = bins.encode_batch(chunks)
    assert tokens.shape == (2, 3, T, A)
    assert np.array_equal(tokens[1, 2], bins.encode(chunks[1, 2]))
    decoded = bins.decode_batch(tokens)
    assert decoded.shape == (2, 3, T, A) and decoded.dtype == np.float32
    # Expected value from one-hot "logits" equals the decoded centre: the contract an action head uses.
    one_hot = np.eye(256, dtype=np.float32)[tokens]  # (2, 3, T, A, 256)
    assert np.allclose(one_hot @ bins.bin_centers, decoded)


@pytest.mark.parametrize("bad", [np.zeros((T, A + 1)), np.zeros(A), np.full((T, A), np.nan)])
def test_bad_chunks_get_a_clear_error(bad, fast):
    for tokenizer in (BinningActionTokenizer(), fast):
        with pytest.raises(ValueError, match="action chunk"):
            tokenizer.encode(bad)


def test_dct_is_orthonormal_and_matches_scipy_definition():
    n = 10
    matrix = dct_matrix(n)
    assert np.allclose(matrix @ matrix.T, np.eye(n))
    # scipy.fft.dct(type=2, norm="ortho") as documented: y[k] = 2 f sum_n x[n] cos(pi k (2n + 1) / 2N),
    # f = sqrt(1 / 4N) for k = 0, sqrt(1 / 2N) otherwise.
    x = np.random.default_rng(2).normal(size=n)
    expected = [
        2
        * math.sqrt(1 / (4 * n) if k == 0 else 1 / (2 * n))
        * sum(x[i] * math.cos(math.pi * k * (2 * i + 1) / (2 * n)) for i in range(n))
        for k in range(n)
    ]
    assert np.allclose(matrix @ x, expected)


def test_fast_reconstructs_smooth_chunks_with_few_tokens(fast):
    held_out = smooth_chunks(200, seed=7)
    token_lists = fast.encode_batch(held_out)
    assert token_lists[0] == fast.encode(held_out[0])
    assert all(0 <= t < fast.vocab_size for tokens in token_lists for t in tokens)
    decoded = np.stack([fast.decode(tokens) for tokens in token_lists])
    assert decoded.shape == (200, T, A) and decoded.dtype == np.float32
    error = decoded - held_out
    # Rounding scale * coefficient loses at most 0.5 / scale per coefficient: RMSE ~ 0.05 / sqrt(3) or less.
    assert np.sqrt(np.mean(error**2)) < 0.03 and np.abs(error).max() < 0.2
    mean_tokens = np.mean([len(tokens) for tokens in token_lists])
    assert mean_tokens < T * A / 4, f"{mean_tokens:.1f} tokens for {T * A} values"


@pytest.mark.parametrize(
    "tokens",
    [[], [-5, 10**9, -1], list(range(5000)), np.random.default_rng(4).integers(0, 1024, 17), [3] * 500],
    ids=["empty", "out-of-vocab", "over-long", "random", "repeated"],
)
def test_fast_decodes_anything_to_the_chunk_shape(fast, tokens):
    decoded = fast.decode(tokens)
    assert decoded.shape == (T, A) and decoded.dtype == np.float32
    assert np.all(np.isfinite(decoded)) and np.abs(decoded).max() <= 1.0


def test_fast_needs_fit_and_a_vocabulary_that_holds_its_alphabet():
    with pytest.raises(RuntimeError, match="fit"):
        FastActionTokenizer(FastConfig(chunk_len=T)).encode(np.zeros((T, A)))
    with pytest.raises(ValueError, match="vocab_size"):
        FastConfig(chunk_len=T, vocab_size=50)  # 2 * ceil(10 * sqrt(20)) + 1 = 91 values


def test_save_and_load_round_trip_both_schemes(fast, tmp_path):
    chunks = smooth_chunks(50, seed=9)
    bins = BinningActionTokenizer(BinningConfig(n_bins=128))
    for tokenizer in (bins, fast):
        path = tmp_path / f"{tokenizer.scheme}.json"
        tokenizer.save(path)
        document = json.loads(path.read_text())  # one plain JSON file
        assert document["scheme"] == tokenizer.scheme
        loaded = load_action_tokenizer(path)
        assert type(loaded) is type(tokenizer) and isinstance(loaded, ActionTokenizer)
        assert loaded.vocab_size == tokenizer.vocab_size
        for chunk in chunks:
            assert np.array_equal(loaded.encode(chunk), tokenizer.encode(chunk))
        tokens = tokenizer.encode(chunks[0])
        assert np.array_equal(loaded.decode(tokens), tokenizer.decode(tokens))
    assert isinstance(json.loads((tmp_path / "fast.json").read_text())["bpe"], str)
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["bins.json", "fast.json"]  # no temp files left


def test_loading_a_wrong_file_names_it(tmp_path):
    path = tmp_path / "action_tokenizer.json"
    BinningActionTokenizer().save(path)
    document = json.loads(path.read_text())
    path.write_text(json.dumps(document | {"scheme": "vq"}))
    with pytest.raises(ValueError, match=r"action_tokenizer\.json.*unknown scheme 'vq'"):
        load_action_tokenizer(path)
    path.write_text("not json")
    with pytest.raises(ValueError, match=r"action_tokenizer\.json"):
        load_action_tokenizer(path)


def test_tokenization_never_imports_torch():
    code = (
        "import sys, vla.tokenization, vla.tokenization.reconstruction; "
        "assert 'torch' not in sys.modules and 'scipy' not in sys.modules"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tokenizers") / "demo"
    command = [sys.executable, "-m", "vla", "record", "--source", "expert", "--episodes-per-task", "1"]
    command += ["--task", "pick_red_cube", "--task", "place_red_cube_in_white_bowl", "--root", str(root)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return root


@pytest.mark.slow
def test_reconstruction_on_recorded_demonstrations(demo_dataset):
    data = action_chunks_from_dataset(demo_dataset, chunk_len=10, stride=5)
    assert data.chunks.shape[1:] == (10, 6) and data.names[0] == "shoulder_pan.pos"
    assert np.all(data.high > data.low)
    # Windows start every 5 frames and stop before an episode's end: (L - 10) // 5 + 1 of them per episode.
    episodes, _ = read_episode_actions(demo_dataset)
    info = json.loads((demo_dataset / "meta" / "info.json").read_text())
    assert sorted(episodes) == [0, 1] and sum(map(len, episodes.values())) == info["total_frames"]
    assert len(data.chunks) == sum((len(actions) - 10) // 5 + 1 for actions in episodes.values())
    last = data.chunks[data.episode_index == 1][-1]
    start = (len(episodes[1]) - 10) // 5 * 5
    assert np.array_equal(last, episodes[1][start : start + 10])

    first, second = data.chunks[data.episode_index == 0], data.chunks[data.episode_index == 1]
    fast = FastActionTokenizer(FastConfig(chunk_len=10)).fit(normalise(first, data.low, data.high))
    bins_result, fast_result = measure_reconstruction(
        second, data.low, data.high, [BinningActionTokenizer(), fast]
    )
    assert bins_result.tokens_per_chunk == 60 and bins_result.max_abs_norm <= 1 / 256 + 1e-6
    assert bins_result.rmse < 0.3 and bins_result.rmse_per_joint.shape == (6,)
    assert fast_result.tokens_per_chunk < 20  # smooth expert motion: far fewer than T * A = 60
    assert fast_result.rmse_norm < 0.03 and fast_result.rmse < 1.5
    assert fast_result.label.startswith("fast scale=10")
