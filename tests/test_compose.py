"""Composed tasks, the `tabletop_compose` suite's splits, its varied scenes, and that training data never
holds a held-out composition or paraphrase."""

import numpy as np
import pytest

from sim.palette import BOWL_PALETTE, COLOUR_NAMES, CUBE_PALETTE
from sim.tasks import AbsentTask, HeldOutError, TaskNameError, all_compositions, get_suite, get_task
from sim.tasks.compose import SIDES, compose

COMPOSE = "tabletop_compose"


@pytest.fixture(scope="module")
def suite():
    return get_suite(COMPOSE)


@pytest.fixture(scope="module")
def physics_env():
    from sim.env import TabletopEnv

    env = TabletopEnv(suite=COMPOSE, render_mode=None, pixels=False)
    yield env
    env.close()


# ----- names -----
def test_every_composition_parses_back_to_itself(suite):
    every = all_compositions(suite.cube_colours, suite.bowl_colours)
    assert len(every) == 6 + 6 * 3 + 6 + 6 * 2 + 6 * 5  # pick, place, push_away, push, stack
    for task in every:
        assert suite.task(task.name) == task
    assert get_task("stack_red_cube_on_blue_cube", COMPOSE).slots == {"cube": "red", "base": "blue"}
    assert compose("push", cube="orange", side="left").name == "push_orange_cube_left"
    assert get_task("push_red_cube_away").family == "push_away"  # not a push to a side named "away"
    assert len(suite.tasks("train")) + len(suite.tasks("heldout")) == 66  # push_away is not composed here


@pytest.mark.parametrize(
    ("name", "suite_name", "message"),
    [
        ("pick_orange_cube", "tabletop", r"cube colour 'orange'.*cube: red, green, blue, yellow;"),
        ("pick_pink_cube", COMPOSE, r"cube colour 'pink'.*cube: red, green, blue, yellow, orange, purple"),
        ("place_red_cube_in_green_bowl", COMPOSE, r"bowl colour 'green'.*bowl: white, purple, black"),
        ("push_red_cube_up", COMPOSE, r"side 'up'.*side: left, right"),
        ("stack_red_cube_on_red_cube", COMPOSE, r"stacked on itself"),
        (
            "lift_red_cube",
            COMPOSE,
            r"does not parse; tasks: pick_<cube>_cube; place_<cube>_cube_in_<bowl>_bowl",
        ),
        ("absent_pick_red_cube", "tabletop", r"need a suite whose contents vary"),
        ("absent_absent_pick_red_cube", COMPOSE, r"does not parse"),
    ],
)
def test_bad_names_fail_in_one_line_listing_what_is_allowed(name, suite_name, message):
    with pytest.raises(TaskNameError, match=message) as error:
        get_task(name, suite_name)
    assert "\n" not in str(error.value)


def test_absent_task_wraps_the_composition(suite):
    task = suite.task("absent_place_red_cube_in_white_bowl")
    assert isinstance(task, AbsentTask) and task.inner == suite.task("place_red_cube_in_white_bowl")
    assert task.family == "place" and task.missing_choices() == ("cube", "bowl")


# ----- splits -----
def test_heldout_split_is_a_quarter_and_training_covers_every_word(suite):
    train, heldout = suite.tasks("train"), suite.tasks("heldout")
    assert not {t.name for t in train} & {t.name for t in heldout}
    assert len(heldout) >= (len(train) + len(heldout)) / 4
    assert {t.family for t in train} == {"pick", "place", "push", "stack"}
    assert {t.slots["cube"] for t in train} == set(CUBE_PALETTE)
    assert {t.slots["base"] for t in train if "base" in t.slots} == set(CUBE_PALETTE)
    assert {t.slots["bowl"] for t in train if "bowl" in t.slots} == set(BOWL_PALETTE)
    assert {t.slots["side"] for t in train if "side" in t.slots} == set(SIDES)
    for family in ("pick", "place", "push", "stack"):  # each family has training and held-out members
        assert any(t.family == family for t in train) and any(t.family == family for t in heldout)
    assert {t.name for t in get_suite("tabletop").tasks()} <= {t.name for t in train}
    assert [t.name for t in suite.tasks("absent")] == [f"absent_{t.name}" for t in train]


