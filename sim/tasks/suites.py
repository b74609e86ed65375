"""Task suites: the tasks, the scene they run in, and, for `tabletop_compose`, its declared splits.

- `tabletop`: the eight tasks every earlier figure used, in the fixed scene (four cubes red, green, blue,
  yellow; two bowls white, purple). Any other composition of those colours also runs in it (`pick_blue_cube`),
  outside the suite's split.
- `tabletop_push_away`: the `push_away` family (push a cube away from the robot) in the `tabletop`
  scene, one task per cube colour: the new skill of the fine-tuning loop (docs/finetune.md).
- `tabletop_compose`: every composition of six cube colours and three bowl colours (66), in scenes whose
  contents vary per episode (sim/tasks/contents.py). Its splits, declared here:
    train    the compositions not held out (44);
    heldout  `HELDOUT_COMPOSITIONS` (22, a third): every colour, bowl colour, side and family still appears
             in training, only these combinations are new;
    absent   `absent_<task>` for every training composition: the instruction names an object the scene
             does not hold, and success is touching nothing (sim/tasks/absent.py).
  Held-out paraphrases (each family's `heldout_templates`) are the `instructions="heldout"` axis, for
  every split. Nothing made for training may show a held-out composition or paraphrase:
  `check_training_task` guards every recorder and stream (vla/record_arrays.py, vla/cli_record.py).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from sim.palette import BOWL_PALETTE, CUBE_PALETTE
from sim.scene import BOWL_COLOURS, CUBE_COLOURS, SceneConfig
from sim.tasks.absent import ABSENT_PREFIX, AbsentTask
from sim.tasks.base import Task
from sim.tasks.compose import COMPOSED_FAMILIES, all_compositions, parse_task
from sim.tasks.pick import PickTask
from sim.tasks.place import PlaceTask
from sim.tasks.push import PushAwayTask, PushTask
from sim.tasks.stack import StackTask

SPLITS: tuple[str, ...] = ("train", "heldout", "absent")

# A third of the 66 compositions, chosen by a Latin-square rule over palette indices (cubes red 0, green 1,
# blue 2, yellow 3, orange 4, purple 5; bowls white 0, purple 1, black 2; sides left 0, right 1):
# pick i % 3 == 2, place and push (i + j) % 3 == 1, stack (i + j) % 3 == 0. The rule keeps the eight
# `tabletop` tasks in training and leaves every colour, bowl colour and side in training
# (tests/test_compose.py).
HELDOUT_COMPOSITIONS: tuple[str, ...] = (
    "pick_blue_cube",
    "pick_purple_cube",
    "place_red_cube_in_purple_bowl",
    "place_green_cube_in_white_bowl",
    "place_blue_cube_in_black_bowl",
    "place_yellow_cube_in_purple_bowl",
    "place_orange_cube_in_white_bowl",
    "place_purple_cube_in_black_bowl",
    "push_red_cube_right",
    "push_green_cube_left",
    "push_yellow_cube_right",
    "push_orange_cube_left",
    "stack_red_cube_on_yellow_cube",
    "stack_green_cube_on_blue_cube",
    "stack_green_cube_on_purple_cube",
    "stack_blue_cube_on_green_cube",
    "stack_blue_cube_on_orange_cube",
    "stack_yellow_cube_on_red_cube",
    "stack_orange_cube_on_blue_cube",
    "stack_orange_cube_on_purple_cube",
    "stack_purple_cube_on_green_cube",
    "stack_purple_cube_on_orange_cube",
)


class HeldOutError(ValueError):
    """Training data asked for a held-out composition or paraphrase."""


@dataclass(frozen=True)
class Suite:
    """A named set of tasks with the scene contents they run in and their splits (module docstring)."""

    name: str
    cube_colours: tuple[str, ...]  # the colours the scene can hold (a palette, when the scene varies)
    bowl_colours: tuple[str, ...]
    splits: dict[str, tuple[Task, ...]] = field(default_factory=dict)
    cube_slots: int = 0  # > 0: the scene's contents vary (sim/scene.py SceneConfig)
    bowl_slots: int = 0
    absent_share: float = 0.0  # default share of absent-object episodes in training data

    @property
    def varied(self) -> bool:
        return self.cube_slots > 0

    def scene_config(self, base: SceneConfig | None = None) -> SceneConfig:
        """`base` (render size, camera, physics settings) with this suite's objects."""
        return dataclasses.replace(
            base or SceneConfig(),
            cube_colours=self.cube_colours,
            bowl_colours=self.bowl_colours,
            cube_slots=self.cube_slots,
            bowl_slots=self.bowl_slots,
            appearance_jitter=self.varied,
        )

    def tasks(self, split: str = "train") -> tuple[Task, ...]:
        if split not in self.splits:
            raise KeyError(
                f"suite {self.name!r} has no split {split!r}; its splits: {', '.join(self.splits)}"
            )
        return self.splits[split]

    def task(self, name: str) -> Task:
        """Any composition this suite's scene can hold, parsed (TaskNameError listing what is allowed)."""
        return parse_task(name, self.cube_colours, self.bowl_colours, absent=self.varied)

    def split_of(self, name: str) -> str:
        """The split a task name belongs to, or "composed" for a valid task outside every split."""
        task = self.task(name)
        for split, tasks in self.splits.items():
            if any(t.name == task.name for t in tasks):
                return split
        return "composed"

    def checked_absent_share(self, absent_share: float | None) -> float:
        """`absent_share`, or the suite's when None; ValueError outside [0, 1)."""
        share = self.absent_share if absent_share is None else absent_share
        if not 0.0 <= share < 1.0:
            raise ValueError(f"absent-object share must be in [0, 1), got {share}")
        return share

    def training_tasks(self, absent_share: float | None = None) -> tuple[str, ...]:
        """Task names for training data: the train split, plus absent-object tasks (of training
        compositions) in number so they are `absent_share` of the list (default: the suite's)."""
        share = self.checked_absent_share(absent_share)
        train = [t.name for t in self.tasks("train")]
        if share == 0.0:
            return tuple(train)
        absent = [t.name for t in self.tasks("absent")]
        count = max(1, round(len(train) * share / (1.0 - share)))
        return tuple(train + [absent[k * len(absent) // count] for k in range(count)])

    def training_cycle(self, absent_share: float | None = None) -> tuple[str, ...]:
        """Task names an endless stream of training episodes cycles through: every training composition and
        every absent-object task at least once, the shorter list repeated so that absent-object tasks are
        `absent_share` of the cycle (default: the suite's), and the two interleaved evenly.

        Why not `training_tasks`: a finite list of the training compositions holds only
        44 x 0.25 / 0.75 = 15 of the 44 absent-object tasks at a share of 0.25. A pointer streamed on those
        refused 80 % of first frames of them and 21 % of the other 29 (`bench/abstain_first_frames.py`,
        docs/LOG.md, 2026-12-07 evening): it learnt which instructions come without their object, not to
        look."""
        share = self.checked_absent_share(absent_share)
        train = self.training_tasks(0.0)
        if share == 0.0:
            return train
        absent = tuple(t.name for t in self.tasks("absent"))
        scale = max(len(train) / (1.0 - share), len(absent) / share)  # the cycle's length
        train_count, absent_count = math.ceil(scale * (1.0 - share)), math.ceil(scale * share)
        entries = [((k + 0.5) / train_count, train[k % len(train)]) for k in range(train_count)]
        entries += [((k + 0.5) / absent_count, absent[k % len(absent)]) for k in range(absent_count)]
        return tuple(name for _, name in sorted(entries))

    def heldout_instructions(self) -> frozenset[str]:
        """Every instruction string no training data may show: any template of a held-out composition, and
        the held-out paraphrases of every composition the scene can hold."""
        every = all_compositions(self.cube_colours, self.bowl_colours)
        held = {t.name for t in self.splits.get("heldout", ())}
        texts = {t.format(**task.slots) for task in every for t in task.templates("heldout")}
        texts |= {
            t.format(**task.slots) for task in every if task.name in held for t in task.templates("train")
        }
        return frozenset(texts)

    def check_training_instructions(self, instructions: list[str], where: str) -> None:
        """HeldOutError naming `where` if any of `instructions` is held out (`heldout_instructions`)."""
        leaked = sorted(set(instructions) & self.heldout_instructions())
        if leaked:
            raise HeldOutError(
                f"{where}: {len(leaked)} held-out instruction(s) of {self.name}, e.g. {leaked[0]!r}"
            )

    def check_training_task(self, name: str, instructions: str = "train") -> None:
        """HeldOutError unless `name` with `instructions` may go into training data."""
        if instructions != "train":
            raise HeldOutError(
                f"instructions {instructions!r}: held-out paraphrases stay out of every recording and "
                "stream; evaluate them with `vla eval --instructions heldout`"
            )
        split = self.split_of(name)
        if split == "heldout" or (split == "composed" and name.startswith(ABSENT_PREFIX)):
            raise HeldOutError(
                f"task {name!r} is held out of {self.name}'s training data (split {split}); training "
                f"uses the train split and absent_<train task> (`vla sim list --suite {self.name} --split "
                "train`)"
            )


def _tabletop() -> Suite:
    tasks = (
        PickTask.create("red"),
        PickTask.create("green"),
        PlaceTask.create("red", "white"),
        PlaceTask.create("blue", "purple"),
        PushTask.create("yellow", "left"),
        PushTask.create("green", "right"),
        StackTask.create("blue", "red"),
        StackTask.create("yellow", "green"),
    )
    return Suite("tabletop", tuple(CUBE_COLOURS), tuple(BOWL_COLOURS), {"train": tasks})


def _tabletop_push_away() -> Suite:
    """The skill the fine-tuning loop teaches (docs/finetune.md): push_away with each cube colour, in the
    `tabletop` scene, so a policy trained on `tabletop` runs in it unchanged."""
    tasks = tuple(PushAwayTask.create(cube) for cube in CUBE_COLOURS)
    return Suite("tabletop_push_away", tuple(CUBE_COLOURS), tuple(BOWL_COLOURS), {"train": tasks})


def _tabletop_compose() -> Suite:
    cubes, bowls = tuple(CUBE_PALETTE), tuple(BOWL_PALETTE)
    every = all_compositions(cubes, bowls, COMPOSED_FAMILIES)
    held = set(HELDOUT_COMPOSITIONS)
    unknown = held - {t.name for t in every}
    if unknown:
        raise ValueError(f"HELDOUT_COMPOSITIONS names tasks the palette cannot make: {sorted(unknown)}")
    train = tuple(t for t in every if t.name not in held)
    splits = {
        "train": train,
        "heldout": tuple(t for t in every if t.name in held),
        "absent": tuple(AbsentTask.create(t) for t in train),
    }
    return Suite("tabletop_compose", cubes, bowls, splits, cube_slots=5, bowl_slots=2, absent_share=0.15)


SUITE_SPECS: dict[str, Suite] = {
    suite.name: suite for suite in (_tabletop(), _tabletop_compose(), _tabletop_push_away())
}


def get_suite(name: str) -> Suite:
    """A suite by name; unknown names fail with the list of known suites."""
    if name not in SUITE_SPECS:
        raise KeyError(f"unknown suite {name!r}; known suites: {', '.join(SUITE_SPECS)}")
    return SUITE_SPECS[name]
