"""How far off are the pointer heatmap's pixel-to-table map and the heatmap itself? On first frames.

    python bench/pointer_map_error.py --policy runs/<run>/checkpoints/last [--first-seed 5000000]

For the task object of every training composition (one layout each, from `--first-seed`, a validation
range no reported figure uses; first frames, so every object rests on the table):

- `map_error_cm`: the map (vla/models/pointer_heatmap.py `table_xy`) fed the exact pixel and height of the
  recorded position, against that position in the table's plane; median, p90, and its signed mean in
  x, y (a bias along x, the front camera's axis, is what a map blind to height left: objects lifted in
  training show at the pixel of a table point farther from the camera);
- `heatmap_px`: the heatmap's cell average inside the token that holds that pixel, against the pixel.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def measure(policy_folder: Path, first_seed: int) -> dict:
    import torch

    import sim  # noqa: F401  (headless GL before mujoco loads)
    from sim.env import TabletopEnv
    from vla.evaluation.policies import policy_observation
    from vla.models.task_choice import TASK_VALUES, metres_from_normalised
    from vla.policy import VLAPolicy
    from vla.training.pointing_labels import PointingLabels

    policy = VLAPolicy.from_checkpoint(policy_folder)
    model, ranges = policy.model, policy.bundle.normalization.environment_state
    pointer = model.objects.pointer
    if pointer.heatmap is None:
        raise SystemExit(f"{policy_folder}: this pointer has no heatmap (config pointer_heatmap)")
    env = TabletopEnv(suite="tabletop_compose", split="train")
    cameras = tuple(policy.config.cameras)
    tokens_per_image = model.image_token_count() // len(cameras)
    labels = PointingLabels.front_camera(1.0, env.config, cameras, tokens_per_image, ranges.low, ranges.high)
    low, high = torch.as_tensor(ranges.low[-TASK_VALUES:]), torch.as_tensor(ranges.high[-TASK_VALUES:])
    height, width = labels.image_hw
    half = torch.tensor([width / 2, height / 2])
    token_px = torch.tensor([width / labels.grid, height / labels.grid])
    signed, pixel_errors = [], []
    with torch.inference_mode():
        for task in env.tasks:
            obs, _ = env.reset(seed=first_seed, options={"task": task.name})
            environment = env.environment_state()  # (E,) metres
            state = torch.as_tensor(ranges.normalize(environment)).unsqueeze(0).float()
            pixels, in_view = labels.recorded_pixels(state)  # (1, R, 2) px
            if not in_view[0, 0]:
                continue
            pixel = pixels[0, 0]
            height = state[0, -TASK_VALUES + 2]  # the object's normalised z
            xy = pointer.heatmap.table_xy(pixel / half - 1.0, height)  # (2,) normalised
            metres = metres_from_normalised(torch.cat([xy, torch.zeros(1)]).repeat(2), low, high)[:2]
            signed.append(100.0 * (metres - torch.as_tensor(environment[-TASK_VALUES:][:2])).numpy())
            batch = policy.batch_from_observation(policy_observation(obs, env.task_description))
            frame = batch.images[:, pointer.heatmap_camera]
            log_cells = pointer.heatmap.log_cells(model.pointer_instruction(batch), frame)  # (1, R, T, C)
            column, row = (pixel / token_px).floor().long().tolist()
            token = row * labels.grid + column
            weights = log_cells[0, 0, token].exp()  # (C,)
            average = (weights.unsqueeze(-1) * pointer.heatmap.centres[token]).sum(dim=0)  # normalised
            pixel_errors.append(float(((average + 1.0) * half - pixel).norm()))
    env.close()
    signed = np.array(signed)
    errors = np.linalg.norm(signed, axis=1)
    return {
        "objects": len(errors),
        "map_error_cm": {
            "median": float(np.median(errors)),
            "p90": float(np.percentile(errors, 90)),
            "signed_mean_xy": signed.mean(axis=0).tolist(),
        },
        "heatmap_px": {
            "median": float(np.median(pixel_errors)),
            "p90": float(np.percentile(pixel_errors, 90)),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--first-seed", type=int, default=5_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = measure(args.policy, args.first_seed)
    print(json.dumps(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
