"""StopSignals: the first SIGINT/SIGTERM is remembered for the loop to save on, a second one interrupts."""

from __future__ import annotations

import os
import signal

import pytest

from vla.training.interrupt import StopSignals


def test_first_signal_is_remembered_second_interrupts_and_handlers_come_back():
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    with StopSignals() as stop:
        assert stop.received is None
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.received == "SIGTERM"  # the loop goes on to save; nothing was raised
        with pytest.raises(KeyboardInterrupt, match="second stop signal"):
            os.kill(os.getpid(), signal.SIGINT)
    assert {sig: signal.getsignal(sig) for sig in before} == before


def test_disabled_leaves_the_handlers_alone():
    before = signal.getsignal(signal.SIGTERM)
    with StopSignals(enabled=False) as stop:
        assert signal.getsignal(signal.SIGTERM) is before
    assert stop.received is None
