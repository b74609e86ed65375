"""LeRobot's ACT and Diffusion Policy as baselines: built from scratch, trained on our batches, run by us.

The policies, their normalisation pipelines (lerobot 0.6 processors), optimizers and LR schedules all come
from the installed `lerobot` (its config presets), so the numbers compare our VLA with LeRobot as users run
it. Nothing is downloaded: the ResNet-18 backbones start from random weights.

Deviations from the lerobot 0.6.1 defaults (DEVIATIONS below; everything else is the default):

- both: `pretrained_backbone_weights` ImageNet ResNet-18 -> None: no downloads, the baselines train from
  scratch. `input_features` / `output_features`: two (3, 128, 128) cameras `observation.images.front` and
  `observation.images.wrist`, `observation.state` (6,), `action` (6,).
- diffusion: `n_obs_steps` 2 -> 1: our batches carry one observation frame.
- diffusion: `crop_shape` None (no crop) -> (112, 112): Diffusion Policy's random-crop augmentation
  (Chi et al. 2023; centre crop at evaluation); 112/128 = 84/96, LeRobot's former PushT crop.
- diffusion: `noise_scheduler_type` DDPM -> DDIM and `num_inference_steps` None (= the 100 training
  steps) -> 10: affordable closed-loop evaluation. Training is unchanged (same betas, same forward
  process `add_noise`, same epsilon loss); only the sampler differs, and DDIM is the one that samples
  well in few steps.

Note: with random backbone weights ACT's `FrozenBatchNorm2d` layers are identities (lerobot freezes them
for the pretrained case), while Diffusion's ResNet keeps trainable BatchNorm.

Chunk alignment: a training sample at frame t needs `baseline_chunk_length(kind)` actions a[t], a[t+1], ...
(ACT: `chunk_size` = 100; Diffusion with `n_obs_steps=1`: `horizon` = 64 from the current frame, as
lerobot's `action_delta_indices` = range(1 - n_obs_steps, 1 - n_obs_steps + horizon) gives), with
`action_is_pad` marking steps past the episode end. At evaluation lerobot's own queue executes
`n_action_steps` of each chunk (defaults: ACT 100, Diffusion 32) before predicting again.

Import cost: `lerobot.policies` imports its factory, which pulls in `lerobot.envs` / `lerobot.processor`
(and through them draccus, gymnasium, transformers; about 10 s); lerobot, and torch, are therefore
imported inside the functions, so that `make_source` stays torch-free for export folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vla.contract import CAMERA_NAMES, NUM_JOINTS

if TYPE_CHECKING:
    import torch

BASELINES = ("act", "diffusion")
CAMERAS = CAMERA_NAMES  # order of the camera axis of our batches' "images"
IMAGE_SHAPE = (3, 128, 128)  # (C, H, W)
STATE_DIM = NUM_JOINTS
ACTION_DIM = NUM_JOINTS
IMAGE_STATS_FRAMES = 2000  # frames sampled (evenly) per camera for the image statistics
TRAIN_STEPS = 100_000  # lerobot's `TrainPipelineConfig.steps` default: length of Diffusion's cosine LR decay

# The deviations from lerobot's defaults listed in the module docstring, per policy.
DEVIATIONS: dict[str, dict] = {
    "act": {"pretrained_backbone_weights": None},
    "diffusion": {
        "pretrained_backbone_weights": None,
        "n_obs_steps": 1,
        "crop_shape": (112, 112),
        "noise_scheduler_type": "DDIM",
        "num_inference_steps": 10,
    },
}


def _check_kind(kind: str) -> None:
    if kind not in BASELINES:
        raise ValueError(f"unknown baseline {kind!r}; choose from {BASELINES}")


def make_baseline_config(kind: str, device: torch.device | str = "cpu", overrides: dict | None = None):
    """lerobot's `PreTrainedConfig` of baseline `kind` for our suite: defaults + DEVIATIONS + `overrides`."""
    _check_kind(kind)
    import torch
    from lerobot.configs.types import FeatureType, PolicyFeature
    from lerobot.policies.factory import make_policy_config

    features = {
        f"observation.images.{camera}": PolicyFeature(type=FeatureType.VISUAL, shape=IMAGE_SHAPE)
        for camera in CAMERAS
    }
    features["observation.state"] = PolicyFeature(type=FeatureType.STATE, shape=(STATE_DIM,))
    return make_policy_config(
        kind,
        input_features=features,
        output_features={"action": PolicyFeature(type=FeatureType.ACTION, shape=(ACTION_DIM,))},
        device=torch.device(device).type,
        **{**DEVIATIONS[kind], **(overrides or {})},
    )


