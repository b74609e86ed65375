"""The VLM backbone: SmolVLM / Idefics3 architecture from `transformers`, from scratch or from disk.

`SmolVLMModel` holds the three blocks we use: `vision_model` (SigLIP-style ViT), `connector`
(pixel shuffle + linear projection into the language model's width) and `text_model` (Llama-style
decoder). The policy feeds the language model a sequence it assembles itself (image tokens, state,
instruction, action queries), so the same code serves a from-scratch preset and a pretrained SmolVLM2.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import AutoConfig, AutoModel, SmolVLMConfig, SmolVLMModel

from vla.models.configuration_vla import VLAConfig
from vla.models.conv_stem import ConvStem


def scratch_backbone_config(config: VLAConfig, text_vocab_size: int) -> SmolVLMConfig:
    """SmolVLMConfig for a from-scratch preset with the word tokenizer's vocabulary."""
    vision, text = config.vision, config.text
    return SmolVLMConfig(
        vision_config={
            "hidden_size": vision.hidden_size,
            "intermediate_size": vision.intermediate_size,
            "num_hidden_layers": vision.num_layers,
            "num_attention_heads": vision.num_heads,
            "image_size": vision.image_size,
            "patch_size": vision.patch_size,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": text_vocab_size,
            "hidden_size": text.hidden_size,
            "intermediate_size": text.intermediate_size,
            "num_hidden_layers": text.num_layers,
            "num_attention_heads": text.num_heads,
            "num_key_value_heads": text.num_kv_heads,
            "max_position_embeddings": 512,
            "rms_norm_eps": 1e-5,
            "pad_token_id": 0,
            "tie_word_embeddings": False,
        },
        scale_factor=vision.pixel_shuffle,
        pad_token_id=0,
    )


def build_backbone(config: VLAConfig, text_vocab_size: int, saved_config: dict | None = None) -> SmolVLMModel:
    """A randomly initialised backbone (preset), or the pretrained one in `config.backbone_path`.

    `saved_config` (a checkpoint's backbone_config.json) rebuilds the architecture without touching
    `backbone_path`: the checkpoint's own weights are loaded on top, so the original folder is not needed.
    """
    if saved_config is not None:
        return _with_stem(SmolVLMModel(SmolVLMConfig(**saved_config)), config)
    if config.backbone_path is None:
        return _with_stem(SmolVLMModel(scratch_backbone_config(config, text_vocab_size)), config)
    path = Path(config.backbone_path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"--policy.backbone {path}: no config.json (expected a local SmolVLM model folder)"
        )
    backbone_config = AutoConfig.from_pretrained(path, local_files_only=True)
    if backbone_config.model_type not in ("smolvlm", "idefics3"):
        raise ValueError(
            f"--policy.backbone {path}: model_type {backbone_config.model_type!r} is not SmolVLM/Idefics3"
        )
    model = AutoModel.from_pretrained(path, local_files_only=True)
    return getattr(model, "model", model)  # ...ForConditionalGeneration wraps the base model


def _with_stem(backbone: SmolVLMModel, config: VLAConfig) -> SmolVLMModel:
    """The from-scratch tower with the convolutional stem in place of patchify when the config asks."""
    if config.vision.stem == "conv" and config.backbone_path is None:
        embeddings = backbone.vision_model.embeddings
        embeddings.patch_embedding = ConvStem(config.vision.hidden_size, config.vision.patch_size)
    return backbone


def backbone_image_size(backbone: SmolVLMModel) -> int:
    return backbone.config.vision_config.image_size


def backbone_width(backbone: SmolVLMModel) -> int:
    return backbone.config.text_config.hidden_size


def fit_image_size(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """(B, N, 3, H, W) float frames resized to the vision tower's (size, size), antialiased bilinear; as
    they are when they already fit. Training and inference both call it, so a preset or pretrained tower
    whose image size differs from the cameras' sees the same pixels in both."""
    if pixels.shape[-2:] == (size, size):
        return pixels
    resized = F.interpolate(
        pixels.flatten(0, 1), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return resized.unflatten(0, pixels.shape[:2])


def encode_images(backbone: SmolVLMModel, pixels: torch.Tensor) -> torch.Tensor:
    """(B, N, 3, H, W) in [-1, 1] -> (B, N, P, D): P tokens per image in the language model's width D.

    Calls the vision tower and connector directly rather than `get_image_features`, which drops images
    that are all zeros (a dead camera would silently change the sequence length).
    """
    batch, cameras = pixels.shape[:2]
    flat = pixels.flatten(0, 1).to(backbone.dtype)  # (B*N, 3, H, W)
    hidden = backbone.vision_model(pixel_values=flat).last_hidden_state  # (B*N, patches, Dv)
    tokens = backbone.connector(hidden)  # (B*N, P, D)
    return tokens.unflatten(0, (batch, cameras))
