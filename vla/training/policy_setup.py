"""The policy a run trains: a fresh one, or --init's with its normalisation checked against the data,
and the heads and options its training asks for (environment state, grounding, task choice)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from vla.models.checkpoint import PolicyBundle
from vla.models.configuration_vla import VLAConfig, preset
from vla.models.modeling_vla import VLAModel
from vla.models.normalization import Normalization, RangeNormalizer
from vla.models.task_choice import task_choice_sources
from vla.tokenization import BinningActionTokenizer, BinningConfig
from vla.tokenization.text import build_word_tokenizer
from vla.training.ranges import with_data_ranges
from vla.training.train_config import TrainConfig


def model_config(cfg: TrainConfig) -> VLAConfig:
    """The preset, pointed at --backbone when one is given."""
    return preset(cfg.preset, **({"backbone_path": str(cfg.backbone)} if cfg.backbone else {}))


def fresh_bundle(config: VLAConfig, instructions: list[str], normalization: Normalization) -> PolicyBundle:
    """An untrained policy for a dataset with these instructions and this normalisation."""
    if config.backbone_path:
        from tokenizers import Tokenizer

        text_tokenizer = Tokenizer.from_file(str(Path(config.backbone_path) / "tokenizer.json"))
    else:  # a word vocabulary from the instructions the dataset actually holds
        text_tokenizer = build_word_tokenizer(instructions)
    model = VLAModel(config, text_tokenizer.get_vocab_size())
    action_tokenizer = BinningActionTokenizer(BinningConfig(config.n_action_bins, config.action_dim))
    return PolicyBundle(config, model, normalization, text_tokenizer, action_tokenizer)


def with_environment_head(
    bundle: PolicyBundle,
    data: Normalization,
    weight: float,
    token: bool = False,
    grounding_dims: int = 0,
    task_choice_names: list[str] | None = None,
    fixed_destinations: tuple[tuple[float, float, float], ...] = (),
    arm_frame: bool = False,
) -> PolicyBundle:
    """With an auxiliary weight > 0: the bundle with the heads its training asks for, added to
    `bundle.model` in place when missing: the image-token head on the scene part of the environment state,
    the `objects` token (`token`), the grounding query on its last `grounding_dims` values and, given the
    environment state's names (`task_choice_names`), the task choice (vla/models/task_choice.py) with
    `fixed_destinations` (x, y, z in m) among its destinations; a policy whose choice lacks some of them
    gets them appended; with `arm_frame`, the token's bearing-and-reach features
    (vla/models/arm_frame.py). The state's normalisation is the policy's own where it has one, else the
    training data's (`data`)."""
    if (token or grounding_dims or task_choice_names is not None or arm_frame) and weight <= 0:
        raise ValueError(
            "--environment-state-token, --grounding-dims, --task-choice and --arm-frame-features need "
            "--environment-state-weight > 0 (their heads are trained)"
        )
    if weight <= 0:
        return bundle
    if data.environment_state is None:
        raise ValueError(
            "--environment-state-weight: the training data has no observation.environment_state (record it "
            "from the simulator: vla record --source expert, or train with --stream-expert)"
        )
    theirs, ours = data.environment_state, bundle.normalization.environment_state
    dim = len(theirs.low)
    config = bundle.config
    grounding = grounding_dims or config.grounding_dims
    scene = dim - grounding
    model = bundle.model
    head = model.environment_head
    if head is not None and head.proj.out_features != scene:
        raise ValueError(
            f"the policy's environment-state head has {head.proj.out_features} outputs; the data's {dim} "
            f"values less {grounding} named by the instruction leave {scene}"
        )
    if ours is None:
        ours = theirs
    elif len(ours.low) == scene < dim:  # a scene-only policy gets grounding: the data's ranges for it
        ours = RangeNormalizer(
            np.concatenate([ours.low, theirs.low[scene:]]), np.concatenate([ours.high, theirs.high[scene:]])
        )
    elif len(ours.low) != dim:
        raise ValueError(
            f"the policy normalises {len(ours.low)} environment-state values, the data has {dim}"
        )
    config = replace(
        config,
        environment_state_dim=dim,
        environment_state_token=config.environment_state_token or token,
        grounding_dims=grounding,
        arm_frame_features=config.arm_frame_features or arm_frame,
    )
    added_destinations = None  # (sources, constants) appended to a trained choice
    if task_choice_names is not None:
        if len(task_choice_names) != dim:
            raise ValueError(
                f"--task-choice: {len(task_choice_names)} environment-state names for {dim} values"
            )
        objects, destinations, constants = task_choice_sources(task_choice_names, fixed_destinations)
        if config.task_choice:
            added_destinations = destinations_to_add(config, objects, destinations, constants)
        if not config.task_choice or added_destinations:
            config = replace(
                config,
                task_object_sources=objects,
                task_destination_sources=destinations,
                task_destination_constants=constants,
            )
    model.config = config
    if model.environment_head is None:
        model.add_environment_head(scene)
    if config.environment_state_token and model.environment_proj is None:
        model.add_environment_token()
    if grounding and model.grounding_head is None:
        model.add_grounding_head(grounding)
    if config.task_choice and model.task_choice is None:
        model.add_task_choice(ours.low, ours.high)
    elif added_destinations:
        model.task_choice.add_destinations(*added_destinations)
    if config.arm_frame_features and model.arm_frame is None:
        model.add_arm_frame(ours.low, ours.high)
    normalization = replace(bundle.normalization, environment_state=ours)
    return replace(bundle, config=config, normalization=normalization)


def fine_tuning_bundle(
    initial: PolicyBundle,
    data: Normalization,
    state_names: list[str] | tuple[str, ...] | None,
    action_names: list[str] | tuple[str, ...] | None,
    widen: bool,
) -> PolicyBundle:
    """`initial` with its normalisation checked against the data's, or widened to it (training/ranges.py)."""
    normalization = with_data_ranges(
        initial.normalization,
        data,
        tuple(state_names) if state_names else None,
        tuple(action_names) if action_names else None,
        widen,
    )
    return replace(initial, normalization=normalization)


def with_instruction_via_choice(bundle: PolicyBundle, via_choice: bool) -> PolicyBundle:
    """The bundle whose language model no longer sees the sentence and word tokens (`via_choice`), so the
    instruction reaches the actions through the task choice only; a policy trained that way keeps it."""
    if not via_choice or bundle.config.instruction_via_choice:
        return bundle
    config = replace(bundle.config, instruction_via_choice=True)  # refused without a task choice
    bundle.model.config = config
    return replace(bundle, config=config)


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
            f"--task-choice: the policy chooses among objects {list(config.task_object_sources)} and "
            f"destinations {list(have)} (constants {list(have_constants)}), which the training data's "
            f"{list(objects)} and {list(destinations)} (constants {list(constants)}) do not extend"
        )
    return destinations[n:], constants[n:]
