"""Inference on its own thread, so the control timer never waits for the policy (no rclpy here).

One request at a time: `request()` refuses a second while one is queued (the scheduler asks again next
tick). Each result carries the tick and generation of its request; the node drops results of an older
generation (a plan forgotten by the e-stop, a replan, a deactivation).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass


@dataclass
class ChunkResult:
    chunk: dict | None  # the runtime's answer ("actions" (T, A), "confidence" (T,)), None on failure
    tick: int  # control tick of the observation
    generation: int
    stamp: float  # capture stamp (ROS time, s) of the oldest frame used
    error: str | None = None


class InferenceWorker:
    def __init__(self, runtime):
        self.runtime = runtime
        self.inference_ms: list[float] = []
        self._requests: queue.Queue = queue.Queue(maxsize=1)
        self._results: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="vla_inference", daemon=True)
        self._thread.start()

    def request(self, obs: dict, tick: int, generation: int, stamp: float) -> bool:
        """Queue an observation; False when a request is already waiting."""
        try:
            self._requests.put_nowait((obs, tick, generation, stamp))
            return True
        except queue.Full:
            return False

    def results(self) -> list[ChunkResult]:
        """Results that arrived since the last call, oldest first."""
        done = []
        while not self._results.empty():
            done.append(self._results.get_nowait())
        return done

    def stop(self, timeout_s: float = 5.0) -> None:
        with contextlib.suppress(queue.Full):  # None stops the loop after the inference in flight
            self._requests.put(None, timeout=timeout_s)
        self._thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        while (request := self._requests.get()) is not None:
            obs, tick, generation, stamp = request
            start = time.perf_counter()
            try:
                chunk = self.runtime.infer(obs)
            except Exception as error:  # report and keep the node alive; the controller holds meanwhile
                self._results.put(ChunkResult(None, tick, generation, stamp, f"inference failed: {error}"))
                continue
            self.inference_ms.append((time.perf_counter() - start) * 1e3)
            self._results.put(ChunkResult(chunk, tick, generation, stamp))
