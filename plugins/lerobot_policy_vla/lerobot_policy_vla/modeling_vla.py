"""`VLAPolicy`: the project's `VLAModel` behind LeRobot's `PreTrainedPolicy` interface.

Training (`lerobot-train --policy.type=vla`) calls `forward(batch) -> (loss, info)`; evaluation and
deployment call `select_action(batch) -> (B, A)`, which runs the model once per `n_action_steps` and
serves the chunk from a queue, as ACT does (Zhao et al. 2023). Inputs and outputs are normalised: LeRobot's
pre/post processors (`processor_vla`) map state and action to and from [-1, 1].
"""

from __future__ import annotations

from collections import deque

import torch
from lerobot.policies.pretrained import PreTrainedPolicy
from lerobot.utils.constants import ACTION
from torch import Tensor

from lerobot_policy_vla.configuration_vla import VLAConfig
from lerobot_policy_vla.inputs_vla import LeRobotInputs, instruction_tokenizer
from vla.models.backbone import backbone_image_size
from vla.models.modeling_vla import VLAModel, decode_logits
from vla.tokenization import BinningActionTokenizer, BinningConfig


class VLAPolicy(PreTrainedPolicy):
    """VLM backbone + parallel action head predicting control tokens for a chunk of actions."""

    config_class = VLAConfig
    name = "vla"

    def __init__(self, config: VLAConfig, **kwargs):
        """`kwargs` (LeRobot passes `dataset_stats`, `dataset_meta`) are unused: the processors normalise."""
        super().__init__(config)
        config.validate_features()
        self.config: VLAConfig = config
        text_tokenizer = instruction_tokenizer(config)  # fills config.vocabulary on a fresh policy
        model_config = config.model_config()
        self.model = VLAModel(model_config, text_tokenizer.get_vocab_size())
        bins = BinningActionTokenizer(BinningConfig(model_config.n_action_bins, model_config.action_dim))
        # Derived from the config, so not saved: (K,) normalised value of each control token.
        self.register_buffer("bin_centers", torch.from_numpy(bins.bin_centers), persistent=False)
        self.inputs = LeRobotInputs(
            config, model_config, text_tokenizer, backbone_image_size(self.model.backbone)
        )
        self.reset()

    def reset(self) -> None:
        """Start of an episode: drop the actions left from the previous chunk."""
        self._action_queue: deque[Tensor] = deque(maxlen=self.config.n_action_steps)

    def get_optim_params(self) -> list[dict]:
        """AdamW groups: no weight decay on biases and norm gains (1-D tensors), as GPT-2 and `vla train`."""
        decay, no_decay = [], []
        for param in self.parameters():
            if param.requires_grad:
                (decay if param.ndim >= 2 else no_decay).append(param)
        return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, dict]:
        """Cross-entropy of the target control tokens, ignoring chunk steps past the episode's end.

        Returns the scalar loss and, for LeRobot's logger, `token_accuracy`: the share of target control
        tokens (over unpadded steps) that are the model's most likely bin.
        """
        inputs = self.inputs(batch, train=self.training)
        logits = self.model(inputs).float()  # (B, T, A, K)
        targets = inputs.action_tokens.clone()  # (B, T, A)
        if inputs.action_is_pad is not None:
            targets[inputs.action_is_pad] = -100
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 2), targets.flatten(), ignore_index=-100)
        with torch.no_grad():
            valid = targets != -100
            hits = (logits.argmax(dim=-1) == targets) & valid
            accuracy = hits.sum().float() / valid.sum().clamp(min=1)
        return loss, {"token_accuracy": accuracy.item()}

    @torch.no_grad()
    def predict_action_chunk(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        """Normalised actions (B, T, A): the expectation over bin centres of each control token."""
        self.eval()
        observation = {key: value for key, value in batch.items() if key != ACTION}
        logits = self.model(self.inputs(observation, train=False))  # (B, T, A, K)
        actions, _confidence = decode_logits(logits, self.bin_centers)
        return actions

    @torch.no_grad()
    def select_action(self, batch: dict[str, Tensor], **kwargs) -> Tensor:
        """The next normalised action (B, A); a new chunk is predicted when the queue runs dry."""
        self.eval()
        if not self._action_queue:
            actions = self.predict_action_chunk(batch)[:, : self.config.n_action_steps]  # (B, n, A)
            self._action_queue.extend(actions.transpose(0, 1))  # n entries of (B, A)
        return self._action_queue.popleft()