def test_split_of_and_unknown_split(suite):
    assert suite.split_of("push_yellow_cube_right") == "heldout"
    assert suite.split_of("push_yellow_cube_left") == "train"
    assert suite.split_of("absent_pick_red_cube") == "absent"
    assert suite.split_of("absent_pick_blue_cube") == "composed"  # absent version of a held-out one
    with pytest.raises(KeyError, match="no split 'heldout'; its splits: train"):
        get_suite("tabletop").tasks("heldout")


# ----- nothing made for training holds a held-out composition or paraphrase -----
def test_training_task_lists_hold_nothing_held_out(suite):
    from vla.training.stream import StreamConfig, stream_tasks, suite_instructions

    heldout = {t.name for t in suite.tasks("heldout")}
    for share in (0.0, 0.15, 0.5):
        names = suite.training_tasks(share)
        assert not set(names) & heldout
        assert not {n.removeprefix("absent_") for n in names} & heldout
        absent = sum(n.startswith("absent_") for n in names)
        assert absent / len(names) == pytest.approx(share, abs=0.02)
    streamed = stream_tasks(StreamConfig(suite=COMPOSE, absent_share=0.2))
    assert not {n.removeprefix("absent_") for n in streamed} & heldout
    assert sum(n.startswith("absent_") for n in streamed) / len(streamed) == pytest.approx(0.2, abs=0.02)
    assert not set(suite_instructions(COMPOSE)) & suite.heldout_instructions()


def test_a_stream_s_cycle_holds_every_absent_object_task_at_any_share_spread_through_it(suite):
    """At a share of 0.15 a finite list holds 8 of the 44 absent-object tasks; the stream's cycle holds all
    of them and every training composition, and no stretch of a quarter of the cycle lacks either kind."""
    train = {t.name for t in suite.tasks("train")}
    absent = {t.name for t in suite.tasks("absent")}
    assert len(set(suite.training_tasks(0.15)) & absent) < len(absent)
    for share in (0.05, 0.15, 0.5, 0.8):
        cycle = suite.training_cycle(share)
        assert set(cycle) == train | absent
        assert sum(n in absent for n in cycle) / len(cycle) == pytest.approx(share, abs=0.01)
        quarter = len(cycle) // 4
        for start in range(0, len(cycle) - quarter, quarter):
            window = cycle[start : start + quarter]
            assert any(n in absent for n in window) and any(n in train for n in window)
    assert suite.training_cycle(0.0) == suite.training_tasks(0.0)


def test_every_training_path_refuses_held_out_data(suite, tmp_path):
    from vla.record_arrays import ExpertJob
    from vla.training.frames import DatasetArrays, save_arrays

    for name in ("pick_blue_cube", "absent_pick_blue_cube"):
        with pytest.raises(HeldOutError, match="held out"):
            ExpertJob(COMPOSE, name, 100_000, 1)
    with pytest.raises(HeldOutError, match="paraphrases"):
        ExpertJob(COMPOSE, "pick_red_cube", 100_000, 1, instructions="heldout")
    with pytest.raises(HeldOutError, match="paraphrases"):
        ExpertJob("tabletop", "pick_red_cube", 100_000, 1, instructions="heldout")
    ExpertJob(COMPOSE, "absent_pick_red_cube", 100_000, 1)  # a training one is accepted

    leaked = "pick up the blue cube"  # a training template of the held-out pick_blue_cube
    arrays = DatasetArrays(
        np.zeros((1, 6), np.float32),
        np.zeros((1, 6), np.float32),
        np.zeros(1, np.int64),
        np.ones(1, np.int64),
        [leaked],
        {"observation.images.front": np.zeros((1, 8, 8, 3), np.uint8)},
    )
    with pytest.raises(HeldOutError, match="held-out instruction"):
        save_arrays(arrays, tmp_path / "cache", 30, suite=COMPOSE)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("suite_name", ["tabletop", COMPOSE, "tabletop_push_away"])
