"""`BatchEncoder`: collated samples -> model inputs (augmentation, instruction tokens, control tokens)."""

from __future__ import annotations

import torch

from vla.models.backbone import fit_image_size
from vla.models.checkpoint import PolicyBundle
from vla.models.instruction import InstructionEncoder
from vla.models.modeling_vla import VLABatch
from vla.tokenization import BinningActionTokenizer
from vla.tokenization.text import encode_instructions
from vla.training.augment import augment_images


class BatchEncoder:
    """Turns collated samples into model inputs: augmentation, instruction tokens, control-token targets."""

    def __init__(
        self,
        bundle: PolicyBundle,
        device: torch.device,
        augment: bool,
        tasks: list[str] = (),
        shift_px: int = 6,
        teacher_objects: float = 0.0,
    ):
        """`tasks`: the instructions that batches with a "task_index" (DeviceBatches) index into.
        `shift_px`: the augmentation's random image shift; `teacher_objects`: share of training samples
        whose `objects` token shows the recorded object positions instead of the predicted ones."""
        self.bundle, self.device, self.augment = bundle, device, augment
        self.shift_px = shift_px
        self.teacher_objects = teacher_objects
        self.image_size = bundle.model.backbone.config.vision_config.image_size
        self.instructions = InstructionEncoder(bundle.config, bundle.text_tokenizer)
        self.task_words, self.task_sentences = None, None
        if tasks:  # every instruction's words and embedding once, on the device
            max_words = bundle.config.text.max_instruction_tokens
            words = encode_instructions(bundle.text_tokenizer, list(tasks), max_words)
            self.task_words = torch.from_numpy(words).to(device)  # (K, L)
            _, sentence = self.instructions(list(tasks), device)
            self.task_sentences = sentence  # (K, 384) or None

    def __call__(self, batch: dict, train: bool = True) -> VLABatch:
        images = batch["images"].to(self.device).float() / 255.0
        images = fit_image_size(images, self.image_size)  # as VLAPolicy does at inference
        if train and self.augment:
            images = augment_images(images, max_shift_px=self.shift_px)
        if "task_index" in batch:
            words, sentence = self._indexed_instructions(batch["task_index"], train)
        else:
            words, sentence = self.instructions(batch["task"], self.device, train)
        state = batch["state"].to(self.device)
        environment = batch.get("environment_state")
        if environment is not None:
            environment = environment.to(self.device)
        from_record = None
        if train and self.teacher_objects > 0 and environment is not None:
            from_record = torch.rand(len(environment), device=self.device) < self.teacher_objects
        holds_still = batch.get("holds_still")
        return VLABatch(
            images,
            state,
            words,
            sentence,
            self._action_tokens(batch["actions"].to(self.device)),
            batch["action_is_pad"].to(self.device),
            environment,
            from_record,
            holds_still.to(self.device) if holds_still is not None else None,
        )

    def _indexed_instructions(self, index: torch.Tensor, train: bool):
        """Words (word dropout when training, as InstructionEncoder does) and sentences, on the device."""
        words = self.task_words[index]
        if train:
            words = self.instructions.drop_words(words)
        sentence = self.task_sentences[index] if self.task_sentences is not None else None
        return words, sentence

    def _action_tokens(self, actions: torch.Tensor) -> torch.Tensor:
        """(B, T, A) normalised actions -> control-token targets, on the device for the binning tokenizer."""
        tokenizer = self.bundle.action_tokenizer
        if isinstance(tokenizer, BinningActionTokenizer):
            return tokenizer.encode_tensor(actions)
        return torch.from_numpy(tokenizer.encode_batch(actions.cpu().numpy())).to(self.device)
