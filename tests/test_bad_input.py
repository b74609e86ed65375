"""Bad input gets one line naming the file and what to do: from the `vla` command (exit 2, no traceback,
before any progress bar) and as a `BadInputError` (a ValueError) from the Python API.

The export folders here are hand-made (a JSON manifest and a one-node ONNX graph), so no test waits for a
torch export; test_runtime.py covers real exports. The command runs in this process (`vla.cli.main`, as the
`vla` script does) except once, as a process, to show that no traceback reaches the terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_model import make_bundle
from vla.models.checkpoint import (
    CONFIG,
    FORMAT_VERSION,
    FORMAT_VERSION_KEY,
    WEIGHTS,
    load_checkpoint,
    read_checkpoint_config,
    save_checkpoint,
)
from vla.runtime import BadInputError, ExportFolder, MissingInputError, RuntimePolicy
from vla.runtime.export_folder import FORMAT_VERSION as EXPORT_FORMAT_VERSION

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def vla(capsys):
    """`vla <args>` in this process -> CompletedProcess (returncode, stdout, stderr), as the script runs."""

    def run(*args: str) -> subprocess.CompletedProcess:
        from vla.cli import main

        code = main(list(args))
        captured = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, captured.out, captured.err)

    return run


def assert_one_line_error(result: subprocess.CompletedProcess, *phrases: str, code: int = 2) -> str:
    """Exit `code` (`vla data check` exits 1 for a bad dataset, as for a failed check) and exactly one stderr
    line `vla <command>: error: ...` holding every phrase."""
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert ": error: " in lines[0]
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def graph_bytes(inputs: tuple[str, ...]) -> bytes:
    """A valid ONNX model taking `inputs` (state passes through to both outputs; the others are unused but
    required, as in an export of another layout)."""
    from onnx import TensorProto, helper

    shapes = {
        "images": (TensorProto.UINT8, [1, 2, 32, 32, 3]),
        "state": (TensorProto.FLOAT, [1, 6]),
        "words": (TensorProto.INT64, [1, 16]),
        "sentence": (TensorProto.FLOAT, [1, 384]),
    }
    graph = helper.make_graph(
        [
            helper.make_node("Identity", ["state"], ["actions"]),
            helper.make_node("Identity", ["state"], ["confidence"]),
            helper.make_node("Identity", ["state"], ["abstain"]),
        ],
        "policy",
        [helper.make_tensor_value_info(name, *shapes[name]) for name in inputs],
        [
            helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 6]),
            helper.make_tensor_value_info("confidence", TensorProto.FLOAT, [1, 6]),
            helper.make_tensor_value_info("abstain", TensorProto.FLOAT, [1, 6]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # readable by older onnxruntime releases too
    return model.SerializeToString()


def make_export(folder: Path, inputs=("images", "state", "words"), version=EXPORT_FORMAT_VERSION) -> Path:
    """An export folder as `vla export` lays it out, with a tiny graph taking `inputs`."""
    folder.mkdir(parents=True)
    bundle = make_bundle()
    (folder / "config.json").write_text(json.dumps(bundle.config.to_dict()))
    bundle.text_tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "policy.onnx").write_bytes(graph_bytes(inputs))
    manifest = {
        "format": "vla.onnx_export",
        "version": version,
        "variants": {"fp32": "policy.onnx"},
        "sentence_encoder": None,
        "source_checkpoint": "runs/x/checkpoints/last",
    }
    if version is None:
        del manifest["version"]
    (folder / "export.json").write_text(json.dumps(manifest))
    return folder


def eval_args(policy: Path, out: Path) -> list[str]:
    task = ["--task", "pick_red_cube", "--episodes-per-task", "1", "--workers", "1", "--no-video"]
    return ["eval", "--policy", str(policy), *task, "--out", str(out)]


@pytest.fixture
def good_export(tmp_path) -> Path:
    return make_export(tmp_path / "export")


@pytest.fixture
def checkpoint(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "checkpoint", make_bundle())


# ----- export folders -----------------------------------------------------------------------------------
def test_a_hand_made_export_loads(good_export):
    """The fixture itself is a good export: the errors below come from what each test breaks."""
    policy = RuntimePolicy(good_export)
    assert policy.session.get_inputs()[0].name == "images"


def test_truncated_onnx_is_reported_as_corrupt(good_export, tmp_path):
    onnx_file = good_export / "policy.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:40])
    with pytest.raises(BadInputError, match=r"corrupt ONNX file .*policy\.onnx.*vla export --policy"):
        RuntimePolicy(good_export)
    command = [sys.executable, "-m", "vla", *eval_args(good_export, tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert_one_line_error(result, "corrupt ONNX file", str(onnx_file), "vla export")
    assert "eval episodes" not in result.stderr  # refused before the progress bar


@pytest.mark.parametrize("version", [EXPORT_FORMAT_VERSION + 1, EXPORT_FORMAT_VERSION - 1, None])
def test_another_export_format_version_is_refused_with_both_versions(tmp_path, version, vla):
    folder = make_export(tmp_path / "export", version=version)
    found = f"format version {version}" if version is not None else "no format version"
    reads = f"reads version {EXPORT_FORMAT_VERSION}"
    with pytest.raises(BadInputError, match=rf"export\.json: {found}, this vla {reads}"):
        ExportFolder.read(folder)
    assert_one_line_error(vla(*eval_args(folder, tmp_path / "out")), found, reads, str(folder))


def test_an_export_of_another_layout_names_the_missing_input(tmp_path, vla):
    """A graph that takes a sentence embedding, in a folder whose export.json has no sentence encoder:
    onnxruntime would say `Required inputs (['sentence']) are missing` at the first inference."""
    folder = make_export(tmp_path / "export", inputs=("images", "state", "words", "sentence"))
    with pytest.raises(BadInputError, match=r"policy\.onnx does not match .*\['sentence'\]"):
        RuntimePolicy(folder)
    assert_one_line_error(vla(*eval_args(folder, tmp_path / "out")), "['sentence']", str(folder))


# ----- checkpoints -------------------------------------------------------------------------------------
def test_checkpoint_without_weights_is_refused_before_the_progress_bar(checkpoint, tmp_path, vla):
    (checkpoint / WEIGHTS).unlink()
    with pytest.raises(MissingInputError, match=r"is missing model\.safetensors"):
        load_checkpoint(checkpoint)
    result = vla(*eval_args(checkpoint, tmp_path / "out"))
    assert_one_line_error(result, str(checkpoint), "model.safetensors")
    assert "eval episodes" not in result.stderr
    out = tmp_path / "export"
    assert_one_line_error(vla("export", "--policy", str(checkpoint), "--out", str(out)), "model.safetensors")
    assert not out.exists()


def test_train_init_without_weights_is_one_line(checkpoint, tmp_path, vla):
    (checkpoint / WEIGHTS).unlink()
    result = vla(
        "train",
        "--policy.init",
        str(checkpoint),
        "--data.dataset",
        str(tmp_path),
        "--run.out",
        str(tmp_path / "run"),
    )
    assert_one_line_error(result, "model.safetensors")


def test_missing_policy_folder_says_it_does_not_exist(tmp_path, vla):
    assert_one_line_error(vla(*eval_args(tmp_path / "nope", tmp_path / "out")), "no such folder", "expert")


def test_checkpoint_format_version(checkpoint):
    saved = json.loads((checkpoint / CONFIG).read_text())
    assert saved[FORMAT_VERSION_KEY] == FORMAT_VERSION  # written by save_checkpoint, read back by the loader
    assert load_checkpoint(checkpoint).config == make_bundle().config
    (checkpoint / CONFIG).write_text(json.dumps(saved | {FORMAT_VERSION_KEY: 7}))
    with pytest.raises(
        BadInputError, match=r"config\.json: checkpoint format version 7, this vla reads version 1"
    ):
        read_checkpoint_config(checkpoint)


def test_a_config_without_the_version_field_is_the_current_layout(checkpoint):
    """policies/tabletop_nano predates the field: a config.json without it reads as version 1, and the
    shipped policy's does."""
    saved = json.loads((checkpoint / CONFIG).read_text())
    del saved[FORMAT_VERSION_KEY]
    (checkpoint / CONFIG).write_text(json.dumps(saved))
    assert load_checkpoint(checkpoint).config == make_bundle().config
    assert read_checkpoint_config(REPO / "policies" / "tabletop_nano").chunk_length == 10


