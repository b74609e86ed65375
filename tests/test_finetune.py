"""Fine-tuning: a frozen vision tower stays put; LoRA adapters train alone and merge into plain weights; the
README's command on new data that leaves the policy's ranges widens them and says so."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.test_model import make_batch, make_bundle
from vla.models.checkpoint import NORMALIZATION, load_checkpoint, save_checkpoint
from vla.training.finetune import add_lora, freeze_vision_tower, has_lora, merged_copy


def train_steps(model, batch, steps=5):
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(steps):
        loss = model.loss(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_frozen_vision_tower_does_not_change():
    bundle = make_bundle()
    model, batch = bundle.model, make_batch(bundle.config)
    vision_before = [p.detach().clone() for p in model.backbone.vision_model.parameters()]
    head_before = model.action_head.to_logits.weight.detach().clone()
    assert freeze_vision_tower(model) > 0
    train_steps(model, batch)
    for before, after in zip(vision_before, model.backbone.vision_model.parameters(), strict=True):
        torch.testing.assert_close(before, after)
    assert not torch.equal(head_before, model.action_head.to_logits.weight)


def test_lora_trains_adapters_and_merges_into_plain_weights(tmp_path):
    bundle = make_bundle()
    model, batch = bundle.model, make_batch(bundle.config)
    base_q = model.backbone.text_model.layers[0].self_attn.q_proj.weight.detach().clone()
    assert add_lora(model, rank=2) > 0
    assert has_lora(model)
    train_steps(model, batch)
    torch.testing.assert_close(model.backbone.text_model.layers[0].self_attn.q_proj.base_layer.weight, base_q)
    model.eval()
    merged = merged_copy(model).eval()
    assert not has_lora(merged) and has_lora(model)
    with torch.no_grad():
        torch.testing.assert_close(merged(batch), model(batch), atol=1e-5, rtol=1e-4)
    bundle.model = merged
    save_checkpoint(tmp_path / "ckpt", bundle)
    loaded = load_checkpoint(tmp_path / "ckpt").model
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch), model(batch), atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_fine_tuning_on_new_data_widens_the_ranges_it_leaves(recorded_dataset, tmp_path):
    """`vla train --data.dataset <new data> --policy.init <policy> --policy.lora_rank 8` as the README
    writes it: the policy's gripper range ends at 10 %, the recorded expert opens it further. The run
    widens that range (and not the ones the data stays within), says so in one line, and saves the
    widened ranges; --policy.widen_normalization false refuses the data instead."""
    policy = save_checkpoint(tmp_path / "policy", make_bundle())
    ranges = json.loads((policy / NORMALIZATION).read_text())
    for part in ("state", "action"):
        ranges[part]["high"][-1] = 10.0  # gripper.pos, %
    (policy / NORMALIZATION).write_text(json.dumps(ranges))

    def fine_tune(out: str, *extra: str) -> subprocess.CompletedProcess:
        command = [
            sys.executable,
            "-m",
            "vla",
            "train",
            "--data.dataset",
            str(recorded_dataset),
            "--policy.init",
            str(policy),
        ]
        command += [
            "--policy.lora_rank",
            "8",
            "--optim.steps",
            "1",
            "--optim.batch_size",
            "4",
            "--run.device",
            "cpu",
        ]
        return subprocess.run(
            [*command, "--run.out", str(tmp_path / out), *extra], capture_output=True, text=True, timeout=600
        )

    refused = fine_tune("refused", "--policy.widen_normalization", "false")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "action gripper.pos: the data spans" in refused.stderr

    result = fine_tune("run")
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if "widened:" in line]
    assert "action gripper.pos [-90.0, 10.0] -> [-90.0, " in line and "state gripper.pos" in line
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last").normalization
    new_high = saved.action.high[-1]
    assert new_high > 20.0 and f"action gripper.pos [-90.0, 10.0] -> [-90.0, {new_high:.1f}]" in line
    names = json.loads((recorded_dataset / "meta" / "info.json").read_text())["features"]["action"]["names"]
    for i, name in enumerate(names):
        if f"action {name} " not in line:  # a joint the data stays within keeps its range
            np.testing.assert_allclose([saved.action.low[i], saved.action.high[i]], [-90.0, 90.0])
