"""What a run reports: the progress bar's figures, TensorBoard scalars (<out>/tensorboard) and the held-out
validation at each checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from vla.training.run_setup import TrainingRun
from vla.training.stream import StreamBatches


def tensorboard_writer(out: Path):
    """A TensorBoard SummaryWriter logging to `<out>/tensorboard`."""
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(str(out / "tensorboard"))


def log_step(
    run: TrainingRun, progress, writer, step: int, losses: dict, grad_norm: torch.Tensor, rate: float
) -> None:
    """One log point: the loss (`losses["actions"]`, or the total without one), the auxiliary losses present
    and, for a streamed run,
    episodes taken and rendered frames/s on the progress bar; the same plus grad norm, lr and samples/s
    (`rate`) in TensorBoard (`writer`, None on ranks other than 0)."""
    loss = losses.get("actions", losses["total"])
    streamed = {}
    if isinstance(run.loader, StreamBatches):  # episodes taken, rendered frames/s
        stats = run.loader.stats()
        streamed = {"episodes": stats["episodes"], "rendered_s": f"{stats['frames_per_s']:.0f}"}
    if "environment_state" in losses:
        streamed["loc"] = f"{losses['environment_state'].item():.3f}"
    if "task_choice_accuracy" in losses:  # share of the batch with object and destination right
        streamed["choice"] = f"{losses['task_choice_accuracy'].item():.2f}"
    if "abstain_accuracy" in losses:  # share of the batch on the right side of the threshold
        streamed["abstain"] = f"{losses['abstain_accuracy'].item():.2f}"
    if "pointing_accuracy" in losses:  # share of labelled roles whose likeliest answer is their token
        streamed["point"] = f"{losses['pointing_accuracy'].item():.2f}"
    if "pointing_px" in losses:  # the heatmap's mean distance (px) from the recorded positions' pixels
        streamed["point_px"] = f"{losses['pointing_px'].item():.1f}"
    progress.set_postfix(loss=f"{loss.item():.3f}", samples_s=f"{rate:.0f}", **streamed)
    if writer is not None:
        writer.add_scalar("train/loss", loss.item(), step)
        for name in ("environment_state", "task_choice", "abstain", "pointing"):
            if name in losses:
                writer.add_scalar(f"train/{name}_loss", losses[name].item(), step)
        for name in ("task_choice_accuracy", "abstain_accuracy", "pointing_accuracy", "pointing_px"):
            if name in losses:
                writer.add_scalar(f"train/{name}", losses[name].item(), step)
        writer.add_scalar("train/grad_norm", float(grad_norm), step)
        writer.add_scalar("train/lr", run.scheduler.get_last_lr()[0], step)
        writer.add_scalar("train/samples_per_s", rate, step)
        if isinstance(run.loader, StreamBatches):
            for name, value in run.loader.stats().items():
                writer.add_scalar(f"stream/{name}", value, step)


def validate(run: TrainingRun, writer, progress, step: int) -> float:
    """Held-out loss and action error of the model as it is now: a log line, and val/* in TensorBoard."""
    metrics = run.validation(run.model, run.encode, run.autocast)
    progress.write(f"step {step}: {metrics.summary()} ({run.validation.frames} frames)")
    if writer is not None:
        writer.add_scalar("val/loss", metrics.loss, step)
        writer.add_scalar("val/action_error_mean", float(metrics.action_error.mean()), step)
        for dim, error in enumerate(metrics.action_error):
            writer.add_scalar(f"val/action_error/{dim}", float(error), step)
        if metrics.localisation_error is not None:
            writer.add_scalar("val/localisation_error_mm", metrics.localisation_error * 1000, step)
    return metrics.loss
