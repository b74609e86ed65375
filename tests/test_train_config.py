"""`vla train`'s options come from one typed tree (vla/training/train_config.py) through a generated command
line (vla/config_cli.py): presets, config files, overrides, a checkpoint's saved config, and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vla.cli_train import help_text
from vla.config_cli import leaves, parse, to_dict
from vla.training.train_config import TRAIN_PRESETS, TrainConfig


def config(*options: str, presets=TRAIN_PRESETS) -> TrainConfig:
    return parse(TrainConfig, list(options), presets)


def test_options_layer_over_a_preset():
    cfg = config(
        "--preset", "tabletop_nano", "--optim.lr", "5e-4", "--run.out", "runs/x", "--objects.teacher=0.5"
    )
    shipped = TRAIN_PRESETS["tabletop_nano"]
    assert cfg.optim.lr == 5e-4 and cfg.run.out == Path("runs/x")
    assert cfg.objects.teacher == 0.5 and cfg.objects.task_choice is True  # the rest stays the preset's
    assert cfg.data.stream.noise_deg == shipped.data.stream.noise_deg == 3.0 and cfg.stream is cfg.data.stream
    plain = config("--data.dataset", "d", "--run.out", "o", "--objects.token", "--augment.enabled", "false")
    assert plain.objects.token is True and plain.augment.enabled is False and plain.stream is None
    assert (
        config("--data.dataset", "d", "--run.out", "o", "--policy.freeze_vision", "none").policy.freeze_vision
        is None
    )


def test_the_shipped_recipe_is_a_preset_with_the_shipped_policys_options():
    """The options of the shipped policy's last training stage (its training_state.json) are the preset's."""
    state = json.loads(Path("policies/tabletop_nano/training_state.json").read_text())["train_config"]
    stream = state["stream"]
    preset = TRAIN_PRESETS["tabletop_nano"]
    assert preset.stream.suite == stream.split("'suite': '")[1].split("'")[0] == "tabletop"
    assert (
        f"'noise_deg': {preset.stream.noise_deg}" in stream
        and f"'capacity': {preset.stream.capacity}" in stream
    )
    objects = preset.objects
    assert (objects.weight, objects.teacher) == (float(state["environment_state_weight"]), 1.0)
    assert objects.token and objects.task_choice and objects.arm_frame and objects.via_choice
    assert str(preset.augment.shift_px) == state["shift_px"] and str(preset.optim.lr) == state["lr"]
    assert (
        str(preset.optim.batch_size) == state["batch_size"] and preset.optim.precision == state["precision"]
    )


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_saved_config_round_trips_through_a_file(tmp_path, suffix):
    import yaml

    cfg = config("--preset", "debug", "--run.out", str(tmp_path / "run"), "--optim.lr", "2e-3")
    path = tmp_path / f"train_config{suffix}"
    path.write_text(json.dumps(to_dict(cfg)) if suffix == ".json" else yaml.safe_dump(to_dict(cfg)))
    assert config("--config", str(path)) == cfg
    assert config("--config", str(path), "--optim.steps", "7").optim.steps == 7  # options still win


def test_errors_name_the_option():
    with pytest.raises(
        ValueError, match=r"unknown option --optim\.learning_rate; --optim\. takes steps, batch_size, lr"
    ):
        config("--optim.learning_rate", "1e-4")
    with pytest.raises(ValueError, match=r"--optim\.steps wants INT, got 'many'"):
        config("--optim.steps", "many")
    with pytest.raises(ValueError, match=r"--policy\.kind is one of vla, act, diffusion; got 'pi0'"):
        config("--data.dataset", "d", "--run.out", "o", "--policy.kind", "pi0")
    with pytest.raises(ValueError, match=r"--run\.out is required"):
        config("--data.dataset", "d")
    with pytest.raises(ValueError, match=r"train on --data\.dataset, on --data\.stream\.suite, or on both"):
        config("--run.out", "o")
    with pytest.raises(KeyError, match="no such preset; the presets are tabletop_nano, debug"):
        config("--preset", "tabletop_pi0")
    with pytest.raises(
        ValueError, match=r"--objects\.teacher and --objects\.arm_frame need --objects\.token"
    ):
        config("--data.dataset", "d", "--run.out", "o", "--objects.arm_frame")


def test_a_bad_config_file_is_named(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match=r"--config .*broken\.json: not valid JSON"):
        config("--config", str(path))
    path.write_text(json.dumps({"optim": {"momentum": 0.9}}))
    with pytest.raises(ValueError, match=r"unknown option optim\.momentum"):
        config("--config", str(path))
    with pytest.raises(FileNotFoundError, match="no such file"):
        config("--config", str(tmp_path / "missing.yaml"))


def test_help_lists_every_option_on_one_screen():
    text = help_text()
    assert len(text.splitlines()) <= 60
    shown = set(re.findall(r"^  --([a-z_.]+) [A-Z]+", text, re.MULTILINE))
    assert shown == {name for name, _, _ in leaves(TrainConfig)}
    assert "preset" in text and "--config" in text
