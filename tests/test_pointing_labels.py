"""Pointing labels (vla/training/pointing_labels.py): the recorded task positions, seen through the front
camera, give the image token each role should point at; and the pointing loss on the pointer's softmax."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from sim.env import TabletopEnv
from sim.scene import SceneConfig
from vla.config_cli import parse
from vla.training.pointing_labels import PointingLabels
from vla.training.train_config import TrainConfig

CAMERAS = ("front", "wrist")
TOKENS_PER_IMAGE = 16  # the nano preset's: a 4 x 4 grid of 32 px tokens on a 128 px image
METRES = np.full(6, -1.0), np.full(6, 1.0)  # a normalisation under which normalised values are metres


def labels(scene: SceneConfig | None = None) -> PointingLabels:
    return PointingLabels.front_camera(1.0, scene or SceneConfig(), CAMERAS, TOKENS_PER_IMAGE, *METRES)


def test_the_projected_task_positions_land_on_the_named_objects_in_the_rendered_image():
    """Each recorded task object (and object destination) projects onto a pixel where the front camera's
    render shows that very object: a geom of a body standing within 2 cm of the recorded position."""
    env = TabletopEnv(suite="tabletop_compose", pixels=False, render_mode=None)
    renderer = mujoco.Renderer(env.model, env.config.image_height, env.config.image_width)
    renderer.enable_segmentation_rendering()
    pointing = labels(env.config)
    checked = 0
    try:
        for seed in range(6):
            env.reset(seed=seed)
            state = env.environment_state()
            pixels, in_view = pointing.pixels(torch.as_tensor(state[-6:]).view(2, 3))
            renderer.update_scene(env.data, camera="front")
            segments = renderer.render()  # (H, W, 2): object id, object type
            destination_is_object = state[-7] >= 0  # task_destination.entry: -1 for a place or none
            for role in range(2 if destination_is_object else 1):
                assert in_view[role]
                u, v = (int(c) for c in pixels[role])
                geom, kind = segments[v, u]
                assert kind == mujoco.mjtObj.mjOBJ_GEOM
                body_xy = env.data.xpos[env.model.geom_bodyid[geom]][:2]
                assert np.linalg.norm(body_xy - state[-6 + 3 * role : -4 + 3 * role]) < 0.02, (seed, role)
                checked += 1
    finally:
        renderer.close()
        env.close()
    assert checked >= 8  # both roles seen in most of the six scenes


def test_a_position_at_a_token_centre_targets_that_token_of_the_front_camera_row_major():
    """The image's 4 x 4 tokens run row by row; a point at the centre of row 2, column 1 (u 48, v 80 px)
    puts nearly all its target on token 2 * 4 + 1 of the front camera, nothing on the wrist camera's; a
    point behind the camera is not in view."""
    pointing = labels()
    focal = pointing.focal_px
    local = torch.tensor([[(48.0 - 64.0) / focal, -(80.0 - 64.0) / focal, -1.0]])  # 1 m ahead, camera axes
    world = pointing.position + (local @ pointing.rotation.T).squeeze(0)  # (3,)
    behind = pointing.position + pointing.rotation[:, 2]  # 1 m behind the lens
    recorded = torch.cat([world, behind]).unsqueeze(0)  # (1, 6): object, then destination
    pixels, _ = pointing.pixels(world)
    assert torch.allclose(pixels, torch.tensor([48.0, 80.0]), atol=1e-3)
    target, in_view = pointing.targets(recorded, 2 * TOKENS_PER_IMAGE)
    assert target.shape == (1, 2, 32)
    assert in_view.tolist() == [[True, False]]
    assert target[0, 0, 9] > 0.99 and target[0, 0, 16:].sum() == 0
    assert torch.allclose(target.sum(dim=-1), torch.ones(1, 2))


def test_the_pointing_loss_rewards_the_target_token_and_ignores_episodes_that_hold_still():
    """A pointer whose softmax sits on each role's target token has a lower loss and an accuracy of 1; one
    that answers "nothing in view" scores 0; held-still samples are not counted."""
    pointing = labels()
    scene = TabletopEnv(suite="tabletop_compose", pixels=False, render_mode=None)
    recorded = []
    for seed in range(4):
        scene.reset(seed=seed)
        recorded.append(scene.environment_state()[-6:])
    scene.close()
    recorded = torch.as_tensor(np.array(recorded))  # (4, 6), metres = normalised here
    target, in_view = pointing.targets(recorded, 32)
    assert in_view[:, 0].all()
    right = torch.full((4, 2, 34), -30.0)
    right.scatter_(2, target.argmax(dim=-1, keepdim=True), 0.0)
    right = right.log_softmax(dim=-1)
    null = torch.full((4, 2, 34), -30.0)
    null[..., -1] = 0.0
    null = null.log_softmax(dim=-1)
    moving = torch.zeros(4, dtype=torch.bool)
    right_loss, right_accuracy = pointing.loss(right, recorded, moving)
    null_loss, null_accuracy = pointing.loss(null, recorded, moving)
    assert right_accuracy == 1.0 and null_accuracy == 0.0
    assert right_loss < null_loss
    held_loss, held_accuracy = pointing.loss(null, recorded, torch.ones(4, dtype=torch.bool))
    assert held_loss == 0.0 and held_accuracy == 0.0


@pytest.mark.parametrize(
    "options",
    [
        ("--data.stream.suite", "tabletop_compose", "--objects.weight", "1"),  # no pointer
        ("--data.stream.suite", "tabletop_compose", "--objects.pointer"),  # no positions kept
        ("--data.dataset", "d", "--objects.pointer", "--objects.weight", "1"),  # no camera known
    ],
)
def test_the_pointing_loss_is_refused_without_a_pointer_positions_or_a_stream(options):
    with pytest.raises(ValueError, match=r"--objects\.point trains the pointer"):
        parse(TrainConfig, [*options, "--objects.point", "1", "--run.out", "o"], {})
