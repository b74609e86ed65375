"""Inference on its own thread, so the control timer never waits for the policy (no rclpy here).

One request at a time: `request()` refuses a second while one is queued (the scheduler asks again next
tick). Each result carries the tick and generation of its request; the node drops results of an older
generation (a plan forgotten by the e-stop, a replan, a deactivation). `on_result()` is called from the
worker thread after each result is queued (the node triggers a guard condition with it, so the executor
takes the result at once instead of at the next control tick).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vla.contract import TASK


@dataclass
class ChunkResult:
    chunk: dict | None  # the runtime's `infer(obs)` answer (actions, confidence, abstain), None on failure
    tick: int  # control tick of the observation
    generation: int
    stamp: float  # capture stamp (ROS time, s) of the oldest frame used
    instruction: str  # the observation's instruction (what an abstaining answer refuses)
    error: str | None = None


class InferenceWorker:
    def __init__(self, runtime, on_result: Callable[[], None] | None = None):
        self.runtime = runtime
        self.on_result = on_result  # called from the worker thread: must be thread-safe
        self._stopping = False
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
        self._stopping = True  # no more wake-ups: the node may destroy what on_result touches
        with contextlib.suppress(queue.Full):  # None stops the loop after the inference in flight
            self._requests.put(None, timeout=timeout_s)
        self._thread.join(timeout=timeout_s)

    def _loop(self) -> None:
        while (request := self._requests.get()) is not None:
            obs, tick, generation, stamp = request
            instruction = obs.get(TASK, "")
            start = time.perf_counter()
            try:
                chunk = self.runtime.infer(obs)
            except Exception as error:  # report and keep the node alive; the controller holds meanwhile
                failed = f"inference failed: {error}"
                self._finish(ChunkResult(None, tick, generation, stamp, instruction, failed))
                continue
            self.inference_ms.append((time.perf_counter() - start) * 1e3)
            self._finish(ChunkResult(chunk, tick, generation, stamp, instruction))

    def _finish(self, result: ChunkResult) -> None:
        self._results.put(result)
        if self.on_result is not None and not self._stopping:
            self.on_result()


def start_inference(p: dict, logger, on_result: Callable[[], None]) -> tuple[object, InferenceWorker]:
    """Load the export folder of the policy node's parameters `p` with the torch-free runtime, check its
    cameras against `camera_names`, warm it up and start its worker. ValueError names the parameter."""
    from vla.runtime import RuntimePolicy

    if not p["export_dir"]:
        raise ValueError("parameter export_dir is empty: set it to a `vla export` folder")
    start = time.monotonic()
    runtime = RuntimePolicy(p["export_dir"], p["variant"], p["provider"], p["threads"] or None)
    cameras = list(runtime.export.cameras)
    if cameras != list(p["camera_names"]):
        raise ValueError(f"camera_names {p['camera_names']} differ from the export's cameras {cameras}")
    runtime.warmup()
    logger.info(
        f"loaded {p['export_dir']} ({p['variant']}, {p['provider']}) in {time.monotonic() - start:.1f} s"
    )
    return runtime, InferenceWorker(runtime, on_result=on_result)
