"""The instruction's object and destination in the arm's own frame: their bearing and reach from its base.

Why: the shipped policy's grasps miss sideways. Over 12 traced grasps (`bench/chunk_trace.py`, the
shipped policy, docs/LOG.md 2026-12-01, late) the miss when the gripper closes was a median 19.9 mm across
the line from the base to the cube and 7.9 mm along it, with the cube located to ~2 mm. Across that line
only the shoulder pan moves the gripper, and the pan a grasp needs is close to the target's bearing
atan2(y, x) from the base (the world origin, sim/scene.py): a division and an arctangent of the objects
token's x, y, which the policy otherwise has to learn from demonstrations alone. Given as inputs, bearing
and reach reach the joint angles through a linear map.

The features are read off what the objects token shows (predicted or, in teacher-forced training
samples, recorded), in metres through the environment state's normalisation (buffers, so the export
computes them in the graph), and enter the same token through their own projection, zero at first so a
trained policy starts unchanged. They are detached: atan2 and the distance have no gradient at the origin
(where "no destination" sits), and the choice and the localisation have their own losses.
"""

from __future__ import annotations

import torch
from torch import nn

# The token ends with the TASK_VALUES task_object.xyz, task_destination.xyz.
from vla.models.task_choice import TASK_VALUES, metres_from_normalised

ARM_FRAME_FEATURES = 4  # bearing (rad) and scaled reach of the task object, then of the destination
REACH_CENTRE_M = 0.2  # the middle of the workspace's reach; features are (reach - centre) / scale
REACH_SCALE_M = 0.1


class ArmFrameFeatures(nn.Module):
    """(B, E) normalised objects-token values -> (B, width) added to the token: a linear map of the task
    object's and destination's bearing and reach (`features`).

    `low`, `high` (E,): the environment state's normalisation (vla/models/normalization.py).
    """

    def __init__(self, width: int, low, high):
        super().__init__()
        self.proj = nn.Linear(ARM_FRAME_FEATURES, width)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32)[-TASK_VALUES:])  # (6,)
        self.register_buffer("high", torch.as_tensor(high, dtype=torch.float32)[-TASK_VALUES:])  # (6,)

    def features(self, shown: torch.Tensor) -> torch.Tensor:
        """(B, E) normalised -> (B, 4): bearing atan2(y, x) in rad and (reach - 0.2 m) / 0.1 m of the
        task object, then of the destination (0 and -2 where there is none, at the origin)."""
        task = shown.detach()[:, -TASK_VALUES:]
        metres = metres_from_normalised(task, self.low, self.high)  # (B, 6)
        features = []
        for x, y in ((metres[:, 0], metres[:, 1]), (metres[:, 3], metres[:, 4])):
            reach = torch.sqrt(x * x + y * y)
            features += [torch.atan2(y, x), (reach - REACH_CENTRE_M) / REACH_SCALE_M]
        return torch.stack(features, dim=1)

    def forward(self, shown: torch.Tensor) -> torch.Tensor:
        return self.proj(self.features(shown))
