"""The policy a run trains: a fresh one, or --policy.init's with its normalisation checked against the data,
and the heads and options its training asks for (environment state, task choice), built from its config."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from vla.models.checkpoint import PolicyBundle
from vla.models.configuration_vla import VLAConfig, preset
from vla.models.modeling_vla import VLAModel
from vla.models.normalization import Normalization, RangeNormalizer
from vla.models.task_choice import TASK_VALUES, task_choice_sources
from vla.tokenization import BinningActionTokenizer, BinningConfig
from vla.tokenization.text import build_word_tokenizer
from vla.training.ranges import with_data_ranges
from vla.training.train_config import TrainConfig
from vla.training.widen_model import keep_function_under_new_ranges


def model_config(cfg: TrainConfig) -> VLAConfig:
    """The preset, pointed at --policy.backbone when one is given."""
    return preset(
        cfg.policy.model, **({"backbone_path": str(cfg.policy.backbone)} if cfg.policy.backbone else {})
    )


def fresh_bundle(config: VLAConfig, instructions: list[str], normalization: Normalization) -> PolicyBundle:
    """An untrained policy for a dataset with these instructions and this normalisation."""
    if config.backbone_path:
        from tokenizers import Tokenizer

        text_tokenizer = Tokenizer.from_file(str(Path(config.backbone_path) / "tokenizer.json"))
    else:  # a word vocabulary from the instructions the dataset actually holds
        text_tokenizer = build_word_tokenizer(instructions)
    ranges = low_high(normalization.environment_state)
    model = VLAModel(config, text_tokenizer.get_vocab_size(), environment_ranges=ranges)
    action_tokenizer = BinningActionTokenizer(BinningConfig(config.n_action_bins, config.action_dim))
    return PolicyBundle(config, model, normalization, text_tokenizer, action_tokenizer)


def low_high(ranges: RangeNormalizer | None) -> tuple | None:
    """(low, high) (E,) of the environment state's normalisation, as `VLAModel` takes them, or None."""
    return (ranges.low, ranges.high) if ranges is not None else None


@dataclass(frozen=True)
class ObjectsTraining:
    """What a run asks of the policy's object modules (`TrainConfig`'s flags): the environment-state loss
    `weight`, the objects `token`, the task choice among `task_choice_names` (the environment state's
    names; None: no choice) and `fixed_destinations` (x, y, z in m), the `arm_frame` features and the
    instruction `via_choice` only, and the instruction `pointer`."""

    weight: float = 0.0
    token: bool = False
    task_choice_names: tuple[str, ...] | None = None
    fixed_destinations: tuple[tuple[float, float, float], ...] = ()
    arm_frame: bool = False
    via_choice: bool = False
    pointer: bool = False


def training_policy(
    initial: PolicyBundle | None,
    base: VLAConfig,
    instructions: list[str],
    data: Normalization,
    objects: ObjectsTraining,
    abstain_head: bool = False,
) -> PolicyBundle:
    """The policy a run trains, built once from the config its training asks for: a fresh one of config
    `base` for data with these `instructions` and normalisation, or `initial` (its normalisation already
    checked against the data), rebuilt with its weights when it lacks a module (`rebuilt`); with
    `abstain_head`, one whether or not the policy had it."""
    own = initial.normalization.environment_state if initial is not None else None
    config, ranges = training_config(initial.config if initial else base, own, data, objects)
    if abstain_head and not (config.abstain_head or config.instruction_pointer):
        config = replace(config, abstain_head=True)  # the pointer is its own abstain head
    if initial is None:
        normalization = data if ranges is None else replace(data, environment_state=ranges)
        return fresh_bundle(config, instructions, normalization)
    model = initial.model
    if config.instruction_pointer and not initial.config.instruction_pointer:
        model = pointer_from(initial.model, config, low_high(ranges))
    elif config != initial.config:
        model = rebuilt(initial.model, config, low_high(ranges))
    normalization = replace(initial.normalization, environment_state=ranges)
    return replace(initial, config=config, model=model, normalization=normalization)


def training_config(
    config: VLAConfig, own: RangeNormalizer | None, data: Normalization, objects: ObjectsTraining
) -> tuple[VLAConfig, RangeNormalizer | None]:
    """`config` with the object modules `objects` asks for, and the environment state's normalisation: the
    policy's own (`own`) where it has one, else (with a weight > 0) the training data's. A policy whose
    task choice lacks some of the data's destinations gets them appended."""
    if objects.pointer or config.instruction_pointer:
        return pointer_config(config, own, data, objects)
    if (objects.token or objects.task_choice_names is not None or objects.arm_frame) and objects.weight <= 0:
        raise ValueError(
            "the objects token, the task choice and the arm-frame features need an environment-state "
            "weight > 0 (their heads are trained)"
        )
    ranges = own
    if objects.weight > 0:
        config = _with_object_modules(config, own, data, objects)
        ranges = own or data.environment_state
    if objects.via_choice and not config.instruction_via_choice:
        config = replace(config, instruction_via_choice=True)  # refused without a task choice
    return config, ranges


