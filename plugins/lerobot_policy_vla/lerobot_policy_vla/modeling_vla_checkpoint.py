"""`VLACheckpointPolicy`: a `vla train` checkpoint folder behind LeRobot's `PreTrainedPolicy` interface.

`lerobot-eval` / `lerobot-rollout --policy.path=<checkpoint>` call `select_action(batch) -> (B, A)`. Each
observation of the batch goes through the project's own inference contract (`vla.policy.VLAPolicy.infer`),
so LeRobot's tools get the very actions `vla eval` computes. Batches arrive unnormalised (the
processors only batch and move them, `processor_vla_checkpoint`): the checkpoint's normalization.json
is applied inside, and actions come back in dataset units (degrees, gripper 0..100):

    observation.images.<camera>  (B, 3, H, W) float in [0, 1]   (uint8 frames / 255)
    observation.state            (B, S) float, so101_follower units
    task                         B instruction strings (or one, broadcast)
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import OBS_IMAGES, OBS_STATE
from torch import Tensor

from lerobot_policy_vla.configuration_vla_checkpoint import VLACheckpointConfig
from vla.contract import TASK
from vla.models.checkpoint import load_checkpoint
from vla.policy import VLAPolicy as ProjectPolicy


class VLACheckpointPolicy(PreTrainedPolicy):
    """Inference only: fine-tune a checkpoint with `vla train --init`, or train with `--policy.type=vla`."""

    config_class = VLACheckpointConfig
    name = "vla_checkpoint"

    def __init__(self, config: VLACheckpointConfig, project_policy: ProjectPolicy | None = None, **kwargs):
        """`project_policy`: the loaded checkpoint (`from_pretrained` passes it); without it the weights are
        random, from the config's architecture. `kwargs` from LeRobot's factory are unused."""
        super().__init__(config)
        self.config: VLACheckpointConfig = config
        if project_policy is None:
            raise ValueError(
                "policy 'vla_checkpoint' runs a trained checkpoint: pass --policy.path=<checkpoint folder>"
            )
        self.project_policy = project_policy
        self.model = project_policy.model  # registered, so .to(device) / .eval() reach the weights
        self.reset()

    @classmethod
    def from_pretrained(
        cls, pretrained_name_or_path: str | Path, *, config=None, **kwargs
    ) -> VLACheckpointPolicy:
        """Load the checkpoint folder with the project's loader (its weights, tokenizer and ranges)."""
        folder = Path(pretrained_name_or_path)
        if config is None:
            config = VLACheckpointConfig.from_pretrained(folder)
        device = str(config.device or "cpu")
        policy = cls(config, ProjectPolicy(load_checkpoint(folder, device), device))
        policy.eval()
        return policy

    def to(self, *args, **kwargs):
        """Move the weights, and tell the project policy where its inputs now go."""
        moved = super().to(*args, **kwargs)
        self.project_policy.device = next(self.model.parameters()).device
        self.project_policy._bin_centers = self.project_policy._bin_centers.to(self.project_policy.device)
        return moved

    def reset(self) -> None:
        """Start of an episode: drop the rest of the last chunk and the cached instruction."""
        self._action_queue: deque[Tensor] = deque(maxlen=self.config.n_action_steps)
        self.project_policy.reset()

    def get_optim_params(self) -> dict:
        raise NotImplementedError("policy 'vla_checkpoint' runs only; fine-tune it with `vla train --init`")

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict]:
        raise NotImplementedError("policy 'vla_checkpoint' runs only; fine-tune it with `vla train --init`")

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        """(B, T, A) actions in dataset units, one observation of the batch at a time."""
        state = batch[OBS_STATE]  # (B, S)
        tasks = batch.get(TASK)
        if tasks is None:
            raise KeyError("policy 'vla_checkpoint': the batch has no 'task' (the instruction); pass --task")
        tasks = [tasks] * state.shape[0] if isinstance(tasks, str) else list(tasks)
        chunks = [self._infer_one(batch, index, str(tasks[index])) for index in range(state.shape[0])]
        return torch.from_numpy(np.stack(chunks)).to(state.device)

    def _infer_one(self, batch: dict[str, Tensor], index: int, task: str) -> np.ndarray:
        """(T, A): observation `index` of the batch as the project's observation dict, through `infer`."""
        obs: dict = {OBS_STATE: batch[OBS_STATE][index].float().cpu().numpy(), TASK: task}
        for camera in self.project_policy.config.cameras:
            key = f"{OBS_IMAGES}.{camera}"
            if key not in batch:
                raise KeyError(f"policy 'vla_checkpoint' needs {key}; the batch has {sorted(batch)}")
            image = batch[key][index]  # (3, H, W) float in [0, 1]
            obs[key] = (image.permute(1, 2, 0) * 255.0).round().clamp(0, 255).byte().cpu().numpy()
        return self.project_policy.infer(obs)["actions"]

    @torch.no_grad()
    def select_action(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        """The next action (B, A); a new chunk is predicted when the first `n_action_steps` are spent."""
        if not self._action_queue:
            actions = self.predict_action_chunk(batch)[:, : self.config.n_action_steps]  # (B, n, A)
            self._action_queue.extend(actions.transpose(0, 1))
        return self._action_queue.popleft()
