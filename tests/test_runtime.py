"""ONNX export and the torch-free runtime: parity with torch, variants, errors, no torch, Python 3.10."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tests.test_model import make_bundle
from vla.export import export_policy
from vla.models.checkpoint import save_checkpoint
from vla.models.configuration_vla import preset
from vla.policy import VLAPolicy
from vla.runtime import BadInputError, ExportFolder, RuntimePolicy

REPO = Path(__file__).resolve().parent.parent


def observation(size: int, task: str = "pick up the red cube", seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "observation.images.front": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        "observation.images.wrist": rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        "observation.state": rng.uniform(-60, 60, 6).astype(np.float32),
        "task": task,
    }


def max_relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Largest absolute difference relative to the largest magnitude (degrees near 0 make per-element
    relative errors meaningless)."""
    return float(np.abs(actual - expected).max() / np.abs(expected).max())


@pytest.fixture(scope="module")
def nano_export(tmp_path_factory) -> tuple[Path, Path]:
    """An untrained `nano` (with the MiniLM sentence encoder and an abstain head) exported in all three
    variants."""
    root = tmp_path_factory.mktemp("nano_export")
    config = preset("nano", abstain_head=True)
    checkpoint = save_checkpoint(root / "checkpoint", make_bundle(seed=3, config=config))
    return checkpoint, export_policy(checkpoint, root / "export", progress=lambda message: None)


@pytest.mark.slow
def test_fp32_runtime_matches_torch(nano_export):
    checkpoint, export = nano_export
    torch_policy, runtime = VLAPolicy.from_checkpoint(checkpoint), RuntimePolicy(export, threads=2)
    for seed, task in enumerate(["pick up the red cube", "nudge the yellow cube towards the left"]):
        obs = observation(128, task, seed)
        expected, actual = torch_policy.infer(obs), runtime.infer(obs)
        assert actual["actions"].shape == (10, 6) and actual["actions"].dtype == np.float32
        assert max_relative_error(actual["actions"], expected["actions"]) < 1e-4
        np.testing.assert_allclose(actual["confidence"], expected["confidence"], rtol=1e-4)
        assert actual["abstain"].shape == () and 0.0 < float(actual["abstain"]) < 1.0
        np.testing.assert_allclose(actual["abstain"], expected["abstain"], rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_fp16_and_int8_variants(nano_export):
    checkpoint, export = nano_export
    manifest = json.loads((export / "export.json").read_text())
    assert set(manifest["variants"]) == {"fp32", "fp16", "int8"}
    assert manifest["sentence_encoder"]["dim"] == 384
    sizes = {v: (export / f).stat().st_size for v, f in manifest["variants"].items()}
    assert sizes["int8"] < sizes["fp16"] < sizes["fp32"]
    obs = observation(128)
    expected = VLAPolicy.from_checkpoint(checkpoint).infer(obs)["actions"]
    fp16 = RuntimePolicy(export, variant="fp16", threads=2).infer(obs)["actions"]
    int8 = RuntimePolicy(export, variant="int8", threads=2).infer(obs)["actions"]
    assert max_relative_error(fp16, expected) < 1e-2
    assert int8.shape == expected.shape and np.all(np.isfinite(int8))  # its cost is a success-rate figure


@pytest.mark.slow
def test_int8_keeps_the_sensitive_modules_in_float(nano_export):
    import onnx

    from vla.export.quantization import KEEP_FLOAT, quantizable_groups

    _, export = nano_export
    assert json.loads((export / "export.json").read_text())["int8_float_modules"] == list(KEEP_FLOAT)
    groups = quantizable_groups(onnx.load(str(export / "policy.onnx")))
    assert {"model.state_proj", "model.action_head.to_logits", "decoding"} <= set(groups)
    assert sum(name.startswith("model.backbone.text_model.layers.") for name in groups) == 4  # one per layer
    int8 = onnx.load(str(export / "policy.int8.onnx"))
    quantized = {n.name for n in int8.graph.node if n.op_type in ("MatMulInteger", "ConvInteger")}
    float_nodes = {n.name for n in int8.graph.node if n.op_type in ("MatMul", "Gemm")}
    for group in ("model.state_proj", "model.action_head.to_logits", "decoding"):
        for node in groups[group]:  # a Gemm survives as "<name>_MatMul" + "<name>_Add"
            assert node in float_nodes or f"{node}_MatMul" in float_nodes, (group, node)
    assert any(name.startswith(tuple(groups["model.backbone.text_model.layers.0"])) for name in quantized)


def test_runtime_resize_matches_torch_antialias():
    import torch
    import torch.nn.functional as F

    from vla.runtime.images import resize_uint8

    image = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    ours = resize_uint8(image, 128).astype(np.float32)
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    reference = F.interpolate(pixels, size=(128, 128), mode="bilinear", antialias=True, align_corners=False)
    assert np.abs(ours - reference[0].permute(1, 2, 0).numpy()).max() <= 0.5 + 1e-3  # uint8 rounding only
    assert resize_uint8(image[:128, :128], 128) is not None


def test_debug_export_matches_torch_and_reuses_the_instruction(debug_export):
    checkpoint, export = debug_export
    runtime = RuntimePolicy(export)
    obs = observation(32)
    expected = VLAPolicy.from_checkpoint(checkpoint).infer(obs)["actions"]
    assert max_relative_error(runtime.infer(obs)["actions"], expected) < 1e-4
    cached = runtime.instruction_inputs(obs["task"])
    assert runtime.instruction_inputs(obs["task"]) is cached
    runtime.reset()
    assert runtime.instruction_inputs(obs["task"]) is not cached


def test_bad_observations_name_the_key(debug_export):
    runtime = RuntimePolicy(debug_export[1])
    good = observation(32)
    with pytest.raises(KeyError, match=r"observation\.images\.wrist"):
        runtime.infer({k: v for k, v in good.items() if k != "observation.images.wrist"})
    with pytest.raises(ValueError, match=r"observation\.images\.front.*uint8"):
        runtime.infer(good | {"observation.images.front": good["observation.images.front"] / 255.0})
    with pytest.raises(ValueError, match=r"observation\.state: non-finite value at index 2"):
        runtime.infer(good | {"observation.state": np.array([0, 0, np.nan, 0, 0, 0], np.float32)})
    with pytest.raises(ValueError, match=r"observation.state: expected \(6,\)"):
        runtime.infer(good | {"observation.state": np.zeros(5, np.float32)})


@pytest.mark.parametrize("task", ["", "   \t"])
def test_an_empty_instruction_is_an_error_never_an_action(debug_export, task):
    """Both policies refuse it before running anything (a ValueError naming `task`)."""
    checkpoint, export = debug_export
    obs = observation(32) | {"task": task}
    for policy in (RuntimePolicy(export), VLAPolicy.from_checkpoint(checkpoint)):
        with pytest.raises(ValueError, match="task: the instruction is empty"):
            policy.infer(obs)
        assert policy.infer(observation(32))["actions"].shape == (4, 6)  # a real instruction still acts


def test_export_folder_errors(debug_export, tmp_path):
    checkpoint, export = debug_export
    with pytest.raises(FileNotFoundError, match="run `vla export` first"):
        ExportFolder.read(checkpoint)
    with pytest.raises(BadInputError, match="no 'int8' variant; it has fp32"):
        RuntimePolicy(export, variant="int8")
    broken = tmp_path / "broken"
    shutil.copytree(export, broken)
    (broken / "policy.onnx").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing policy\.onnx"):
        ExportFolder.read(broken)


def runtime_script(export: Path, out: Path) -> str:
    """Load the export with vla.runtime, refusing any import of torch, and save one chunk as .npy.

    Self-contained (the observation is rebuilt here, as `observation(32)` above), so it runs where only the
    runtime's sources and requirements exist.
    """
    return textwrap.dedent(
        f"""
        import sys
        for name in ("torch", "transformers", "mujoco", "lerobot"):
            sys.modules[name] = None  # any import of these now fails
        import numpy as np
        from vla.runtime import RuntimePolicy
        rng = np.random.default_rng(0)
        obs = {{
            "observation.images.front": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
            "observation.images.wrist": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
            "observation.state": rng.uniform(-60, 60, 6).astype(np.float32),
            "task": "pick up the red cube",
        }}
        np.save({str(out)!r}, RuntimePolicy({str(export)!r}).infer(obs)["actions"])
        print(sys.version_info[:2])
        """
    )


def test_runtime_never_imports_torch(debug_export, tmp_path):
    out = tmp_path / "actions.npy"
    subprocess.run([sys.executable, "-c", runtime_script(debug_export[1], out)], check=True, cwd=REPO)
    expected = RuntimePolicy(debug_export[1]).infer(observation(32))["actions"]
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-6)