def test_a_config_of_a_removed_module_loads_without_it_or_names_it(checkpoint):
    """`grounding_dims` (the grounding query, removed): 0, as every shipped policy had it, reads as
    absent; a policy that used the query is refused, naming the field and the vla that reads it."""
    saved = json.loads((checkpoint / CONFIG).read_text())
    (checkpoint / CONFIG).write_text(json.dumps(saved | {"grounding_dims": 0}))
    assert load_checkpoint(checkpoint).config == make_bundle().config
    (checkpoint / CONFIG).write_text(json.dumps(saved | {"grounding_dims": 6}))
    with pytest.raises(BadInputError, match=r"config\.json: grounding_dims 6: .* vla at 25ab09a or older"):
        read_checkpoint_config(checkpoint)


def test_truncated_weights_are_reported_as_corrupt(checkpoint):
    weights = checkpoint / WEIGHTS
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(BadInputError, match=r"corrupt weights file .*model\.safetensors"):
        load_checkpoint(checkpoint)


# ----- dataset paths -----------------------------------------------------------------------------------
def test_misspelt_dataset_path_says_it_does_not_exist(tmp_path, vla):
    missing = tmp_path / "my_teleopp"
    result = vla("train", "--data.dataset", str(missing), "--run.out", str(tmp_path / "run"))
    assert_one_line_error(result, f"--data.dataset {missing} does not exist", "frame cache")
    assert_one_line_error(vla("data", "check", str(missing)), f"{missing} does not exist", code=1)


