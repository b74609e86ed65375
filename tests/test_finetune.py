"""Fine-tuning: a frozen vision tower stays put; LoRA adapters train alone and merge into plain weights."""

import torch

from tests.test_model import make_batch, make_bundle
from vla.models.checkpoint import load_checkpoint, save_checkpoint
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
