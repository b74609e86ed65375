"""Grounding as a choice: which of the objects it sees the instruction names, chosen from the words.

Why: an `objects` token that shows every object's predicted position still leaves the policy to work out
which one "the red cube" is. Regressed from the images alone, the instruction's object came out ~86 mm
off (the images cannot say which cube the words mean), while the same checkpoint localised every cube to
~3 mm; copying its own predictions for the named objects into the token (`vla eval --oracle-objects
grounding`) was worth 5-9 points (docs/LOG.md, 2026-12-01). Which object is meant is a classification
over a handful of objects, not a regression: one linear map from the instruction's features picks the
object (one of the cubes) and the destination (nothing, a cube or a bowl), and the token's task values are
the predicted positions of the chosen ones, weighted by the choice's softmax so the graph stays
differentiable and exports as it is. The words-to-choice map is trained by cross-entropy on the candidate
the recorded task values copy (labels need no new data: they are read off the recorded environment state).

Candidates are index triples into the scene part of `observation.environment_state` (x, y, z; -1 reads
the candidate's constant, 0 for a bowl's z), derived once from the state's names (sim/env.py
`environment_state_names`). Destinations that are places rather than objects (the side a push goes to,
sim/env.py `fixed_destinations`) are all -1 and read their constant position: choosing "left" over
"none" is what tells a push from a pick, and "without lifting it, move the green block to the right" from
"move the red cube into the white bowl" (docs/LOG.md, 2026-12-01, late).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vla.models.normalization import MIN_SPAN

TASK_VALUES = 6  # the environment state ends with task_object.xyz, task_destination.xyz (sim/env.py)
# sim/env.py TASK_STATE_NAMES, spelled out so the model does not import the simulator (tests check both)
TASK_NAMES = tuple(f"task_{o}.{axis}" for o in ("object", "destination") for axis in "xyz")
NO_DESTINATION = (-1, -1, -1)

Sources = tuple[tuple[int, int, int], ...]
Constants = tuple[tuple[float, float, float], ...]


def metres_from_normalised(normalised: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Environment-state values (..., E) in [-1, 1] back to metres, inside the graph: the torch twin of
    `RangeNormalizer.unnormalize` (vla/models/normalization.py), `low` and `high` (E,) as buffers."""
    return (normalised.float() + 1.0) / 2.0 * (high - low).clamp(min=MIN_SPAN) + low


def task_choice_sources(
    names: Sequence[str], fixed_destinations: Sequence[Sequence[float]] = ()
) -> tuple[Sources, Sources, Constants]:
    """(object candidates, destination candidates, the destinations' constants) from environment-state
    names such as `red_cube.x`, `white_bowl.y`, ending with the six task values. Objects: every cube.
    Destinations: none, then every cube, then every bowl (its z reads 0), then each of `fixed_destinations`
    (x, y, z in m, read as they are); a constant is what a -1 source reads."""
    names = list(names)
    if tuple(names[-TASK_VALUES:]) != TASK_NAMES:
        raise ValueError(
            f"observation.environment_state names end with {names[-TASK_VALUES:]}, not {list(TASK_NAMES)}: "
            "--objects.task_choice needs the simulator's task values (sim/env.py TASK_STATE_NAMES)"
        )
    scene = names[:-TASK_VALUES]

    def triple(kind: str, colour: str) -> tuple[int, int, int]:
        return tuple(
            scene.index(f"{colour}_{kind}.{axis}") if f"{colour}_{kind}.{axis}" in scene else -1
            for axis in "xyz"
        )

    cubes = [n.removesuffix("_cube.x") for n in scene if n.endswith("_cube.x")]
    bowls = [n.removesuffix("_bowl.x") for n in scene if n.endswith("_bowl.x")]
    if not cubes:
        raise ValueError(f"observation.environment_state names hold no cube (`<colour>_cube.x`): {scene}")
    objects = tuple(triple("cube", c) for c in cubes)
    fixed = tuple(tuple(float(v) for v in xyz) for xyz in fixed_destinations)
    if any(len(xyz) != 3 for xyz in fixed):
        raise ValueError(f"fixed destinations are (x, y, z) triples, got {fixed}")
    destinations = (
        NO_DESTINATION,
        *objects,
        *(triple("bowl", b) for b in bowls),
        *(NO_DESTINATION,) * len(fixed),
    )
    constants = ((0.0, 0.0, 0.0),) * (len(destinations) - len(fixed)) + fixed
    return objects, destinations, constants