def pointer_config(
    config: VLAConfig, own: RangeNormalizer | None, data: Normalization, objects: ObjectsTraining
) -> tuple[VLAConfig, RangeNormalizer | None]:
    """`config` grounded by the instruction pointer (vla/models/pointer.py) in place of any object modules it
    had, and the environment state's normalisation its position loss (weight > 0) reads: the data's, whose
    last six (the task values) keep `own`'s where the policy has them, so the values' token still reads
    them as it was trained to. A policy that already points keeps its options (a label-free fine-tune of
    a labelled one keeps its arm-frame features and their ranges)."""
    if objects.task_choice_names is not None or objects.token:
        raise ValueError("--objects.pointer replaces --objects.token and --objects.task_choice")
    pointing = config.instruction_pointer
    if objects.weight <= 0 and objects.arm_frame and not (pointing and config.arm_frame_features):
        raise ValueError("--objects.arm_frame reads positions in metres: it needs --objects.weight > 0")
    config = replace(
        config,
        instruction_pointer=True,
        environment_state_dim=0,
        environment_state_token=False,
        task_object_sources=(),
        task_destination_sources=(),
        task_destination_constants=(),
        abstain_head=False,
        arm_frame_features=objects.arm_frame or (pointing and config.arm_frame_features),
        instruction_via_choice=objects.via_choice or (pointing and config.instruction_via_choice),
        # a new pointer reads x, y from pixels (vla/models/pointer_heatmap.py); one saved before keeps its way
        pointer_heatmap=config.pointer_heatmap if pointing else True,
        # and its roles read the words in their places (vla/models/role_words.py)
        pointer_role_words=config.pointer_role_words if pointing else True,
    )
    if config.pointer_role_words and config.instruction_via_choice:
        # Word dropout leant the language model on the sentence token; with the words hidden from it, the
        # dropout only blanked the colour that the role words must read (30 % of them).
        config = replace(config, word_dropout=0.0)
    if objects.weight <= 0:
        return config, own if pointing else None
    if data.environment_state is None:
        raise ValueError(
            "--objects.weight with --objects.pointer: the training data has no observation.environment_state "
            "(its last six values, the task values, train the pointed positions); train without the weight "
            "on data without labels"
        )
    ranges = data.environment_state
    if own is not None and len(own.low) != len(ranges.low):
        low, high = ranges.low.copy(), ranges.high.copy()
        low[-TASK_VALUES:], high[-TASK_VALUES:] = own.low[-TASK_VALUES:], own.high[-TASK_VALUES:]
        ranges = replace(ranges, low=low, high=high)
    elif own is not None:
        ranges = own
    return config, ranges


def pointer_from(old: VLAModel, config: VLAConfig, environment_ranges=None) -> VLAModel:
    """A model grounded by the instruction pointer (`config`) that carries `old`'s backbone, projections and
    action head. Of `old`'s object modules it keeps what still means the same: the objects token's map of
    the task values (its last six inputs) and the arm-frame features' map; the rest (the scene's
    positions, the task choice, an abstain head) has no place in it."""
    model = model_beside(old, config, environment_ranges)
    fresh = model.state_dict()
    weights = {
        k: v
        for k, v in old.state_dict().items()
        if k in fresh and not k.startswith(("objects.", "abstain_head."))
    }
    old_token = old.state_dict().get("objects.environment_proj.weight")
    if old_token is not None:
        weights["objects.environment_proj.weight"] = old_token[:, -TASK_VALUES:]
        weights["objects.environment_proj.bias"] = old.state_dict()["objects.environment_proj.bias"]
    if config.arm_frame_features and "objects.arm_frame.proj.weight" in old.state_dict():
        for name in ("weight", "bias"):
            weights[f"objects.arm_frame.proj.{name}"] = old.state_dict()[f"objects.arm_frame.proj.{name}"]
    model.load_state_dict(weights, strict=False)  # the pointer and its tokens start as VLAModel builds them
    return model


