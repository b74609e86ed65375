"""What an abstain head says on recorded frames, split by whether each episode holds still (issue 35).

    python bench/abstain_probe.py --policy runs/<run>/checkpoints/last --dataset datasets/compose_abstain_2
        [--episodes 120] [--frame 0 --frame 15] [--json F]

Reads a frame cache (`vla record --arrays`), takes the given frames of its first `--episodes` episodes, and
runs `VLAModel.abstain` on each with its episode's instruction (no augmentation, no word dropout). The
label is the training one (vla/training/abstain_labels.py): an episode that holds still is an absent-object
one. Reports, per label, the mean abstain and the share at or above vla.contract.ABSTAIN_THRESHOLD. No
simulator runs: it separates "the head cannot tell the scenes apart" from what the closed loop adds.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from vla.contract import ABSTAIN_THRESHOLD, camera_key
from vla.models.checkpoint import load_checkpoint
from vla.training.abstain_labels import episode_holds_still
from vla.training.batch_encoder import BatchEncoder
from vla.training.frames import open_arrays


def probe(policy: Path, dataset: Path, episodes: int, frames: list[int]) -> dict:
    bundle = load_checkpoint(policy)
    model = bundle.model.eval()
    keys = [camera_key(camera) for camera in bundle.config.cameras]  # the policy's cameras, in order
    arrays = open_arrays(dataset, keys)
    encoder = BatchEncoder(bundle, torch.device("cpu"), False, sorted(set(arrays.tasks)))
    bounds = sorted(set(zip(arrays.episode_start.tolist(), arrays.episode_end.tolist(), strict=True)))
    scores: dict[str, list[float]] = {"absent": [], "present": []}
    for start, end in bounds[:episodes]:
        label = "absent" if episode_holds_still(arrays.action[start:end]) else "present"
        for offset in frames:
            index = start + min(offset, end - start - 1)
            images = np.stack([arrays.frames[key][index] for key in keys])  # (N, H, W, 3)
            raw = {
                "images": torch.from_numpy(images)[None].permute(0, 1, 4, 2, 3),
                "state": torch.from_numpy(np.asarray(arrays.state[index : index + 1])),
                "actions": torch.zeros(1, bundle.config.chunk_length, bundle.config.action_dim),
                "action_is_pad": torch.zeros(1, bundle.config.chunk_length, dtype=torch.bool),
                "task": [arrays.tasks[index]],
            }
            batch = encoder(raw, train=False)
            with torch.no_grad():
                scores[label].append(float(model.abstain(model.image_tokens(batch.images), batch)[0]))
    return {
        label: {
            "frames": len(values),
            "mean_abstain": float(np.mean(values)) if values else None,
            "share_at_threshold": float(np.mean(np.array(values) >= ABSTAIN_THRESHOLD)) if values else None,
        }
        for label, values in scores.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, required=True)
    parser.add_argument("--dataset", type=Path, required=True, help="a frame cache (vla record --arrays)")
    parser.add_argument("--episodes", type=int, default=120)
    parser.add_argument("--frame", type=int, action="append", help="frame offsets in each episode")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = probe(args.policy, args.dataset, args.episodes, args.frame or [0, 15])
    for label, row in result.items():
        print(
            f"{label}: {row['frames']} frames, mean abstain {row['mean_abstain']:.3f}, "
            f"at or above {ABSTAIN_THRESHOLD}: {row['share_at_threshold']:.0%}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
