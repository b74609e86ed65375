"""LeRobot's policy batch -> the project's `VLABatch` (an openpi-style input adapter).

LeRobot hands the policy a dict that its preprocessor already batched, moved to the device and
normalised (state and action MIN_MAX onto [-1, 1], images untouched in [0, 1]):

    observation.images.<camera>  (B, 3, H, W) float in [0, 1]
    observation.state            (B, S) float, normalised
    action                       (B, T, A) float, normalised   (training only)
    action_is_pad                (B, T) bool                   (training only)
    task                         list of B instruction strings

The adapter stacks the cameras in the configured order, resizes them to the backbone's image size,
tokenizes the instruction (word ids, plus the frozen sentence embedding where the preset has one) and
turns actions into control tokens, mirroring `vla.training.loop.BatchEncoder` so that both trainers
feed the model the same thing.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from lerobot.utils.constants import ACTION, OBS_STATE
from tokenizers import Tokenizer

from lerobot_policy_vla.configuration_vla import VLAConfig
from vla.contract import TASK
from vla.models.configuration_vla import VLAConfig as ModelConfig
from vla.models.instruction import InstructionEncoder
from vla.models.modeling_vla import VLABatch
from vla.tokenization.text import build_word_tokenizer, suite_instructions
from vla.training.augment import augment_images

ACTION_IS_PAD = f"{ACTION}_is_pad"


def instruction_tokenizer(config: VLAConfig) -> Tokenizer:
    """The word tokenizer of `config.vocabulary`, first filled in from the suite's training instructions.

    Pinning the words in the config (hence in config.json) keeps a saved policy loadable even if the
    suite's templates change later: the embedding table's size and row order come with the checkpoint.
    """
    if config.vocabulary is None:
        built = build_word_tokenizer(suite_instructions(config.instruction_suite))
        by_id = sorted(built.get_vocab().items(), key=lambda item: item[1])
        config.vocabulary = [word for word, _ in by_id[2:]]  # ids 0 and 1 are [PAD] and [UNK]
    # Each vocabulary word is its own "instruction": the tokenizer's vocabulary is exactly these words.
    return build_word_tokenizer(config.vocabulary)


def action_tokens(actions: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Normalised actions (B, T, A) -> control tokens (B, T, A) int64 in [0, n_bins).

    The uniform binning of `vla.tokenization.BinningActionTokenizer`, on the device: bin i covers
    [-1 + i w, -1 + (i + 1) w) with w = 2 / n_bins, and +1 belongs to the last bin.
    """
    return ((actions.clamp(-1, 1) + 1) * n_bins / 2).floor().clamp(max=n_bins - 1).long()


class LeRobotInputs:
    """Callable: LeRobot batch -> `VLABatch` (with targets when the batch has `action`)."""

    def __init__(
        self, config: VLAConfig, model_config: ModelConfig, text_tokenizer: Tokenizer, image_size: int
    ):
        self.config, self.model_config = config, model_config
        self.image_size = image_size
        self.instructions = InstructionEncoder(model_config, text_tokenizer)

    def __call__(self, batch: dict, train: bool) -> VLABatch:
        """`train` turns on image augmentation (if configured) and word dropout."""
        missing = [key for key in [*self.config.camera_keys, OBS_STATE, TASK] if key not in batch]
        if missing:
            raise KeyError(f"policy 'vla': the batch has no {missing}; it has {sorted(batch)}")
        state = batch[OBS_STATE]  # (B, S)
        device = state.device
        images = self._images(batch)  # (B, N, 3, H, W)
        if train and self.config.augment:
            images = augment_images(images)
        words, sentence = self.instructions(
            _tasks(batch[TASK], state.shape[0]), device, train
        )  # (B, L), (B, 384)
        tokens, is_pad = None, None
        if ACTION in batch:
            actions = batch[ACTION]  # (B, T, A)
            if actions.ndim != 3 or actions.shape[1] != self.model_config.chunk_length:
                raise ValueError(
                    f"policy 'vla': action must be (B, {self.model_config.chunk_length}, A), got "
                    f"{tuple(actions.shape)}"
                )
            tokens = action_tokens(actions, self.model_config.n_action_bins)
            is_pad = batch.get(ACTION_IS_PAD)
        return VLABatch(images, state, words, sentence, tokens, is_pad)

    def _images(self, batch: dict) -> torch.Tensor:
        """(B, N, 3, S, S) float in [0, 1], cameras in configured order, resized to the backbone's S."""
        images = torch.stack([batch[key].float() for key in self.config.camera_keys], dim=1)
        if images.shape[-2:] != (self.image_size, self.image_size):
            images = F.interpolate(
                images.flatten(0, 1),
                size=(self.image_size, self.image_size),
                mode="bilinear",
                antialias=True,  # area-like downsampling, as `vla.policy` does at inference
                align_corners=False,
            ).unflatten(0, images.shape[:2])
        return images.clamp(0.0, 1.0)


def _tasks(task: str | list[str] | tuple[str, ...], batch_size: int) -> list[str]:
    """The B instructions; one string is broadcast (an env with one task may send a bare string)."""
    tasks = [task] * batch_size if isinstance(task, str) else [str(t) for t in task]
    if len(tasks) != batch_size:
        raise ValueError(f"policy 'vla': {len(tasks)} task strings for a batch of {batch_size}")
    return tasks