def _with_object_modules(
    config: VLAConfig, own: RangeNormalizer | None, data: Normalization, objects: ObjectsTraining
) -> VLAConfig:
    if data.environment_state is None:
        raise ValueError(
            "the environment-state loss: the training data has no observation.environment_state (record it "
            "from the simulator: vla record --source expert, or train on the expert stream)"
        )
    dim = len(data.environment_state.low)
    if config.environment_state_dim and config.environment_state_dim != dim:
        raise ValueError(
            f"the policy's environment-state head has {config.environment_state_dim} outputs; the data's "
            f"environment state has {dim} values"
        )
    if own is not None and len(own.low) != dim:
        raise ValueError(f"the policy normalises {len(own.low)} environment-state values, the data has {dim}")
    config = replace(
        config,
        environment_state_dim=dim,
        environment_state_token=config.environment_state_token or objects.token,
        arm_frame_features=config.arm_frame_features or objects.arm_frame,
    )
    names = objects.task_choice_names
    if names is None:
        return config
    if len(names) != dim:
        raise ValueError(f"the task choice: {len(names)} environment-state names for {dim} values")
    sources = task_choice_sources(list(names), objects.fixed_destinations)
    if config.task_choice and not destinations_to_add(config, *sources):
        return config
    return replace(
        config,
        task_object_sources=sources[0],
        task_destination_sources=sources[1],
        task_destination_constants=sources[2],
    )


def rebuilt(old: VLAModel, config: VLAConfig, environment_ranges=None) -> VLAModel:
    """A model built from `config` that carries `old`'s weights. Modules `old`'s config lacked start as
    `VLAModel` builds them; a task choice given more destinations keeps its trained logits, and the new
    ones start at zero weight with a bias far below the others', so every trained choice stays as it was
    until the new candidates are trained. `environment_ranges`: (low, high) (E,) for modules built new."""
    model = model_beside(old, config, environment_ranges)
    fresh = model.state_dict()
    weights = {}
    for key, value in old.state_dict().items():
        if key not in fresh:
            raise ValueError(f"{key}: the rebuilt policy has no such weight (its config dropped a module)")
        if value.shape != fresh[key].shape:
            value = _grown_destinations(key, value, fresh[key])
        weights[key] = value
    model.load_state_dict(weights, strict=False)  # keys `old` lacks keep their fresh values
    return model


def model_beside(old: VLAModel, config: VLAConfig, environment_ranges=None) -> VLAModel:
    """A fresh model of `config` with `old`'s backbone architecture and vocabulary, on `old`'s device: what
    `rebuilt` and `pointer_from` load `old`'s weights into."""
    backbone_config = json.loads(old.backbone.config.to_json_string())
    model = VLAModel(config, old.text_vocab_size, backbone_config, environment_ranges)
    return model.to(next(old.parameters()).device)


def _grown_destinations(key: str, trained, fresh):
    """A task choice's destination tensor `trained` (K, ...) extended to the new candidates of `fresh`
    (K + k, ...): logits far below the trained ones, sources and constants as `fresh` has them."""
    if not key.startswith("objects.task_choice.destination"):
        raise ValueError(
            f"{key}: the rebuilt policy's shape {tuple(fresh.shape)} is not {tuple(trained.shape)}"
        )
    grown = fresh.clone()
    if key == "objects.task_choice.destination_logits.weight":
        grown.zero_()
    elif key == "objects.task_choice.destination_logits.bias":
        grown.fill_(float(trained.min()) - 10.0)
    grown[: len(trained)] = trained
    return grown


def fine_tuning_bundle(
    initial: PolicyBundle,
    data: Normalization,
    state_names: list[str] | tuple[str, ...] | None,
    action_names: list[str] | tuple[str, ...] | None,
    widen: bool,
) -> PolicyBundle:
    """`initial` with its normalisation checked against the data's, or widened to it (training/ranges.py),
    its model then rewritten in place to act as before under the widened ranges (training/widen_model.py)."""
    normalization = with_data_ranges(
        initial.normalization,
        data,
        tuple(state_names) if state_names else None,
        tuple(action_names) if action_names else None,
        widen,
    )
    if normalization is not initial.normalization:
        bin_centers = getattr(initial.action_tokenizer, "bin_centers", None)
        keep_function_under_new_ranges(initial.model, initial.normalization, normalization, bin_centers)
    return replace(initial, normalization=normalization)


def destinations_to_add(config: VLAConfig, objects, destinations, constants) -> tuple | None:
    """(sources, constants) of the destinations the data offers beyond a trained choice's, which they must
    extend (same objects, its destinations first); None when they are the same."""
    have = config.task_destination_sources
    have_constants = config.task_destination_constants or ((0.0, 0.0, 0.0),) * len(have)
    if (config.task_object_sources, have, have_constants) == (objects, destinations, constants):
        return None
    n = len(have)
    if config.task_object_sources != objects or (destinations[:n], constants[:n]) != (have, have_constants):
        raise ValueError(
            f"--objects.task_choice: the policy chooses among objects {list(config.task_object_sources)} and "
            f"destinations {list(have)} (constants {list(have_constants)}), which the training data's "
            f"{list(objects)} and {list(destinations)} (constants {list(constants)}) do not extend"
        )
    return destinations[n:], constants[n:]
