"""`make_vla_checkpoint_pre_post_processors`: found by LeRobot's factory by name.

The checkpoint normalises with its own normalization.json inside the policy, so LeRobot's pipelines only
rename, batch and move: observations in, actions out in dataset units. `prepare_checkpoint` saves them
into a checkpoint folder (policy_preprocessor.json / policy_postprocessor.json, no state files), where
`lerobot-eval --policy.path=...` loads them.
"""

from __future__ import annotations

from typing import Any

from lerobot.processor import (
    AddBatchDimensionProcessorStep,
    DeviceProcessorStep,
    PolicyAction,
    PolicyProcessorPipeline,
    RenameObservationsProcessorStep,
)
from lerobot.processor.factory import make_policy_processor_pipelines

from lerobot_policy_vla.configuration_vla_checkpoint import VLACheckpointConfig


def make_vla_checkpoint_pre_post_processors(
    config: VLACheckpointConfig, dataset_stats: dict | None = None
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    """(preprocessor, postprocessor); `dataset_stats` is unused (the checkpoint carries its ranges)."""
    return make_policy_processor_pipelines(
        input_steps=[
            RenameObservationsProcessorStep(rename_map={}),
            AddBatchDimensionProcessorStep(),
            DeviceProcessorStep(device=config.device or "cpu"),
        ],
        output_steps=[DeviceProcessorStep(device="cpu")],
    )