def test_push_away_paraphrases_are_held_out_in_every_suite(suite_name):
    """The new skill's held-out paraphrases stay out of training data in every suite's scene."""
    suite = get_suite(suite_name)
    suite.check_training_instructions(["push the red cube away from you"], "data")  # a training template
    with pytest.raises(HeldOutError, match="held-out instruction"):
        suite.check_training_instructions(["nudge the red cube further away"], "data")


def test_vla_record_refuses_held_out_before_writing(tmp_path, capsys):
    from vla.cli import main

    root = tmp_path / "ds"
    for extra, message in (
        (["--task", "stack_green_cube_on_blue_cube"], "is held out of tabletop_compose"),
        (["--instructions", "heldout"], "held-out paraphrases stay out"),
        (["--arrays", "--task", "absent_push_red_cube_right"], "is held out of tabletop_compose"),
    ):
        assert main(["record", "--source", "expert", "--suite", COMPOSE, "--root", str(root), *extra]) != 0
        assert message in capsys.readouterr().err
        assert not root.exists()


def test_a_streamed_episode_is_a_training_one(suite):
    """A real expert job of the suite (rendered), as the training stream and frame caches run them."""
    from vla.record_arrays import ExpertJob, run_expert_job

    (episode,) = run_expert_job(ExpertJob(COMPOSE, "pick_orange_cube", 100_000, 1))
    assert episode["task"] not in suite.heldout_instructions()
    assert episode["environment_state"].shape[1] == 7 * 6 + 8
    assert episode["images"]["observation.images.front"].dtype == np.uint8


# ----- varied scenes -----
def _contents(env):
    state = env.scene_state()
    return set(state.cube_pos), set(state.bowl_pos)


def test_varied_layouts_follow_the_rules(suite, physics_env):
    counts = {"cubes": set(), "bowls": set()}
    for seed, task in enumerate(list(suite.tasks("train")) * 2):
        physics_env.reset(seed=seed, options={"task": task.name})
        cubes, bowls = _contents(physics_env)
        counts["cubes"].add(len(cubes))
        counts["bowls"].add(len(bowls))
        assert 2 <= len(cubes) <= 5 and len(bowls) <= 2
        assert cubes <= set(CUBE_PALETTE) and bowls <= set(BOWL_PALETTE)
        assert set(task.named_cubes()) <= cubes and set(task.named_bowls()) <= bowls
        assert len(cubes) > len(task.named_cubes())  # a distractor cube besides the named ones
        if task.family == "place":
            assert len(bowls) == 2  # a distractor bowl
        for pos in physics_env.scene_state().cube_pos.values():
            assert pos[2] == pytest.approx(0.015)  # every reported cube is on the table
    assert counts["cubes"] == {2, 3, 4, 5} and counts["bowls"] == {0, 1, 2}


def test_absent_layouts_leave_a_named_object_out(suite, physics_env):
    missing = set()
    for seed, task in enumerate(suite.tasks("absent")):
        physics_env.reset(seed=seed, options={"task": task.name})
        cubes, bowls = _contents(physics_env)
        gone = [
            k for k, c in task.slots.items() if k != "side" and c not in (bowls if k == "bowl" else cubes)
        ]
        assert len(gone) == 1, (task.name, cubes, bowls)
        missing.add(gone[0])
        assert len(cubes) >= 2
    assert missing == {"cube", "bowl", "base"}


