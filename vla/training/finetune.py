"""Fine-tuning a trained policy on a small dataset: frozen vision tower, optional LoRA adapters.

A few dozen teleoperated episodes are too few to retrain a vision tower; freezing it keeps the visual
features of the base policy. LoRA (Hu et al. 2021, via `peft`) adds low-rank adapters to the language
model's attention projections and trains only those. Checkpoints always hold merged, plain weights, so
a fine-tuned checkpoint loads and exports exactly like any other.
"""

from __future__ import annotations

import copy

from torch import nn

from vla.models.modeling_vla import VLAModel

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj"]  # Llama attention projections


def freeze_vision_tower(model: VLAModel) -> int:
    """Stop gradients into the vision tower; returns the number of frozen parameters."""
    frozen = 0
    for param in model.backbone.vision_model.parameters():
        param.requires_grad = False
        frozen += param.numel()
    return frozen


def train_only_abstain_head(model: VLAModel) -> int:
    """Freeze every parameter but the abstain head's (`--abstain.only`: the policy acts exactly as before);
    returns the number of trainable parameters."""
    for param in model.parameters():
        param.requires_grad = False
    for param in model.abstain_head.parameters():
        param.requires_grad = True
    return sum(p.numel() for p in model.abstain_head.parameters())


def add_lora(model: VLAModel, rank: int, alpha: float | None = None) -> int:
    """Inject LoRA adapters into the language model and freeze its base weights.

    Returns the number of trainable adapter parameters.
    """
    from peft import LoraConfig, inject_adapter_in_model

    if rank < 1:
        raise ValueError(f"LoRA rank must be >= 1, got {rank}")
    text_model = model.backbone.text_model
    for param in text_model.parameters():
        param.requires_grad = False
    config = LoraConfig(r=rank, lora_alpha=alpha or 2 * rank, target_modules=LORA_TARGETS, lora_dropout=0.0)
    inject_adapter_in_model(config, text_model)
    return sum(p.numel() for name, p in text_model.named_parameters() if "lora_" in name and p.requires_grad)


def has_lora(model: nn.Module) -> bool:
    from peft.tuners.lora import LoraLayer

    return any(isinstance(module, LoraLayer) for module in model.modules())


def merged_copy(model: VLAModel) -> VLAModel:
    """A copy of `model` with every LoRA adapter folded into its base weight (W + B A * scale)."""
    from peft.tuners.lora import LoraLayer

    merged = copy.deepcopy(model)
    for parent in list(merged.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LoraLayer):
                child.merge()
                setattr(parent, name, child.get_base_layer())
    return merged