def test_a_folder_that_is_no_dataset_says_what_is_accepted(tmp_path, vla):
    (tmp_path / "inner" / "meta").mkdir(parents=True)
    (tmp_path / "inner" / "meta" / "info.json").write_text("{}")
    result = vla(
        "train",
        "--data.dataset",
        str(tmp_path),
        "--run.out",
        str(tmp_path / "run"),
        "--policy.model",
        "debug",
    )
    assert_one_line_error(result, "not a LeRobot dataset (no meta/info.json)", "frame cache", "inner")
    data_check = assert_one_line_error(vla("data", "check", str(tmp_path)), "not a LeRobot dataset", code=1)
    assert "frame cache" not in data_check  # vla data check reads LeRobot datasets only


# ----- the default policy ------------------------------------------------------------------------------
def test_missing_default_policy_is_an_error_not_the_expert(tmp_path, monkeypatch, vla):
    from vla import default_policy

    monkeypatch.setattr(default_policy, "SHIPPED_POLICY", tmp_path / "tabletop_nano")
    with pytest.raises(
        MissingInputError, match=r"tabletop_nano/model\.safetensors are missing.*--policy expert"
    ):
        default_policy.default_policy()
    demo = ["demo", "--out", str(tmp_path / "demo")]
    evaluate = ["eval", "--task", "pick_red_cube", "--out", str(tmp_path / "eval")]
    for command in (demo, evaluate, ["export", "--out", str(tmp_path / "export")]):
        assert_one_line_error(vla(*command), "model.safetensors are missing", "--policy expert")
    assert not any((tmp_path / name).exists() for name in ("demo", "eval", "export"))


def test_help_texts_are_current(capsys):
    from vla.cli import build_parser

    def help_text(command: str) -> str:
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        return capsys.readouterr().out

    demo, evaluate = help_text("demo"), help_text("eval")
    assert "until a trained policy ships" not in demo and "--policy" in demo
    assert "%%" not in evaluate and "95% Wilson" in evaluate


# ----- eval output folders -----------------------------------------------------------------------------
def test_each_eval_run_gets_its_own_folder(tmp_path, monkeypatch, vla):
    from vla.cli_eval import default_eval_folder

    first = default_eval_folder("runs/nano/checkpoints/last", tmp_path)
    assert first.parent == tmp_path and first.name.endswith("Z_nano_last")
    first.mkdir()
    assert default_eval_folder("runs/nano/checkpoints/last", tmp_path) != first  # same second, new folder
    monkeypatch.chdir(tmp_path)
    one_episode = ["--task", "pick_red_cube", "--episodes-per-task", "1", "--workers", "1", "--no-video"]
    result = vla("eval", "--policy", "expert", *one_episode)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder,) = (tmp_path / "results" / "eval").iterdir()
    assert folder.name.endswith("_expert") and (folder / "eval_info.json").is_file()
    assert result.stdout.count(f"output folder: {Path('results') / 'eval' / folder.name}") == 2  # start, end


def test_runtime_errors_are_value_errors_for_python_callers(tmp_path):
    """Callers that catch ValueError (or FileNotFoundError for a missing file) keep working."""
    with pytest.raises(FileNotFoundError):
        ExportFolder.read(tmp_path / "none")
    with pytest.raises(ValueError):
        ExportFolder.read(make_export(tmp_path / "v3", version=3))
