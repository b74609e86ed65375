"""Stopping a training run cleanly: Ctrl-C or SIGTERM (a scheduler's preemption) saves, then stops.

The first SIGINT or SIGTERM is remembered; the loop finishes its optimiser step, saves a checkpoint and
leaves, so `--run.resume` continues from that step instead of the last `--run.save_every` one. A second signal
interrupts at once (KeyboardInterrupt), for a save that hangs.
"""

from __future__ import annotations

import signal
import threading

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Context manager: `received` is the name of the first stop signal ("SIGTERM"), or None."""

    def __init__(self, enabled: bool = True):
        # Handlers can only be installed from the main thread; under torchrun every rank would stop at a
        # different step and leave the others waiting in a collective, so DDP runs keep the defaults.
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.received: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopSignals:
        if self.enabled:
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, _frame) -> None:
        if self.received is not None:
            raise KeyboardInterrupt(f"second stop signal ({signal.Signals(signum).name}) while saving")
        self.received = signal.Signals(signum).name
