"""Success predicates on hand-made states, and layouts that respect the task's constraints."""

import numpy as np
import pytest

from sim.scene import BOWL_COLOURS, CUBE_COLOURS, CUBE_HALF
from sim.tasks import SUITES, PickTask, PlaceTask, PushTask, SceneState, StackTask, get_task
from sim.tasks.base import CUBE_SPACING_M, REACH_RADIUS_M
from sim.tasks.push import PushAwayTask, in_away_lane, in_push_lane

COLOURS = tuple(CUBE_COLOURS)


def table_state(**overrides) -> SceneState:
    """All cubes resting on the table, apart, untouched; `overrides` replace cube positions."""
    cube_pos = {c: np.array([0.2, -0.15 + 0.1 * i, CUBE_HALF]) for i, c in enumerate(COLOURS)}
    cube_pos.update({c: np.asarray(p, float) for c, p in overrides.items()})
    return SceneState(
        cube_pos=cube_pos,
        bowl_pos={"white": np.array([0.2, 0.15, 0.0]), "purple": np.array([0.25, -0.15, 0.0])},
        cube_touching_gripper={c: False for c in COLOURS},
        cube_grasped={c: False for c in COLOURS},
    )


def test_suite_covers_four_families_with_at_least_eight_tasks():
    tasks = SUITES["tabletop"]
    assert len(tasks) >= 8
    assert {t.family for t in tasks} == {"pick", "place", "push", "stack"}
    for task in tasks:
        assert len(task.train_templates) >= 3
        assert len(task.heldout_templates) >= 2
        assert not set(task.train_templates) & set(task.heldout_templates)


def test_instruction_names_the_objects():
    task = PlaceTask.create("red", "white")
    rng = np.random.default_rng(0)
    for _ in range(10):
        text = task.instruction(rng, "train")
        assert "red" in text and "white" in text
    heldout = {task.instruction(rng, "heldout") for _ in range(20)}
    assert heldout <= {t.format(cube="red", bowl="white") for t in task.heldout_templates}
    with pytest.raises(ValueError, match="heldout"):
        task.instruction(rng, "test")


def test_a_colour_the_scene_cannot_hold_fails_listing_what_is_allowed():
    with pytest.raises(ValueError, match=r"'purple'.*cube: red, green, blue, yellow; bowl: white, purple"):
        get_task("pick_purple_cube")  # the tabletop scene has no purple cube


def test_pick_predicate():
    task = PickTask.create("red")
    lifted = table_state(red=[0.2, 0.0, CUBE_HALF + 0.06])
    lifted.cube_grasped["red"] = True
    assert task.is_success(lifted)
    assert not task.is_success(table_state())  # on the table
    dropped = table_state(red=[0.2, 0.0, CUBE_HALF + 0.06])  # in the air but not held (falling)
    assert not task.is_success(dropped)
    other = table_state(green=[0.2, 0.0, CUBE_HALF + 0.06])
    other.cube_grasped["green"] = True
    assert not task.is_success(other)  # wrong cube


def test_place_predicate():
    task = PlaceTask.create("red", "white")
    inside = table_state(red=[0.21, 0.16, CUBE_HALF + 0.004])
    assert task.is_success(inside)
    inside.cube_touching_gripper["red"] = True
    assert not task.is_success(inside)  # still held
    assert not task.is_success(table_state(red=[0.25, -0.15, CUBE_HALF + 0.004]))  # wrong bowl
    assert not task.is_success(table_state(red=[0.2, 0.24, CUBE_HALF]))  # beside the bowl
    assert not task.is_success(table_state(red=[0.2, 0.15, 0.08]))  # hovering above it


def test_push_predicate():
    left, right = PushTask.create("yellow", "left"), PushTask.create("yellow", "right")
    pushed_left = table_state(yellow=[0.2, 0.13, CUBE_HALF])
    assert left.is_success(pushed_left) and not right.is_success(pushed_left)
    assert right.is_success(table_state(yellow=[0.2, -0.13, CUBE_HALF]))
    assert not left.is_success(table_state(yellow=[0.2, 0.02, CUBE_HALF]))  # not far enough
    carried = table_state(yellow=[0.2, 0.13, 0.08])
    assert not left.is_success(carried)  # lifted, not pushed


def test_push_away_predicate():
    away = PushAwayTask.create("yellow")
    assert away.is_success(table_state(yellow=[0.27, 0.02, CUBE_HALF]))
    assert not away.is_success(table_state(yellow=[0.22, 0.02, CUBE_HALF]))  # not far enough out
    assert not away.is_success(table_state(yellow=[0.27, 0.02, 0.08]))  # lifted, not pushed
    assert not PushTask.create("yellow", "left").is_success(table_state(yellow=[0.27, 0.02, CUBE_HALF]))
    assert away.slots["side"] == "away" and away.instruction(np.random.default_rng(0)).count("yellow") == 1


