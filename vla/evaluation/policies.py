"""Action sources the evaluation runner drives: the scripted expert, a trained checkpoint (torch) or an
export folder (`vla.runtime`, onnxruntime).

All implement `start(env, observation)` at reset, `act(observation) -> (6,) action`,
`first_second_confidence`, `first_second_abstain` and `held_after_first_s` (None where the source has
none). A trained policy
predicts a chunk of T actions and executes `execute_steps` of them before asking again (receding-horizon
chunking, as ACT and openpi do); a chunk whose `abstain` reaches `ABSTAIN_THRESHOLD` is not executed: the
arm holds where it is for those steps, as the ROS node holds.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np

from vla.contract import ABSTAIN_THRESHOLD, ENVIRONMENT_STATE, OBS_STATE, TASK, camera_key

EXPERT = "expert"


def policy_observation(observation: dict, instruction: str) -> dict:
    """A `TabletopEnv` observation as `infer(obs)` takes it: one image per camera, state and task."""
    frames = {camera_key(camera): frame for camera, frame in observation["pixels"].items()}
    policy_obs = frames | {OBS_STATE: observation["agent_pos"], TASK: instruction}
    if "environment_state" in observation:  # privileged: read only by an oracle-objects policy
        policy_obs[ENVIRONMENT_STATE] = observation["environment_state"]
    return policy_obs


class ExpertSource:
    """The task's scripted expert (privileged state): the reference learned policies are judged against."""

    first_second_confidence = first_second_abstain = held_after_first_s = None  # the expert has none

    def __init__(self, env):
        from sim.rollout import ExpertRunner

        self.runner = ExpertRunner(env)

    def start(self, env, observation: dict) -> None:
        self.runner.start(observation)

    def act(self, observation: dict) -> np.ndarray:
        return self.runner.act()


class ChunkSource:
    """A policy behind `infer(obs)` (torch `VLAPolicy` or `RuntimePolicy`); chunks are executed open loop."""

    def __init__(self, policy, chunk_length: int, execute_steps: int | None = None):
        if execute_steps is not None and not 1 <= execute_steps <= chunk_length:
            raise ValueError(
                f"--execute-steps {execute_steps}: the policy's chunks have {chunk_length} actions"
            )
        self.policy = policy
        self.execute_steps = execute_steps or chunk_length
        self.queue: deque[np.ndarray] = deque()
        self.instruction = ""
        self.steps = 0  # control steps acted this episode
        self.first_second_steps = 1  # control steps in one second (the env's control rate)
        self.early_confidences: list[float] = []  # mean confidence of each chunk inferred in the first second
        self.early_abstains: list[float] = []  # abstain of each chunk inferred in the first second
        self.held_after_first_s = 0  # chunks held on abstain after the first second

    def start(self, env, observation: dict) -> None:
        self.policy.reset()
        self.queue.clear()
        self.instruction = env.task_description
        self.steps = 0
        self.first_second_steps = round(env.config.control_hz)
        self.early_confidences = []
        self.early_abstains = []
        self.held_after_first_s = 0

    def act(self, observation: dict) -> np.ndarray:
        if not self.queue:
            chunk = self.policy.infer(policy_observation(observation, self.instruction))
            abstain = float(chunk["abstain"])
            actions = chunk["actions"][: self.execute_steps]
            if abstain >= ABSTAIN_THRESHOLD:  # refusing: hold the measured joint positions instead
                actions = np.repeat(np.asarray(observation["agent_pos"], np.float32)[None], len(actions), 0)
                self.held_after_first_s += self.steps >= self.first_second_steps
            self.queue.extend(actions)
            if self.steps < self.first_second_steps:
                self.early_confidences.append(float(np.mean(chunk["confidence"][: self.execute_steps])))
                self.early_abstains.append(abstain)
        self.steps += 1
        return self.queue.popleft()

    @property
    def first_second_confidence(self) -> float | None:
        """Mean confidence of the chunks inferred in the episode's first second (of their executed steps):
        what a robot would know before it commits to a grasp. None before the first `act`."""
        return float(np.mean(self.early_confidences)) if self.early_confidences else None

    @property
    def first_second_abstain(self) -> float | None:
        """The highest abstain of the chunks inferred in the episode's first second: whether the policy
        refused before it could touch anything. None before the first `act`."""
        return max(self.early_abstains) if self.early_abstains else None