def test_pool_bodies_take_the_episode_colours(physics_env):
    physics_env.reset(seed=3, options={"task": "place_orange_cube_in_black_bowl"})
    model, objects = physics_env.model, physics_env.objects
    for body, colour in objects.cube_bodies():
        np.testing.assert_allclose(
            model.geom_rgba[objects.cube_geom[body], :3], CUBE_PALETTE[colour], atol=1e-6
        )
    for body, colour in objects.bowl_bodies():
        rgb = model.geom_rgba[objects.bowl_geoms[body], :3]  # (13, 3): base and walls
        np.testing.assert_allclose(rgb - np.array(BOWL_PALETTE[colour]), 0.0, atol=1e-6)
    parked = [i for i, c in enumerate(objects.cube_colour) if c is None]
    for body in parked:
        assert physics_env.objects.cube_pose(physics_env.data, body)[0][2] < -0.5


def test_parked_bodies_are_not_drawn_and_come_back_when_placed(physics_env):
    from sim.objects import PARKED_GEOM_GROUP

    model, objects = physics_env.model, physics_env.objects
    drawn = lambda geoms: bool(np.all(model.geom_group[geoms] <= 2))  # noqa: E731  (default visual option)
    seen_parked = seen_placed_after_parked = False
    was_parked: set[int] = set()
    for seed in range(8):  # layouts of 2-5 cubes and 0-2 bowls: bodies go from parked to placed and back
        physics_env.reset(seed=seed, options={"task": "pick_red_cube"})
        for body, colour in enumerate(objects.cube_colour):
            geom = objects.cube_geom[body]
            if colour is None:
                assert model.geom_group[geom] == PARKED_GEOM_GROUP
                seen_parked = True
            else:
                assert drawn(geom)
                seen_placed_after_parked |= ("cube", body) in was_parked
        for body, colour in enumerate(objects.bowl_colour):
            assert drawn(objects.bowl_geoms[body]) == (colour is not None)
        was_parked = {("cube", b) for b, c in enumerate(objects.cube_colour) if c is None}
    assert seen_parked and seen_placed_after_parked


def test_light_and_table_tint_vary_per_episode(physics_env):
    table = physics_env.model.geom("table").id
    key = physics_env.model.light("key").id
    seen = set()
    for seed in range(4):
        physics_env.reset(seed=seed, options={"task": "pick_red_cube"})
        seen.add(
            (
                tuple(physics_env.model.geom_rgba[table].round(4)),
                float(physics_env.model.light_diffuse[key][0]),
            )
        )
    assert len(seen) == 4


def test_same_seed_same_varied_scene(physics_env):
    first = physics_env.reset(seed=11)[0]["environment_state"]
    task = physics_env.task
    again = physics_env.reset(seed=11)[0]["environment_state"]
    assert physics_env.task == task
    np.testing.assert_array_equal(first, again)


# ----- environment state -----
def test_object_entries_describe_the_scene(physics_env):
    from sim.environment_state import OBJECT_FIELDS

    obs, _ = physics_env.reset(seed=5, options={"task": "stack_green_cube_on_yellow_cube"})
    state = obs["environment_state"]
    names = physics_env.environment_state_names
    assert state.shape == (len(names),) == (7 * len(OBJECT_FIELDS) + 8,)
    entries = state[: 7 * 6].reshape(7, 6)
    scene = physics_env.scene_state()
    present = entries[entries[:, 0] == 1]
    assert len(present) == len(scene.cube_pos) + len(scene.bowl_pos)
    assert not entries[entries[:, 0] == 0].any()  # padding is all zeros
    for row in present:
        kind, colour = ("cube", "bowl")[int(row[1])], COLOUR_NAMES[int(row[2])]
        expected = scene.cube_pos[colour] if kind == "cube" else scene.bowl_pos[colour]
        np.testing.assert_allclose(row[3:], expected, atol=1e-6)
    obj, dest = (
        int(state[names.index("task_object.entry")]),
        int(state[names.index("task_destination.entry")]),
    )
    assert COLOUR_NAMES[int(entries[obj, 2])] == "green" and COLOUR_NAMES[int(entries[dest, 2])] == "yellow"
    np.testing.assert_allclose(state[names.index("task_object.x") :][:3], scene.cube_pos["green"], atol=1e-6)


