"""The inference contract shared by sim evaluation, the ROS node and any server.

    policy.reset()
    policy.infer(obs) -> {"actions": (T, A) float32, "confidence": (T,) float32, "abstain": () float32}

`obs` uses LeRobot's names: `observation.images.<camera>` (H, W, 3) uint8, `observation.state` (6,)
float32 in so101_follower units, `task` (the instruction). Actions come back in the same units. `abstain`
is the probability that the instruction names nothing in view (0 for a policy without an abstain head);
at `vla.contract.ABSTAIN_THRESHOLD` or above, callers hold instead of acting. An empty instruction is an
error (ValueError), never an action.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vla.contract import OBS_STATE
from vla.models.backbone import fit_image_size
from vla.models.checkpoint import PolicyBundle, load_checkpoint
from vla.models.instruction import InstructionEncoder
from vla.models.modeling_vla import VLABatch, decode_logits
from vla.runtime.observation import camera_frames, instruction_text, observation_keys


class VLAPolicy:
    """A trained VLA policy behind `reset()` / `infer(obs)`."""

    def __init__(self, bundle: PolicyBundle, device: str = "cpu"):
        self.bundle = bundle
        self.config = bundle.config
        self.device = device
        self.model = bundle.model.to(device).eval()
        self.image_size = self.model.backbone.config.vision_config.image_size
        self._bin_centers = torch.from_numpy(bundle.action_tokenizer.bin_centers).to(device)
        self._instructions = InstructionEncoder(self.config, bundle.text_tokenizer)
        self._instruction: tuple[str, torch.Tensor, torch.Tensor | None] | None = None

    @classmethod
    def from_checkpoint(cls, folder: Path, device: str = "cpu") -> VLAPolicy:
        return cls(load_checkpoint(folder, device), device)

    def reset(self) -> None:
        """Start of an episode: forget the cached instruction encoding."""
        self._instruction = None

    def _encode_instruction(self, text: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Word ids and sentence embedding of the instruction, computed once per distinct instruction."""
        if self._instruction is None or self._instruction[0] != text:
            self._instruction = (text, *self._instructions([text], self.device))
        return self._instruction[1], self._instruction[2]

    def batch_from_observation(self, obs: dict) -> VLABatch:
        """The observation as a batch of one; a missing key, a bad frame or an empty instruction raises
        naming it."""
        frames = camera_frames(obs, self.config.cameras)  # checks every key first
        text = instruction_text(obs)
        images = [torch.from_numpy(image).permute(2, 0, 1) for image in frames]
        pixels = torch.stack(images).unsqueeze(0).to(self.device).float() / 255.0  # (1, N, 3, H, W)
        pixels = fit_image_size(pixels, self.image_size)
        state = self.bundle.normalization.state.normalize(np.asarray(obs[OBS_STATE], np.float32))
        words, sentence = self._encode_instruction(text)
        return VLABatch(pixels, torch.from_numpy(state).unsqueeze(0).to(self.device), words, sentence)

    @property
    def observation_keys(self) -> list[str]:
        return observation_keys(self.config.cameras)

    @torch.inference_mode()
    def infer(self, obs: dict) -> dict[str, np.ndarray]:
        """One chunk: {"actions": (T, A) float32 in dataset units, "confidence": (T,) float32 in (0, 1],
        "abstain": () float32 in [0, 1]}."""
        return self.infer_batch(self.batch_from_observation(obs))

    @torch.inference_mode()
    def infer_batch(self, batch: VLABatch) -> dict[str, np.ndarray]:
        """`infer` on an already encoded batch of one observation."""
        logits, abstain = self.model.predict(batch)
        actions, confidence = decode_logits(logits, self._bin_centers)
        actions = self.bundle.normalization.action.unnormalize(actions[0].cpu().numpy())
        return {
            "actions": actions.astype(np.float32),
            "confidence": confidence[0].cpu().numpy().astype(np.float32),
            "abstain": abstain[0].float().cpu().numpy().astype(np.float32),
        }