class TaskChoiceHead(nn.Module):
    """Instruction features (B, F) -> choice logits over the object and destination candidates, and the
    normalised task values (B, 6) of the chosen ones out of normalised scene values (B, S).

    `low`, `high` (E,): the environment state's normalisation (vla/models/normalization.py), buffers so
    the selection runs in metres inside the graph: unnormalise the scene, weight, normalise the task part.
    `destination_constants` (Kd, 3) metres: what a destination's -1 sources read (default 0).
    """

    def __init__(
        self,
        features: int,
        objects: Sources,
        destinations: Sources,
        low,
        high,
        destination_constants: Constants = (),
    ):
        super().__init__()
        # Sentence embeddings are unit vectors whose entries are ~0.05 and which share most of their
        # direction: normalised, every entry is ~1 and a linear map separates instructions in ~100 steps
        # at the policy's learning rate, not thousands.
        self.norm = nn.LayerNorm(features)
        self.object_logits = nn.Linear(features, len(objects))
        self.destination_logits = nn.Linear(features, len(destinations))
        self.register_buffer("object_sources", torch.as_tensor(objects, dtype=torch.long))  # (Ko, 3)
        self.register_buffer(
            "destination_sources", torch.as_tensor(destinations, dtype=torch.long)
        )  # (Kd, 3)
        constants = destination_constants or ((0.0, 0.0, 0.0),) * len(destinations)
        if len(constants) != len(destinations):
            raise ValueError(f"{len(constants)} destination constants for {len(destinations)} destinations")
        # Not in the state dict: the config holds them (older checkpoints load as they are).
        self.register_buffer(
            "destination_constants", torch.as_tensor(constants, dtype=torch.float32), persistent=False
        )  # (Kd, 3) metres
        self.register_buffer("object_constants", torch.zeros(len(objects), 3), persistent=False)  # (Ko, 3)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))  # (E,)
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32))  # (E,)

    def logits(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, Ko) object and (B, Kd) destination logits."""
        features = self.norm(features.float())
        return self.object_logits(features), self.destination_logits(features)

    def _candidates(
        self, scene_metres: torch.Tensor, sources: torch.Tensor, constants: torch.Tensor
    ) -> torch.Tensor:
        """(B, S) metres -> (B, K, 3) each candidate's x, y, z (its constant where its source is -1)."""
        values = scene_metres[:, sources.clamp(min=0)]  # (B, K, 3)
        return torch.where(sources >= 0, values, constants.to(values.dtype).expand_as(values))

    def forward(self, features: torch.Tensor, scene: torch.Tensor) -> torch.Tensor:
        """(B, F) instruction features, (B, S) normalised scene -> (B, 6) normalised task values."""
        return self.select(*self.logits(features), scene)

    def select(
        self, object_logits: torch.Tensor, destination_logits: torch.Tensor, scene: torch.Tensor
    ) -> torch.Tensor:
        """(B, Ko), (B, Kd) choice logits, (B, S) normalised scene -> (B, 6) normalised task values: the
        candidates' positions weighted by each choice's softmax."""
        scene_dims = scene.shape[1]
        metres = metres_from_normalised(scene, self.low[:scene_dims], self.high[:scene_dims])
        chosen = [
            (logits.softmax(dim=-1).unsqueeze(-1) * self._candidates(metres, sources, constants)).sum(dim=1)
            for logits, sources, constants in (
                (object_logits, self.object_sources, self.object_constants),
                (destination_logits, self.destination_sources, self.destination_constants),
            )  # each (B, 3)
        ]
        task = torch.cat(chosen, dim=1)  # (B, 6) metres
        low, high = self.low[scene_dims:], self.high[scene_dims:]
        return (task - low) / (high - low).clamp(min=MIN_SPAN) * 2.0 - 1.0

    def labels(self, environment_state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, E) recorded, normalised environment state -> (B,) object and (B,) destination index: the
        candidate whose recorded position the recorded task values copy (the nearest; ties to the first,
        so "no destination" wins over a parked cube, both at 0)."""
        metres = metres_from_normalised(environment_state, self.low, self.high)
        scene, task = metres[:, :-TASK_VALUES], metres[:, -TASK_VALUES:]
        chosen = []
        for sources, constants, target in (
            (self.object_sources, self.object_constants, task[:, :3]),
            (self.destination_sources, self.destination_constants, task[:, 3:]),
        ):
            candidates = self._candidates(scene, sources, constants)
            distance = (candidates - target.unsqueeze(1)).abs().sum(dim=-1)  # (B, K)
            chosen.append(distance.argmin(dim=1))
        return chosen[0], chosen[1]

    def loss(
        self, features: torch.Tensor, environment_state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(cross-entropy of both choices, (B,) bool: both right) against the recorded environment state."""
        object_logits, destination_logits = self.logits(features)
        object_label, destination_label = self.labels(environment_state)
        cross_entropy = F.cross_entropy(object_logits, object_label) + F.cross_entropy(
            destination_logits, destination_label
        )
        right = (object_logits.argmax(dim=1) == object_label) & (
            destination_logits.argmax(dim=1) == destination_label
        )
        return cross_entropy, right