def test_stack_predicate():
    task = StackTask.create("blue", "red")
    base = np.array([0.2, 0.0, CUBE_HALF])
    stacked = table_state(red=base, blue=base + [0.004, -0.003, 2 * CUBE_HALF])
    assert task.is_success(stacked)
    stacked.cube_touching_gripper["blue"] = True
    assert not task.is_success(stacked)  # not released
    assert not task.is_success(table_state(red=base, blue=base + [0.03, 0, 2 * CUBE_HALF]))  # overhanging
    assert not task.is_success(table_state(red=base, blue=base + [0.1, 0, 0]))  # side by side
    reversed_stack = table_state(blue=base, red=base + [0, 0, 2 * CUBE_HALF])
    assert not task.is_success(reversed_stack)
    with pytest.raises(ValueError):
        StackTask.create("red", "red")


def held(state: SceneState, colour: str) -> SceneState:
    state.cube_grasped[colour] = state.cube_touching_gripper[colour] = True
    return state


def test_stack_progress_names_where_a_carry_stopped():
    task = StackTask.create("blue", "red")
    base = np.array([0.2, 0.0, CUBE_HALF])
    stage = lambda state: task.stage_names()[task.progress(state)]  # noqa: E731
    assert task.stage_names() == ("start", "grasped", "lifted", "over the base", "success")
    assert stage(table_state(red=base)) == "start"
    assert stage(held(table_state(red=base), "blue")) == "grasped"  # held, still on the table
    assert stage(held(table_state(red=base, blue=[0.25, 0.05, 0.06]), "blue")) == "lifted"
    above = held(table_state(red=base, blue=base + [0.005, 0.0, 2 * CUBE_HALF + 0.01]), "blue")
    assert stage(above) == "over the base"
    beside = held(table_state(red=base, blue=base + [0.03, 0.0, 2 * CUBE_HALF + 0.01]), "blue")
    assert stage(beside) == "lifted"  # high enough, 3 cm off
    assert stage(table_state(red=base, blue=base + [0.004, -0.003, 2 * CUBE_HALF])) == "success"
    # A cube that fell off the base after release is back at the start, so an episode keeps its furthest.
    assert stage(table_state(red=base, blue=base + [0.04, 0.0, 0.0])) == "start"


def test_place_and_pick_progress():
    place = PlaceTask.create("red", "white")  # the white bowl is at (0.2, 0.15)
    assert place.stage_names()[3] == "over the bowl"
    assert place.progress(held(table_state(red=[0.2, 0.15, 0.09]), "red")) == 3
    assert place.progress(held(table_state(red=[0.2, 0.0, 0.09]), "red")) == 2
    assert place.progress(table_state(red=[0.21, 0.16, CUBE_HALF + 0.004])) == 4
    pick = PickTask.create("red")
    assert pick.stage_names() == ("start", "grasped", "success")
    assert pick.progress(held(table_state(), "red")) == 1
    assert pick.progress(held(table_state(red=[0.2, 0.0, CUBE_HALF + 0.06]), "red")) == 2
    assert PushTask.create("yellow", "left").stage_names() == ("start", "success")


@pytest.mark.parametrize("task", SUITES["tabletop"] + SUITES["tabletop_push_away"], ids=lambda t: t.name)
def test_layouts_are_reachable_and_apart(task):
    for seed in range(30):
        layout = task.sample_layout(np.random.default_rng(seed), COLOURS)
        xy = np.array([c[:2] for c in layout.cubes.values()])
        assert len(xy) >= 2, "every task has distractor cubes"
        radii = np.linalg.norm(xy, axis=1)
        assert (radii >= REACH_RADIUS_M[0] - 1e-9).all() and (radii <= REACH_RADIUS_M[1] + 1e-9).all()
        gaps = np.linalg.norm(xy[:, None] - xy[None], axis=-1)[np.triu_indices(len(xy), 1)]
        assert gaps.min() >= CUBE_SPACING_M - 1e-9
        assert task.slots["cube"] in layout.cubes
        if task.family == "place":
            assert set(layout.bowls) == set(BOWL_COLOURS)
        if task.family == "push":
            start = np.array(layout.cubes[task.slots["cube"]][:2])
            for colour, (x, y, _) in layout.cubes.items():
                if colour != task.slots["cube"]:
                    assert not in_push_lane(start, np.array([x, y]), task.sign), f"{colour} blocks the push"
        if task.family == "push_away":
            start = np.array(layout.cubes[task.slots["cube"]][:2])
            others = [np.array(c[:2]) for colour, c in layout.cubes.items() if colour != task.slots["cube"]]
            assert not any(in_away_lane(start, xy) for xy in others), "a cube blocks the push away"
