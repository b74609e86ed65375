"""What the policy node reports, decided as pure functions: the diagnostic level and message of its
condition, and a rate limit for its log lines.

Reports follow changes, not control ticks: the node publishes ~/status and an extra /diagnostics message
when (level, message) changes, and a /diagnostics heartbeat every `diagnostics_period_s`. So a message must
stay the same while its cause lasts: ages and measured values go to the diagnostics' key/values, never
into the message.
"""

from __future__ import annotations

import re
from typing import NamedTuple

OK, WARN, ERROR = "ok", "warn", "error"  # ~/status "level"; diagnostic_msgs levels 0, 1, 2


class Condition(NamedTuple):
    level: str  # OK, WARN or ERROR
    message: str


def condition(
    active: bool,
    hold_reason: str,
    hold_is_error: bool,
    estop_latched: bool,
    estop_store_error: str = "",
    last_error: str = "",
) -> Condition:
    """The node's condition, worst first: the e-stop and its state file, a hold for a fault (a joint fault,
    an empty instruction), a transient error since the last report (a rejected frame or chunk), a hold for
    a passing reason (stale input, waiting for inference), then OK."""
    if estop_store_error:
        return Condition(ERROR, estop_store_error)
    if estop_latched:
        return Condition(ERROR, "e-stop latched: publish on estop_reset to clear it")
    if hold_reason and hold_is_error:
        return Condition(ERROR, f"holding: {hold_reason}")
    if last_error:
        return Condition(ERROR, last_error)
    if hold_reason and active:
        return Condition(WARN, f"holding: {hold_reason}")
    return Condition(OK, "sending commands" if active else "inactive")


class LogLimiter:
    """At most one log line per kind of message every `interval_s`.

    The kind is the message with its numbers blanked out ("shoulder_pan 0.10 -> 2.22 rad in 0.04 s" and
    "shoulder_pan 0.31 -> 2.40 rad in 0.03 s" are one kind), so a new condition is always logged while a
    condition that flips every tick (a camera at the edge of max_input_age_s), or a sensor glitching at
    100 Hz, logs once per interval. The line that follows a suppressed stretch says how many it stood for.
    """

    def __init__(self, interval_s: float = 1.0):
        self.interval_s = interval_s
        self._last: dict[str, float] = {}  # kind -> time of its last logged line
        self._dropped: dict[str, int] = {}

    @staticmethod
    def kind(message: str) -> str:
        return re.sub(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", "#", message)

    def allow(self, message: str, now: float) -> bool:
        kind = self.kind(message)
        last = self._last.get(kind)
        if last is not None and now - last < self.interval_s:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return False
        self._last[kind] = now
        if len(self._last) > 1000:  # forget the oldest kinds (messages with names in them are unbounded)
            for old in sorted(self._last, key=self._last.get)[:500]:
                del self._last[old]
                self._dropped.pop(old, None)
        return True

    def suppressed(self, message: str) -> str:
        """ " (N similar log lines suppressed)" once after lines of this kind were dropped, else ""."""
        dropped = self._dropped.pop(self.kind(message), 0)
        return f" ({dropped} similar log lines suppressed)" if dropped else ""