def baseline_chunk_length(kind: str, overrides: dict | None = None) -> int:
    """Future actions per training sample, from the current frame: ACT's chunk_size, Diffusion's horizon."""
    config = make_baseline_config(kind, "cpu", overrides)
    return config.chunk_size if kind == "act" else config.horizon


def _vector_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    values = np.asarray(values, dtype=np.float64)  # (N, D)
    return {
        "mean": values.mean(0).astype(np.float32),
        "std": values.std(0).astype(np.float32),
        "min": values.min(0).astype(np.float32),
        "max": values.max(0).astype(np.float32),
    }


def _image_stats(frames: np.ndarray, max_frames: int, batch: int = 256) -> dict[str, np.ndarray]:
    """Per-channel stats on the [0, 1] scale, shaped (3, 1, 1) as lerobot keeps them; frames (N, H, W, 3)."""
    count = len(frames)
    picks = np.unique(np.linspace(0, count - 1, min(count, max_frames)).round().astype(np.int64))
    total, total_sq, pixels = np.zeros(3), np.zeros(3), 0
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for start in range(0, len(picks), batch):  # batches bound the float64 copy (256 frames: 100 MB)
        chunk = np.asarray(frames[picks[start : start + batch]]).reshape(-1, 3).astype(np.float64) / 255.0
        total += chunk.sum(0)
        total_sq += np.square(chunk).sum(0)
        low, high = np.minimum(low, chunk.min(0)), np.maximum(high, chunk.max(0))
        pixels += len(chunk)
    mean = total / pixels
    std = np.sqrt(np.maximum(total_sq / pixels - mean**2, 0.0))
    return {
        name: value.astype(np.float32).reshape(3, 1, 1)
        for name, value in {"mean": mean, "std": std, "min": low, "max": high}.items()
    }


def baseline_stats(
    images: dict[str, np.ndarray],
    state: np.ndarray,
    action: np.ndarray,
    max_image_frames: int = IMAGE_STATS_FRAMES,
) -> dict[str, dict[str, np.ndarray]]:
    """LeRobot-format normalisation stats ("mean", "std", "min", "max", float32) of our features.

    images: camera -> (N, H, W, 3) uint8 (up to `max_image_frames` evenly spaced frames are used; image
    stats are per channel, shape (3, 1, 1), on the [0, 1] scale); state, action: (N, 6) in dataset units.
    """
    stats = {
        f"observation.images.{camera}": _image_stats(images[camera], max_image_frames) for camera in CAMERAS
    }
    stats["observation.state"] = _vector_stats(state)
    stats["action"] = _vector_stats(action)
    return stats