def find_python310() -> str | None:
    pyenv = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.10*/bin/python3.10")))
    for candidate in filter(None, [shutil.which("python3.10"), *pyenv]):
        if subprocess.run([candidate, "--version"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.slow
def test_runtime_on_python310_without_torch(debug_export, tmp_path):
    """A fresh Python 3.10 venv (JetPack 6's Python) with only the runtime's requirements runs the export."""
    python310 = find_python310()
    if python310 is None:
        pytest.skip("no python3.10 on this machine")
    venv = tmp_path / "venv310"
    subprocess.run([python310, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REPO / "vla" / "runtime" / "requirements.txt")], check=True)
    # Only the runtime's own sources: vla/__init__.py, vla/contract.py, vla/runtime and vla/tokenization
    # (deploy/jetson/README.md lists the same).
    source = tmp_path / "src"
    for part in ("vla/runtime", "vla/tokenization"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("__init__.py", "contract.py"):
        shutil.copy(REPO / "vla" / part, source / "vla" / part)
    out = tmp_path / "actions310.npy"
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-c", runtime_script(debug_export[1], out)],
        cwd=source,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "(3, 10)" in result.stdout
    expected = RuntimePolicy(debug_export[1]).infer(observation(32))["actions"]
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-5, atol=1e-4)


@pytest.mark.slow
def test_eval_with_the_onnx_backend(debug_export, tmp_path):
    checkpoint, _ = debug_export
    out = tmp_path / "onnx_eval"
    command = [sys.executable, "-m", "vla", "eval", "--policy", str(checkpoint), "--backend", "onnx"]
    command += ["--task", "pick_red_cube", "--episodes-per-task", "1", "--workers", "1", "--no-video"]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)
    info = json.loads((out / "eval_info.json").read_text())
    assert info["backend"] == "onnxruntime fp32"
    assert (out / "export" / "export.json").is_file() and info["policy"] == str(out / "export")
    assert info["per_episode"][0]["steps"] > 0