def test_object_entries_mark_an_absent_object(physics_env):
    obs, _ = physics_env.reset(seed=0, options={"task": "absent_pick_red_cube"})
    names = physics_env.environment_state_names
    assert obs["environment_state"][names.index("task_object.entry")] == -1
    assert not obs["environment_state"][names.index("task_object.x") :][:3].any()


# ----- touch nothing when nothing matches -----
def test_absent_episode_succeeds_holding_still_for_the_whole_limit(physics_env):
    from sim.rollout import ExpertRunner

    episode = ExpertRunner(physics_env).run_episode(2, task="absent_push_green_cube_right")
    assert episode.success and episode.steps == physics_env.max_episode_steps


def test_absent_episode_fails_at_once_when_an_object_moves(physics_env):
    from sim.env import HOME_POSE

    physics_env.reset(seed=1, options={"task": "absent_pick_red_cube"})
    hold = HOME_POSE.copy()
    *_, terminated, truncated, info = physics_env.step(hold)
    assert not (terminated or truncated)
    body, _ = physics_env.objects.cube_bodies()[0]
    physics_env.data.qpos[physics_env.objects.cube_qpos[body]] += 0.02  # 2 cm along x
    *_, terminated, truncated, info = physics_env.step(hold)
    assert terminated and not truncated and not info["is_success"]


@pytest.mark.parametrize(
    "task",
    [
        "pick_orange_cube",
        "place_purple_cube_in_white_bowl",
        "push_blue_cube_left",
        "stack_red_cube_on_blue_cube",
    ],
)
def test_expert_succeeds_in_varied_scenes(physics_env, task):
    from sim.rollout import ExpertRunner

    assert ExpertRunner(physics_env).run_episode(4, task=task).success


# ----- evaluation by split -----
def test_eval_records_split_and_families(tmp_path):
    from vla.evaluation.runner import EvalConfig, run_evaluation

    config = EvalConfig(
        policy="expert",
        suite=COMPOSE,
        split="absent",
        tasks=("absent_pick_red_cube",),
        episodes_per_task=1,
        workers=1,
        out=tmp_path,
        videos=False,
    )
    info = run_evaluation(config)
    assert info["split"] == "absent" and info["suite"] == COMPOSE
    assert info["per_family"]["pick"]["n_episodes"] == 1 and info["aggregated"]["successes"] == 1


def test_bowls_drawn_with_fewer_stacks_look_the_same(monkeypatch):
    """The compose scene draws cylinders with COMPOSE_CYLINDER_STACKS (faster on llvmpipe); its frames differ
    from MuJoCo's default 16 stacks by at most one level of 255 (in up to ~5 % of the pixels, the shading of
    the bowls' discs), and the 8-task scene keeps 16."""
    import sim.scene
    from sim.env import TabletopEnv

    def frames() -> tuple[list[np.ndarray], int]:
        env = TabletopEnv(task="place_red_cube_in_white_bowl", suite="tabletop_compose")
        try:
            images, bowls = [], 0
            for seed in range(3):
                observation, _ = env.reset(seed=seed)
                bowls += sum(colour is not None for colour in env.objects.bowl_colour)
                images += [
                    observation["pixels"][camera].astype(int) for camera in sorted(observation["pixels"])
                ]
            return images, int(env.model.vis.quality.numstacks)
        finally:
            env.close()

    coarse, stacks = frames()
    assert stacks == sim.scene.COMPOSE_CYLINDER_STACKS < 16
    monkeypatch.setattr(sim.scene, "COMPOSE_CYLINDER_STACKS", 16)
    fine, _ = frames()
    assert max(np.abs(a - b).max() for a, b in zip(coarse, fine, strict=True)) == 1  # drawn, barely changed
    tabletop = TabletopEnv(task="pick_red_cube")
    try:
        assert tabletop.model.vis.quality.numstacks == 16
    finally:
        tabletop.close()
