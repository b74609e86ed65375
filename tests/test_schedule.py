"""The learning-rate schedule: by steps, or by the share of a wall-time cap (`--optim.schedule time`)."""

from __future__ import annotations

import pytest

from vla.config_cli import parse
from vla.training.optim import ScheduleClock, warmup_cosine
from vla.training.train_config import TrainConfig


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr("vla.training.optim.time.perf_counter", fake)
    return fake


def test_by_steps_the_clock_is_the_step(clock):
    schedule = ScheduleClock(warmup_steps=10, total_steps=1000)
    schedule.start()
    clock.now += 10_000
    assert schedule.position(500) == 500
    assert schedule.multiplier(500) == pytest.approx(warmup_cosine(500, 10, 1000))


def test_by_time_the_cosine_reaches_its_floor_at_the_cap_whatever_the_step(clock):
    schedule = ScheduleClock(warmup_steps=10, total_steps=100_000, max_seconds=60.0)
    schedule.start()
    assert schedule.multiplier(5) == pytest.approx(warmup_cosine(5, 10, 100_000))  # warm-up is by step
    clock.now += 30.0  # half the cap: half-way down the cosine, though few steps were made
    assert schedule.position(200) == pytest.approx(10 + 0.5 * (100_000 - 10))
    assert schedule.multiplier(200) == pytest.approx(0.55)
    clock.now += 30.0
    assert schedule.multiplier(400) == pytest.approx(0.1)  # the floor
    clock.now += 30.0  # past the cap: stays at the floor
    assert schedule.multiplier(500) == pytest.approx(0.1)


def test_by_time_a_fast_run_still_follows_its_steps(clock):
    schedule = ScheduleClock(warmup_steps=10, total_steps=1000, max_seconds=600.0)
    schedule.start()
    clock.now += 1.0  # the steps are further along than the clock
    assert schedule.position(900) == 900


def test_a_time_schedule_needs_a_cap_and_no_resume(tmp_path):
    def config(*options: str) -> TrainConfig:
        return parse(TrainConfig, ["--data.dataset", str(tmp_path), "--run.out", "run", *options], {})

    with pytest.raises(ValueError, match=r"--optim\.max_seconds"):
        config("--optim.schedule", "time")
    with pytest.raises(ValueError, match=r"--run\.resume"):
        config("--optim.schedule", "time", "--optim.max_seconds", "60", "--run.resume")
    with pytest.raises(ValueError, match=r"--optim\.schedule is one of steps, time; got 'hours'"):
        config("--optim.schedule", "hours")