def is_export_folder(spec: str) -> bool:
    return (Path(spec) / "export.json").is_file()


POLICY_KINDS = "'expert', a checkpoint folder (vla train) or an export folder (vla export)"


def check_policy(spec: str, variant: str = "fp32") -> None:
    """Refuse a `--policy` that cannot load, before any progress bar or worker starts: a folder that does
    not exist, a checkpoint missing a file or of another format version, an export folder with a corrupt
    .onnx or another layout. Raises BadInputError (a ValueError) with one line naming the file.

    An export folder is opened once (its graphs parsed, about a second), since only onnxruntime can tell
    that a file is corrupt; a checkpoint's weights are not read (its files and config.json are)."""
    from vla.runtime.errors import MissingInputError

    if spec == EXPERT:
        return
    folder = Path(spec)
    if not folder.exists():
        raise MissingInputError(f"--policy {spec}: no such folder; give {POLICY_KINDS}")
    if not folder.is_dir():
        raise MissingInputError(f"--policy {spec} is a file, not a folder; give {POLICY_KINDS}")
    from vla.baselines.lerobot_policies import is_lerobot_policy_folder

    if is_lerobot_policy_folder(folder):
        return  # LeRobot's own loader checks its folders
    if is_export_folder(spec):
        from vla.runtime import RuntimePolicy

        RuntimePolicy(folder, variant=variant, threads=1)
        return
    from vla.models.checkpoint import CONFIG, read_checkpoint_config  # torch: only for a checkpoint

    if not (folder / CONFIG).is_file() and not (folder / "model.safetensors").is_file():
        raise MissingInputError(
            f"--policy {spec}: neither a checkpoint folder (no {CONFIG}) nor an export folder (no "
            f"export.json); give {POLICY_KINDS}"
        )
    read_checkpoint_config(folder)


def make_source(
    spec: str, env, variant: str = "fp32", execute_steps: int | None = None, oracle_objects: str = ""
):
    """`expert`, a checkpoint folder (torch), an export folder (onnxruntime, `variant`) or a LeRobot baseline
    folder (ACT / Diffusion Policy saved by `vla.baselines.lerobot_policies.BaselineTrainer`).

    execute_steps: actions run from each of our chunks before asking again (None: the whole chunk);
    baselines keep their own `n_action_steps`. oracle_objects: "" or a mode of `vla.evaluation.oracle`
    (a checkpoint's objects token shown given positions); other sources refuse it. A spec that cannot load
    raises as `check_policy` does."""
    if oracle_objects and (spec == EXPERT or not (Path(spec) / "model.safetensors").is_file()):
        raise ValueError(f"--oracle-objects needs a checkpoint folder (torch); got --policy {spec}")
    if spec == EXPERT:
        return ExpertSource(env)
    folder = Path(spec)
    from vla.baselines.lerobot_policies import LeRobotPolicySource, is_lerobot_policy_folder

    if is_lerobot_policy_folder(folder):
        return LeRobotPolicySource(folder, device=_torch_device_for_worker())
    if is_export_folder(spec):
        from vla.runtime import RuntimePolicy

        # One intra-op thread: evaluation already runs one worker process per core.
        policy = RuntimePolicy(folder, variant=variant, threads=1)
        return ChunkSource(policy, policy.chunk_length, execute_steps)
    check_policy(spec, variant)  # names what is missing; the checkpoint's own checks follow in its loader
    from vla.policy import VLAPolicy

    policy = VLAPolicy.from_checkpoint(folder, device=_torch_device_for_worker())
    if oracle_objects:
        from vla.evaluation.oracle import OracleObjectsPolicy

        policy = OracleObjectsPolicy(policy, oracle_objects, env)
    return ChunkSource(policy, policy.config.chunk_length, execute_steps)


def _torch_device_for_worker() -> str:
    """On a GPU machine the evaluation workers share the GPU; on a CPU each worker is one process per core,
    so one intra-op thread each (more only oversubscribe the cores: 2 workers x 2 threads ran LeRobot's
    ACT at 5.2 s per episode on CPU-2)."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)
    return device
