"""The pointer's heatmap (vla/models/pointer_heatmap.py): where inside a front-camera token the words point,
to a few pixels; its cells' loss (vla/training/pointing_labels.py `cell_loss`), and a policy built with it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.test_model import make_batch, make_bundle
from vla.models.configuration_vla import preset
from vla.models.pointer import InstructionPointer
from vla.models.pointer_heatmap import (
    CELL_PX,
    PointerHeatmap,
    cell_centres,
    check_heatmap_weights,
)
from vla.training.pointing_labels import PointingLabels

SIDE, GRID = 64, 4  # a 64 px camera of 4 x 4 tokens (16 px each, 4 x 4 cells of 4 px)
COLOURS = 4
SQUARE_PX = 5  # the synthetic objects' side


def overhead_labels(side: int = SIDE, grid: int = GRID) -> PointingLabels:
    """A camera 1 m above the table's origin, looking down, whose image spans x, y in [-1, 1]: normalised
    positions (here metres) on the table map to pixels u = (x + 1) side / 2, v = (1 - y) side / 2."""
    return PointingLabels(
        weight=1.0,
        rotation=torch.eye(3),
        position=torch.tensor([0.0, 0.0, 1.0]),
        focal_px=side / 2,
        image_hw=(side, side),
        first_token=0,
        grid=grid,
        low=torch.full((6,), -1.0),
        high=torch.ones(6),
    )


def test_cell_centres_run_token_by_token_then_cell_by_cell_row_major():
    """Token 2 * 4 + 1 (row 2, column 1) of a 64 px image starts at u 16, v 32 px; its cell 1 * 4 + 3 (row 1,
    column 3) is centred at u 16 + 3 * 4 + 2 = 30, v 32 + 4 + 2 = 38 px."""
    centres = cell_centres((SIDE, SIDE), GRID)
    assert centres.shape == (GRID * GRID, (SIDE // GRID // CELL_PX) ** 2, 2)
    u, v = ((centres[2 * 4 + 1, 1 * 4 + 3] + 1) * SIDE / 2).tolist()
    assert (u, v) == pytest.approx((30.0, 38.0))


def test_a_camera_that_does_not_tile_into_cells_is_refused():
    with pytest.raises(ValueError, match="60 x 60 px camera with 4 x 4 tokens"):
        PointerHeatmap(COLOURS, 2, GRID, (60, 60), 8)


def test_the_cell_loss_rewards_the_pixel_s_cell_and_ignores_what_holds_still_or_is_out_of_view():
    """log_cells that sit on the cell holding each role's pixel give a lower loss and a distance under a
    cell; a neighbouring cell gives a higher loss and a distance of about a cell; held-still samples and
    roles out of view are not counted."""
    labels = overhead_labels()
    # object at u 30, v 38 px (token 9, cell 7, whose centre it is); destination off the image
    recorded = torch.tensor([[30 / 32 - 1, 1 - 38 / 32, 0.0, 5.0, 0.0, 0.0]])
    cells = (SIDE // GRID // CELL_PX) ** 2
    right = torch.full((1, 2, GRID * GRID, cells), -30.0)
    right[0, :, 9, 7] = 0.0
    wrong = torch.full((1, 2, GRID * GRID, cells), -30.0)
    wrong[0, :, 9, 6] = 0.0  # one cell to the left
    moving, still = torch.zeros(1, dtype=torch.bool), torch.ones(1, dtype=torch.bool)
    right_loss, right_px = labels.cell_loss(right.log_softmax(-1), recorded, moving)
    wrong_loss, wrong_px = labels.cell_loss(wrong.log_softmax(-1), recorded, moving)
    assert right_loss < wrong_loss
    assert right_px < 0.5 and wrong_px == pytest.approx(CELL_PX, abs=0.5)
    assert labels.cell_loss(wrong.log_softmax(-1), recorded, still) == (0.0, 0.0)


def test_the_map_loss_is_zero_for_the_camera_s_own_map_and_counts_only_labelled_roles():
    """The overhead camera's pixel-to-table map is x = u, y = -v (normalised): it scores 0, a map 0.1 off
    in x scores 0.01; held-still samples and roles out of view are not counted."""
    labels = overhead_labels()
    recorded = torch.tensor([[0.3, -0.2, 0.0, 5.0, 0.0, 0.0], [-0.5, 0.6, 0.0, 0.1, 0.1, 0.0]])
    flip = torch.tensor([1.0, -1.0])
    moving = torch.zeros(2, dtype=torch.bool)
    assert labels.map_loss(lambda uv, z: uv * flip, recorded, moving) == pytest.approx(0.0, abs=1e-10)
    shifted = labels.map_loss(lambda uv, z: uv * flip + torch.tensor([0.1, 0.0]), recorded, moving)
    assert shifted == pytest.approx(0.01, rel=1e-4)
    assert labels.map_loss(lambda uv, z: uv + 1.0, recorded, torch.ones(2, dtype=torch.bool)) == 0.0


def test_the_map_loss_feeds_the_recorded_height_so_a_lifted_object_s_pixel_maps_back_under_it():
    """Seen from 1 m straight above, a point 0.5 m up shows at twice its x, y (normalised pixels): the map
    x, y = (u, -v) (1 - z) scores 0 on it, and the map that ignores the height does not."""
    labels = overhead_labels()
    recorded = torch.tensor([[0.3, -0.2, 0.5, 5.0, 0.0, 0.0]])
    flip = torch.tensor([1.0, -1.0])
    moving = torch.zeros(1, dtype=torch.bool)
    exact = labels.map_loss(lambda uv, z: uv * flip * (1 - z).unsqueeze(-1), recorded, moving)
    assert exact == pytest.approx(0.0, abs=1e-10)
    assert labels.map_loss(lambda uv, z: uv * flip, recorded, moving) == pytest.approx(0.3**2 + 0.2**2)


def test_a_heatmap_saved_before_its_cells_scored_the_tokens_is_refused_by_name():
    """A pointer heatmap without `token_weight` was trained to choose tokens without its cells' evidence:
    loading it would change what it does, so the checkpoint is refused naming the file; one with the weight,
    and a policy without a heatmap, load."""
    old = {"objects.pointer.heatmap.keys.0.weight": torch.zeros(1), "objects.pointer.keys.0.weight": 0}
    with pytest.raises(ValueError, match=r"runs/old/model\.safetensors: .* predates its cells scoring"):
        check_heatmap_weights(old, "runs/old/model.safetensors")
    check_heatmap_weights(old | {"objects.pointer.heatmap.token_weight": torch.ones(())}, "new")
    check_heatmap_weights({"objects.pointer.keys.0.weight": torch.zeros(1)}, "no heatmap")


def square_frames(rng: np.random.Generator, count: int):
    """(count, 3, SIDE, SIDE) frames in [0, 1] of two coloured squares on grey, (count, COLOURS) one-hot
    instructions naming one of them, (count, 6) its recorded position (the overhead camera's table,
    normalised), then a destination out of view, and (count, 2) the two squares' colours."""
    palette = np.array([[0.9, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.9], [0.9, 0.9, 0.1]])
    frames = np.full((count, 3, SIDE, SIDE), 0.5, dtype=np.float32)
    instructions = np.zeros((count, COLOURS), dtype=np.float32)
    recorded = np.zeros((count, 6), dtype=np.float32)
    recorded[:, 3] = 5.0
    drawn = np.zeros((count, 2), dtype=np.int64)
    for i in range(count):
        colours = drawn[i] = rng.choice(COLOURS, size=2, replace=False)
        corners = rng.integers(0, SIDE - SQUARE_PX, size=(2, 2))
        while np.abs(corners[0] - corners[1]).max() <= SQUARE_PX:  # apart, so one pixel shows one square
            corners = rng.integers(0, SIDE - SQUARE_PX, size=(2, 2))
        for colour, (u0, v0) in zip(colours, corners, strict=True):
            frames[i, :, v0 : v0 + SQUARE_PX, u0 : u0 + SQUARE_PX] = palette[colour][:, None, None]
        instructions[i, colours[0]] = 1.0
        u, v = corners[0] + SQUARE_PX / 2  # the named square's centre, px
        recorded[i, :2] = u / (SIDE / 2) - 1, 1 - v / (SIDE / 2)
    return torch.from_numpy(frames), torch.from_numpy(instructions), torch.from_numpy(recorded), drawn


