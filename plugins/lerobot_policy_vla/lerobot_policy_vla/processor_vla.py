"""`make_vla_pre_post_processors`: found by LeRobot's factory by name (`make_<type>_pre_post_processors`).

The default pipelines suit the policy: the preprocessor renames, adds the batch dimension, moves to the
device and normalises (state and action MIN_MAX onto [-1, 1], images left in [0, 1]); the postprocessor
maps predicted actions back to dataset units (degrees, gripper 0-100) and onto the CPU. The stats are
saved with the pipelines (safetensors + JSON), so a checkpoint needs no dataset to run.
"""

from __future__ import annotations

from typing import Any

import torch
from lerobot.processor import PolicyAction, PolicyProcessorPipeline, make_default_pre_post_processors

from lerobot_policy_vla.configuration_vla import VLAConfig


def make_vla_pre_post_processors(
    config: VLAConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    """(preprocessor, postprocessor) for `config`, normalising with `dataset_stats` (min / max used)."""
    return make_default_pre_post_processors(config, dataset_stats, normalizer_device=config.device)
