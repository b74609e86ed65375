"""`vla data check` and its repair on real datasets written by the project's recorder.

One good dataset (3 episodes x 12 frames, two 32x32 cameras) is recorded once per module; each test
that breaks something breaks its own copy, the way a killed process or a bad disk would.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vla.data.check import check_dataset
from vla.data.repair import repair_dataset

TASKS = ["pick up the red cube", "stack the green cube", "pick up the red cube"]  # one per episode
FRAMES = 12
FRONT = "observation.images.front"


@pytest.fixture(scope="module")
def good_dataset(tmp_path_factory) -> Path:
    from vla.data.features import so101_features
    from vla.data.recorder import DatasetRecorder

    root = tmp_path_factory.mktemp("data_check") / "good"
    rng = np.random.default_rng(0)
    rec = DatasetRecorder(root, fps=30, features=so101_features({"front": (32, 32), "wrist": (32, 32)}))
    for task in TASKS:
        for i in range(FRAMES):
            img = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            state = np.zeros(6, np.float32) + i
            rec.add_frame(
                {"front": img, "wrist": img}, state=state, action=np.ones(6, np.float32) * i, task=task
            )
        rec.save_episode()
    rec.close()
    return root


@pytest.fixture
def dataset(good_dataset, tmp_path) -> Path:
    """A private copy of the good dataset to break."""
    return Path(shutil.copytree(good_dataset, tmp_path / "copy"))


def cut_in_half(path: Path) -> None:
    """What a process killed while writing leaves: the first half of the file, no parquet footer."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def drop_last_frames(path: Path, count: int) -> None:
    """Re-encode an mp4 without its last `count` frames (same codec and rate as lerobot's writer)."""
    import av

    with av.open(str(path)) as src:
        frames = [frame.to_ndarray(format="rgb24") for frame in src.decode(video=0)]
    with av.open(str(path), "w") as dst:
        stream = dst.add_stream("libsvtav1", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for image in frames[:-count]:
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        dst.mux(stream.encode())


def edit_info(root: Path, **fields) -> None:
    path = root / "meta" / "info.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}, indent=4))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def messages(problems) -> str:
    return "\n".join(str(problem) for problem in problems)


@pytest.mark.parametrize("decode_videos", [True, False])
def test_good_dataset_passes_with_its_summary(good_dataset, decode_videos):
    report = check_dataset(good_dataset, decode_videos=decode_videos)
    assert report.ok and not report.errors and not report.warnings, messages(report.errors + report.warnings)
    summary = report.summary
    assert (summary.episodes, summary.frames, summary.fps) == (3, 3 * FRAMES, 30)
    assert summary.duration_s == pytest.approx(1.2)
    assert summary.robot_type == "so101_follower"
    assert summary.cameras == {FRONT: (32, 32, 3), "observation.images.wrist": (32, 32, 3)}
    assert summary.tasks == {"pick up the red cube": 2, "stack the green cube": 1}


def test_truncated_data_parquet_is_an_error_naming_the_file(dataset):
    bad = dataset / "data" / "chunk-000" / "file-001.parquet"
    cut_in_half(bad)
    report = check_dataset(dataset)
    named = [p for p in report.errors if p.path == bad]
    assert named, messages(report.errors)
    assert "unreadable parquet" in named[0].message and "--repair" in named[0].message
    assert "Traceback" not in messages(report.errors)


def test_video_missing_frames_is_an_error_with_the_counts(dataset):
    bad = dataset / "videos" / FRONT / "chunk-000" / "file-001.mp4"
    drop_last_frames(bad, 3)
    for decode in (True, False):
        report = check_dataset(dataset, decode_videos=decode)
        named = [p.message for p in report.errors if p.path == bad]
        assert len(named) == 1, messages(report.errors)
        assert "episode 1: 9 frames" in named[0] and "the episode has 12" in named[0]


def test_truncated_video_is_an_error_naming_the_file(dataset):
    bad = dataset / "videos" / FRONT / "chunk-000" / "file-002.mp4"
    cut_in_half(bad)
    report = check_dataset(dataset)
    assert [p.path for p in report.errors] == [bad], messages(report.errors)


def test_wrong_total_frames_is_an_error(dataset):
    edit_info(dataset, total_frames=40)
    report = check_dataset(dataset)
    assert [p.path.name for p in report.errors] == ["info.json"]
    assert "total_frames is 40" in report.errors[0].message and "36" in report.errors[0].message


def test_missing_stats_is_an_error(dataset):
    (dataset / "meta" / "stats.json").unlink()
    report = check_dataset(dataset)
    assert [p.path.name for p in report.errors] == ["stats.json"]


def test_nan_action_and_bad_timestamp_are_errors(dataset):
    path = dataset / "data" / "chunk-000" / "file-000.parquet"
    table = pq.read_table(path)
    action = table["action"].to_numpy()  # chunked fixed-size lists -> object array of rows
    action = np.stack(action).astype(np.float32)
    action[4, 2] = np.nan
    timestamps = table["timestamp"].to_numpy().copy()
    timestamps[7] += 0.01
    table = table.set_column(
        table.schema.get_field_index("action"), "action", pa.FixedSizeListArray.from_arrays(action.ravel(), 6)
    )
    table = table.set_column(table.schema.get_field_index("timestamp"), "timestamp", pa.array(timestamps))
    pq.write_table(table, path)
    text = messages(check_dataset(dataset).errors)
    assert "action is NaN or inf in 1 frames (first: episode 0, frame 4)" in text
    assert "episode 0: frame 7 has timestamp" in text


def test_unparseable_info_is_reported_and_repair_refuses(dataset):
    info = dataset / "meta" / "info.json"
    info.write_text('{"codebase_version": "v3.0", "fps": ')
    report = check_dataset(dataset)
    assert [p.path for p in report.errors] == [info] and report.summary is None
    with pytest.raises(ValueError, match=r"meta/info\.json"):
        repair_dataset(dataset)


def make_unfinished(root: Path) -> None:
    """A recording killed while saving episode 2: its data and metadata parquet files lack footers,
    the streaming encoder's temp folder is still there, and info.json already counts the episode."""
    cut_in_half(root / "data" / "chunk-000" / "file-002.parquet")
    cut_in_half(root / "meta" / "episodes" / "chunk-000" / "file-002.parquet")
    (root / "tmpabc").mkdir()
    (root / "tmpabc" / f"{FRONT}_002.mp4").write_bytes(b"\0" * 100)


def test_repair_drops_the_unfinished_episode_and_lerobot_loads_the_rest(dataset):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    original_stats = json.loads((dataset / "meta" / "stats.json").read_text())
    make_unfinished(dataset)
    before = check_dataset(dataset)
    broken = {p.path.relative_to(dataset).as_posix() for p in before.errors}
    assert {"data/chunk-000/file-002.parquet", "meta/episodes/chunk-000/file-002.parquet"} <= broken
    assert "meta/info.json" in broken  # totals still count episode 2
    assert dataset / "tmpabc" in [p.path for p in before.warnings]

    report = repair_dataset(dataset)
    assert (report.episodes_kept, report.episodes_dropped, report.rewrote_info) == (2, [2], True)
    removed = {p.relative_to(dataset).as_posix() for p in report.removed}
    assert removed == {
        "tmpabc",
        "data/chunk-000/file-002.parquet",
        "meta/episodes/chunk-000/file-002.parquet",
        f"videos/{FRONT}/chunk-000/file-002.mp4",
        "videos/observation.images.wrist/chunk-000/file-002.mp4",
    }
    assert "dropped unfinished episodes [2]" in str(report)

    after = check_dataset(dataset)
    assert not after.errors and not after.warnings, messages(after.errors + after.warnings)
    assert (after.summary.episodes, after.summary.frames) == (2, 2 * FRAMES)
    info = json.loads((dataset / "meta" / "info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["splits"]) == (2, 24, {"train": "0:2"})
    stats = json.loads((dataset / "meta" / "stats.json").read_text())
    assert stats["action"]["count"] == [24] and stats["action"]["max"] == [11.0] * 6
    # Camera stats come back too. lerobot's streaming encoder counts pixels, not frames, for them.
    assert stats[FRONT]["count"][0] * 3 == original_stats[FRONT]["count"][0] * 2

    loaded = LeRobotDataset(repo_id="local/x", root=dataset, video_backend="pyav")
    assert (loaded.num_episodes, loaded.num_frames) == (2, 24)
    assert tuple(loaded[23][FRONT].shape) == (3, 32, 32)


def test_repair_refuses_to_drop_complete_episodes_after_a_broken_one(dataset):
    """Only the last episodes can be unfinished; a broken first episode is not a crash leftover."""
    cut_in_half(dataset / "data" / "chunk-000" / "file-000.parquet")
    before = snapshot(dataset)
    with pytest.raises(ValueError, match=r"episode 0 is incomplete .* later episodes \[1, 2\] are complete"):
        repair_dataset(dataset)
    assert snapshot(dataset) == before


def test_repair_leaves_a_good_dataset_byte_for_byte(dataset):
    before = snapshot(dataset)
    report = repair_dataset(dataset)
    assert not report.changed and report.episodes_kept == 3
    assert "nothing to repair" in str(report)
    assert snapshot(dataset) == before


def run_cli(*argv: str) -> int:
    """`vla data ...` through the subcommand module, as vla/cli.py wires it."""
    from vla import cli_data

    parser = argparse.ArgumentParser(prog="vla")
    cli_data.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["data", *argv])
    return args.run(args)


def test_cli_prints_summary_and_exit_codes(good_dataset, dataset, tmp_path, capsys):
    report_path = tmp_path / "report.json"
    assert run_cli("check", str(good_dataset), "--no-decode", "--json", str(report_path)) == 0
    out = capsys.readouterr().out
    assert "episodes    3" in out and "frames      36" in out and "robot_type  so101_follower" in out
    assert "| pick up the red cube | 2        |" in out and "OK: 0 errors" in out
    assert json.loads(report_path.read_text())["summary"]["tasks"]["stack the green cube"] == 1

    make_unfinished(dataset)
    assert run_cli("check", str(dataset)) == 1
    out = capsys.readouterr().out
    assert f"ERROR {dataset / 'data' / 'chunk-000' / 'file-002.parquet'}: unreadable parquet" in out
    assert f"WARN {dataset / 'tmpabc'}:" in out

    assert run_cli("check", str(dataset), "--repair") == 0
    out = capsys.readouterr().out
    assert "dropped unfinished episodes [2]" in out and "episodes    2" in out

    assert run_cli("check", str(tmp_path / "missing")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tmp_path / 'missing'} does not exist" in err
    assert run_cli("check", str(tmp_path)) == 1
    assert "not a LeRobot dataset (no meta/info.json)" in capsys.readouterr().err


def test_an_episode_whose_video_dropped_frames_is_refused_and_earlier_ones_stay(tmp_path):
    """LeRobot's streaming encoder drops frames when it falls behind; such an episode must not be saved
    with fewer video frames than rows (what a loaded machine produced: 185 of 188)."""
    from vla.data.features import so101_features
    from vla.data.recorder import DatasetRecorder

    root = tmp_path / "drops"
    image = np.zeros((32, 32, 3), np.uint8)
    rec = DatasetRecorder(root, fps=30, features=so101_features({"front": (32, 32), "wrist": (32, 32)}))
    for episode in range(2):
        for _ in range(FRAMES):
            rec.add_frame(
                {"front": image, "wrist": image}, np.zeros(6, np.float32), np.zeros(6, np.float32), "t"
            )
        if episode == 1:  # what StreamingVideoEncoder.feed_frame counts when its queue is full
            rec.dataset.writer._streaming_encoder._dropped_frames[FRONT] = 3
            with pytest.raises(RuntimeError, match=f"dropped 3 of {FRAMES} frames of {FRONT}"):
                rec.save_episode()
        else:
            rec.save_episode()
    rec.close()
    report = check_dataset(root)
    assert report.summary.episodes == 1 and not report.errors, report.errors