class BaselineTrainer:
    """One lerobot policy (`kind` in BASELINES) with its processors, optimizer and LR schedule.

    `stats` as `baseline_stats` returns. `overrides` sets further config fields (tests shrink the models
    with it; real runs leave it None). `total_steps` sizes the LR schedule (Diffusion's cosine decay; ACT
    has no scheduler). `precision` as `vla train --optim.precision`: auto is bf16 autocast on CUDA, fp32
    elsewhere.
    """

    def __init__(
        self,
        kind: str,
        stats: dict,
        device: torch.device | str,
        seed: int = 0,
        overrides: dict | None = None,
        total_steps: int = TRAIN_STEPS,
        precision: str = "auto",
    ):
        import torch
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        from vla.training.precision import autocast_for, check_precision

        check_precision(precision)  # before the model is built
        torch.manual_seed(seed)
        self.kind = kind
        self.device = torch.device(device)
        self.config = make_baseline_config(kind, self.device, overrides)
        self.policy = get_policy_class(kind)(self.config).to(self.device)
        self.policy.train()
        self.preprocessor, self.postprocessor = make_pre_post_processors(self.config, dataset_stats=stats)
        optimizer_config = self.config.get_optimizer_preset()
        self.grad_clip_norm = optimizer_config.grad_clip_norm
        self.optimizer = optimizer_config.build(self.policy.get_optim_params())
        scheduler_config = self.config.get_scheduler_preset()
        self.scheduler = scheduler_config.build(self.optimizer, total_steps) if scheduler_config else None
        self.precision = precision
        self.autocast = autocast_for(precision, self.device)  # built once: it may warn about emulated bf16

    @property
    def use_bf16(self) -> bool:
        from vla.training.precision import uses_bf16

        return uses_bf16(self.precision, self.device)

    @property
    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.policy.parameters())

    def lerobot_batch(self, batch: dict) -> dict:
        """Our batch -> lerobot's keys (images to float [0, 1]; Diffusion's state gets its time axis)."""
        images = batch["images"].float() / 255.0  # (B, 2, 3, H, W)
        state = batch["state"]  # (B, 6)
        if self.kind == "diffusion":
            state = state.unsqueeze(1)  # (B, n_obs_steps=1, 6); images get theirs in DiffusionPolicy.forward
        out = {f"observation.images.{camera}": images[:, i] for i, camera in enumerate(CAMERAS)}
        out.update(
            {
                "observation.state": state,
                "action": batch["actions"],  # (B, T, 6)
                "action_is_pad": batch["action_is_pad"],  # (B, T)
                "task": list(batch["task"]),
            }
        )
        return out

    def step(self, batch: dict) -> float:
        """One optimiser step on our batch (see module docstring for shapes); returns the loss."""
        import torch

        self.policy.train()
        processed = self.preprocessor(self.lerobot_batch(batch))
        with self.autocast:
            loss, _ = self.policy.forward(processed)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.grad_clip_norm)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.scheduler is not None:
            self.scheduler.step()
        return loss.item()

    def save(self, folder: Path) -> None:
        """LeRobot's pretrained layout: config.json + model.safetensors + the processors (with the stats)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.policy.save_pretrained(folder)
        self.preprocessor.save_pretrained(folder)
        self.postprocessor.save_pretrained(folder)


def lerobot_policy_kind(path: str | Path) -> str | None:
    """ "act" / "diffusion" for a folder `BaselineTrainer.save` wrote (config.json whose "type" is a
    baseline, plus model.safetensors), else None.

    Our own checkpoints also hold config.json + model.safetensors, but their config has no "type" field.
    """
    folder = Path(path)
    config, weights = folder / "config.json", folder / "model.safetensors"
    if not (config.is_file() and weights.is_file()):
        return None
    try:
        kind = json.loads(config.read_text()).get("type")
    except (json.JSONDecodeError, AttributeError):
        return None
    return kind if kind in BASELINES else None


def is_lerobot_policy_folder(path: str | Path) -> bool:
    return lerobot_policy_kind(path) is not None


class LeRobotPolicySource:
    """Evaluation source (`start`, `act`) for a saved baseline folder; lerobot's own chunk queue executes it.

    `overrides` sets config fields at load time (e.g. `{"n_action_steps": 30}`); None keeps the saved ones.
    """

    first_second_confidence = first_second_abstain = held_after_first_s = None  # ACT and DP give none

    def __init__(
        self, folder: str | Path, device: torch.device | str | None = None, overrides: dict | None = None
    ):
        import torch
        from lerobot.configs.policies import PreTrainedConfig
        from lerobot.policies.factory import get_policy_class, make_pre_post_processors

        folder = Path(folder)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        config = PreTrainedConfig.from_pretrained(folder)
        config.device = self.device.type
        for name, value in (overrides or {}).items():
            setattr(config, name, value)
        self.policy = get_policy_class(config.type).from_pretrained(folder, config=config).to(self.device)
        self.policy.eval()
        self.preprocessor, self.postprocessor = make_pre_post_processors(
            config,
            pretrained_path=str(folder),
            preprocessor_overrides={"device_processor": {"device": str(self.device)}},
        )
        self.instruction = ""

    def start(self, env, observation: dict) -> None:
        self.policy.reset()
        self.preprocessor.reset()
        self.postprocessor.reset()
        self.instruction = env.task_description

    def act(self, observation: dict) -> np.ndarray:
        import torch

        pixels = observation["pixels"]  # camera -> (H, W, 3) uint8
        batch = {
            f"observation.images.{camera}": torch.from_numpy(pixels[camera]).permute(2, 0, 1).float() / 255.0
            for camera in CAMERAS
        }  # (3, H, W) in [0, 1], as LeRobotDataset frames
        batch["observation.state"] = torch.from_numpy(np.asarray(observation["agent_pos"], dtype=np.float32))
        batch["task"] = self.instruction
        with torch.no_grad():
            action = self.postprocessor(self.policy.select_action(self.preprocessor(batch)))  # (1, 6) on CPU
        return action[0].float().numpy().astype(np.float32)