def test_the_heatmap_finds_the_named_square_inside_its_token_far_closer_than_the_token_centre():
    """Trained by the cell loss and the position of the named one of two squares, on new frames the x, y it
    reads from the square's token is within 1.5 px (median) of the square's centre, where the token's
    centre is 4 px off on average: the pointer's position is no longer limited by its 16 px tokens."""
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    labels = overhead_labels()
    heatmap = PointerHeatmap(COLOURS, 2, GRID, (SIDE, SIDE), 8)
    optimizer = torch.optim.AdamW(heatmap.parameters(), lr=3e-3)
    moving = torch.zeros(32, dtype=torch.bool)
    flat = torch.zeros(32, 2, GRID * GRID)  # every square lies on the table
    for _ in range(300):
        frames, instructions, recorded, _ = square_frames(rng, 32)
        cells, _ = labels.cell_loss(heatmap.log_cells(instructions, frames), recorded, moving)
        pixels, _ = labels.recorded_pixels(recorded)
        token = pixels[:, 0].div(SIDE / GRID).floor().long()  # (B, 2) column, row of the named square
        positions = heatmap.token_positions(instructions, frames, flat)[:, 0]  # (B, g*g, 2)
        read = positions[torch.arange(32), token[:, 1] * GRID + token[:, 0]]  # (B, 2)
        loss = cells + torch.nn.functional.mse_loss(read, recorded[:, :2]) * 100
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        frames, instructions, recorded, _ = square_frames(rng, 200)
        pixels, _ = labels.recorded_pixels(recorded)
        token = pixels[:, 0].div(SIDE / GRID).floor()  # (B, 2)
        positions = heatmap.token_positions(instructions, frames, torch.zeros(200, 2, GRID * GRID))[:, 0]
        read = positions[torch.arange(200), (token[:, 1] * GRID + token[:, 0]).long()]
    px_per_unit = SIDE / 2
    error = ((read - recorded[:, :2]).norm(dim=-1) * px_per_unit).median()
    centre_error = ((token + 0.5) * SIDE / GRID - pixels[:, 0]).norm(dim=-1).mean()
    assert centre_error > 3.5
    assert error < 1.5, (float(error), float(centre_error))


