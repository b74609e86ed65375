"""The policy node's reports: ~/status (latched JSON), /diagnostics and ~/estop_latched (latched Bool).

~/status      {"lifecycle", "level", "detail"}: published when one of them changes, never per tick.
/diagnostics  one DiagnosticStatus "<node>: policy": at once when its level or message changes, and as a
              heartbeat every `diagnostics_period_s` (ages, counters and latencies in its values).
~/estop_latched  the e-stop latch, published at start-up and on every change (late joiners get it).

What each message means is in the package README ("## Diagnostics").
"""

from __future__ import annotations

import json
import time

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Bool, String

from vla_ros.diagnostics import ERROR, OK, WARN, Condition, LogLimiter, condition
from vla_ros.topics import LATCHED

LEVELS = {OK: DiagnosticStatus.OK, WARN: DiagnosticStatus.WARN, ERROR: DiagnosticStatus.ERROR}


class PolicyReporter:
    """Publishes what `node` (a PolicyNode) is doing; `changed()` after any change, `heartbeat()` on a timer.

    Reads the node's `active`, `hold_reason`, `hold_is_error`, `hold_detail`, `estop`, `last_error`,
    `counts`, `worker`, `obs_to_command_ms`, `last_abstain` and `inputs.instruction`.
    """

    def __init__(self, node, diagnostics_period_s: float):
        self.node = node
        self.status_pub = node.create_publisher(String, "~/status", LATCHED)
        self.estop_pub = node.create_publisher(Bool, "~/estop_latched", LATCHED)
        self.diagnostics_pub = node.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.timer = node.create_timer(diagnostics_period_s, self.heartbeat)
        self._last_status: tuple | None = None
        self._last_diagnostic: Condition | None = None

    def lifecycle(self) -> str:
        if self.node.active:
            return "active"
        return "inactive" if self.node.runtime is not None else "unconfigured"

    def condition(self, with_transient_errors: bool) -> Condition:
        node = self.node
        return condition(
            node.active,
            node.hold_reason,
            node.hold_is_error,
            node.estop.latched,
            node.estop.store_error,
            node.last_error if with_transient_errors else "",
        )

    def changed(self) -> None:
        """Publish ~/status and /diagnostics if what they say changed since they were last published.

        ~/status leaves out transient errors (one rejected frame): it tells the state the node is in.
        """
        now = self.condition(with_transient_errors=False)
        status = (self.lifecycle(), now.level, now.message)
        if status != self._last_status:
            self._last_status = status
            self.status_pub.publish(
                String(data=json.dumps(dict(zip(("lifecycle", "level", "detail"), status, strict=True))))
            )
        if self.condition(with_transient_errors=True) != self._last_diagnostic:
            self.publish_diagnostics()

    def publish_estop(self) -> None:
        self.estop_pub.publish(Bool(data=self.node.estop.latched))

    def heartbeat(self) -> None:
        self.publish_diagnostics()
        self.node.last_error = ""  # each transient error is reported until the next heartbeat

    def publish_diagnostics(self) -> None:
        node = self.node
        now = self._last_diagnostic = self.condition(with_transient_errors=True)
        inference_ms = node.worker.inference_ms[-200:] if node.worker is not None else []
        latency = np.percentile(inference_ms, [50, 99]) if inference_ms else [0.0, 0.0]
        obs_ms = node.obs_to_command_ms[-500:]
        values = {
            "lifecycle": self.lifecycle(),
            "active": node.active,
            "hold_reason": node.hold_reason,
            "hold_detail": node.hold_detail,
            "instruction": node.inputs.instruction,
            "abstain": "" if node.last_abstain is None else f"{node.last_abstain:.2f}",
            "last_error": node.last_error,
            "estop_latched": node.estop.latched,
            "estop_triggers": node.estop.triggers,
            "estop_state_file": str(node.estop.store.path) if node.estop.store else "",
            "inference_p50_ms": f"{latency[0]:.1f}",
            "inference_p99_ms": f"{latency[1]:.1f}",
            "obs_to_command_p50_ms": f"{np.percentile(obs_ms, 50):.1f}" if obs_ms else "",
            "obs_to_command_p99_ms": f"{np.percentile(obs_ms, 99):.1f}" if obs_ms else "",
        } | node.counts
        self.diagnostics_pub.publish(
            diagnostic_array(node, "policy", now, node.get_parameter("export_dir").value, values)
        )


def diagnostic_array(node, role: str, now: Condition, hardware_id: str, values: dict) -> DiagnosticArray:
    """One DiagnosticStatus "<node name>: <role>" with `now`'s level and message, stamped now."""
    status = DiagnosticStatus(
        level=LEVELS[now.level],
        name=f"{node.get_name()}: {role}",
        message=now.message,
        hardware_id=hardware_id,
        values=[KeyValue(key=k, value=str(v)) for k, v in values.items()],
    )
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array


class RateLimitedLog:
    """A node logger behind a `LogLimiter`: each method returns whether the line was logged; `always`
    bypasses the limit (the end of a hold whose start was logged).

    One method per severity: rclpy ties a severity to each call site.
    """

    def __init__(self, logger, interval_s: float = 1.0):
        self.logger = logger
        self.limiter = LogLimiter(interval_s)

    def _line(self, message: str, always: bool) -> str | None:
        if not self.limiter.allow(message, time.monotonic()) and not always:
            return None
        return message + self.limiter.suppressed(message)

    def error(self, message: str, always: bool = False) -> bool:
        if (line := self._line(message, always)) is not None:
            self.logger.error(line)
        return line is not None

    def warning(self, message: str, always: bool = False) -> bool:
        if (line := self._line(message, always)) is not None:
            self.logger.warning(line)
        return line is not None

    def info(self, message: str, always: bool = False) -> bool:
        if (line := self._line(message, always)) is not None:
            self.logger.info(line)
        return line is not None


def log_estop_at_start(logger, estop, reset_topic: str) -> None:
    """Say at start-up that the e-stop is still latched from before (or its state file is unreadable)."""
    if estop.store_error:
        logger.error(estop.store_error)
    elif estop.latched:
        logger.warning(
            f"e-stop latched since before this start ({estop.store.path}): no commands until a message on "
            f"{reset_topic}"
        )
