"""Perfect perception as a diagnostic: a policy whose `objects` token is given positions, not predicted.

A checkpoint trained with `--objects.token` reads the object positions its head predicts from
the cameras through one token. `vla eval --oracle-objects MODE` replaces what that token shows:

- `exact`: the simulator's `environment_state` (every object, and the instruction's object and
  destination): the policy with perfect perception and grounding;
- `grounding`: the head's own predictions for every object, with the instruction's object and
  destination copied from the predictions for the objects the task names: perception as learnt,
  grounding (which object the words mean) perfect.

Neither is a deployable policy (both read the simulator); they split a failure into perception,
grounding and the rest.
"""

from __future__ import annotations

import numpy as np
import torch

from sim.env import task_values
from vla.models.normalization import ENVIRONMENT_STATE
from vla.models.task_choice import TASK_VALUES
from vla.policy import VLAPolicy

ORACLE_MODES = ("exact", "grounding")


class OracleObjectsPolicy:
    """`VLAPolicy` behind the same `reset()` / `infer(obs)`, its objects token shown `mode`'s positions.
    `env` (a `TabletopEnv`) tells, at each reset, which objects the episode's instruction names."""

    def __init__(self, policy: VLAPolicy, mode: str, env):
        if mode not in ORACLE_MODES:
            raise ValueError(f"--oracle-objects {mode}: one of {', '.join(ORACLE_MODES)}")
        model, normalizer = policy.model, policy.bundle.normalization.environment_state
        if model.objects is None or not model.objects.has_token or normalizer is None:
            raise ValueError(
                "--oracle-objects needs a policy trained with --objects.token (this one has no objects token)"
            )
        self.policy, self.mode, self.env = policy, mode, env
        self.config = policy.config
        self._sources: np.ndarray | None = None  # (6,) scene index per task value, -1: reads the constant
        self._constants: np.ndarray | None = None  # (6,) metres: a push's side, else 0

    def reset(self) -> None:
        self.policy.reset()
        grounding = self.mode == "grounding"
        self._sources = self.env.task_state_sources() if grounding else None
        self._constants = self.env.task_state_constants() if grounding else None

    def shown_positions(self, obs: dict, batch) -> np.ndarray:
        """(E,) float32 positions in metres for the token, before normalisation."""
        if self.mode == "exact":
            if ENVIRONMENT_STATE not in obs:
                raise KeyError(f"--oracle-objects exact: the observation has no '{ENVIRONMENT_STATE}'")
            return np.asarray(obs[ENVIRONMENT_STATE], np.float32)
        with torch.inference_mode():
            _, predicted = self.policy.model(batch, with_environment_state=True)
        normalizer = self.policy.bundle.normalization.environment_state
        predicted = normalizer.unnormalize(predicted[0].float().cpu().numpy())  # (E,) metres
        scene = predicted[:-TASK_VALUES]
        return np.concatenate([scene, task_values(scene, self._sources, self._constants)]).astype(np.float32)

    def infer(self, obs: dict) -> dict[str, np.ndarray]:
        batch = self.policy.batch_from_observation(obs)
        shown = self.policy.bundle.normalization.environment_state.normalize(self.shown_positions(obs, batch))
        batch.environment_state = torch.from_numpy(shown).unsqueeze(0).to(self.policy.device)
        batch.objects_from_record = torch.ones(1, dtype=torch.bool, device=self.policy.device)
        return self.policy.infer_batch(batch)