def named_or_missing_frames(rng: np.random.Generator, count: int):
    """`square_frames`, but for about half the samples the instruction names a colour that neither square
    shows; also (count,) whether it does (the abstain target), and the recorded positions."""
    frames, instructions, recorded, drawn = square_frames(rng, count)
    missing = rng.random(count) < 0.5
    for i in np.flatnonzero(missing):
        instructions[i] = 0.0
        instructions[i, rng.choice(sorted(set(range(COLOURS)) - set(drawn[i].tolist())))] = 1.0
    return frames.unsqueeze(1), instructions, torch.from_numpy(missing), recorded


def test_the_heatmap_s_cells_let_the_pointer_refuse_a_colour_the_frame_does_not_show():
    """With image tokens that carry nothing (all zeros, as if the backbone saw no colour), a pointer with a
    heatmap, trained as the labelled recipe trains it (pointing, cells, abstain), refuses on new frames the
    instructions that name a colour neither square shows, and only those: its null competes with the
    cells' evidence, read from the pixels."""
    rng = np.random.default_rng(1)
    torch.manual_seed(1)
    labels = overhead_labels()
    pointer = InstructionPointer(
        COLOURS, 8, GRID * GRID, 8, PointerHeatmap(COLOURS, 2, GRID, (SIDE, SIDE), 8)
    )
    optimizer = torch.optim.AdamW(pointer.parameters(), lr=3e-3)
    blank = torch.zeros(32, GRID * GRID, 8)
    for _ in range(150):
        frames, instructions, missing, recorded = named_or_missing_frames(rng, 32)
        abstain, _ = pointer.loss(instructions, blank, missing, frames)
        cell_scores = pointer.front_cell_scores(instructions, frames)
        pointing, _ = labels.loss(pointer.scored(instructions, blank, cell_scores), recorded, missing)
        cells, _ = labels.cell_loss(cell_scores.log_softmax(dim=-1), recorded, missing)
        optimizer.zero_grad()
        (abstain + pointing + cells).backward()
        optimizer.step()
    with torch.no_grad():
        frames, instructions, missing, _ = named_or_missing_frames(rng, 200)
        refused = pointer(instructions, torch.zeros(200, GRID * GRID, 8), frames) >= 0.5
    assert (refused == missing).float().mean() > 0.9


def test_a_heatmap_policy_reads_its_front_tokens_x_y_from_the_front_frame_alone():
    """In a policy built with the heatmap, changing the front frame moves the front tokens' read-out, and
    the pointer's point still gives each role's position and pointed features."""
    config = preset("debug", instruction_pointer=True, instruction_via_choice=True, pointer_heatmap=True)
    model = make_bundle(seed=5, config=config).model.eval()
    batch = make_batch(config)
    pointer = model.objects.pointer
    with torch.no_grad():
        instruction = model.pointer_instruction(batch)
        front = batch.images[:, 0]
        height = torch.zeros(2, 2, pointer.heatmap.grid**2)
        before = pointer.heatmap.token_positions(instruction, front, height)
        after = pointer.heatmap.token_positions(instruction, front.flip(-1), height)
        located, pointed = model.locate_objects(model.image_tokens(batch.images), batch, False)
    assert not torch.allclose(before, after)
    assert located.shape == (2, 6) and pointed.shape[:2] == (2, 2)
    assert pointer.heatmap_camera == config.cameras.index("front")


def test_the_heatmap_needs_the_pointer_and_a_front_camera():
    with pytest.raises(ValueError, match="pointer_heatmap refines the instruction pointer"):
        preset("debug", pointer_heatmap=True)
    with pytest.raises(ValueError, match="cameras: top, wrist"):
        preset("debug", instruction_pointer=True, pointer_heatmap=True, cameras=("top", "wrist"))
