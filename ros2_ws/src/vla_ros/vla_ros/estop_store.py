"""Where the e-stop latch lives between runs of a node: a small JSON state file, written atomically.

An e-stop must not be undone by a crash or a restart: a robot owner who pressed it expects the arm to stay
still until someone clears it on purpose (`estop_reset`), whatever happened to the process meanwhile. The
file is written on every change (temporary file, fsync, rename: a power cut leaves the old or the new file,
never half of one), and read when the node starts. A file that exists but cannot be read counts as latched.

Default path: $XDG_STATE_HOME/vla_ros/<node>.estop.json (XDG_STATE_HOME defaults to ~/.local/state), one
file per fully qualified node name, so two robots' nodes in different namespaces keep their own latch.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path


def default_state_file(node_fqn: str) -> Path:
    """The per-user state file of the node `node_fqn` (e.g. "/arm1/vla_policy" -> arm1.vla_policy)."""
    root = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    name = ".".join(part for part in node_fqn.split("/") if part) or "node"
    return root / "vla_ros" / f"{name}.estop.json"


class EStopStore:
    """load() -> (latched, problem); save(latched, reason) writes atomically (raises OSError on failure)."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser()

    def load(self) -> tuple[bool, str]:
        """(latched, problem): no file is not latched; an unreadable or malformed one is latched, with why."""
        if not self.path.exists():
            return False, ""
        try:
            latched = json.loads(self.path.read_text())["latched"]
            if not isinstance(latched, bool):
                raise ValueError(f"'latched' is {latched!r}, expected true or false")
        except (OSError, ValueError, KeyError, TypeError) as error:
            return True, (
                f"cannot read the e-stop state file {self.path} ({error}): treating the e-stop as latched; "
                "publish on estop_reset to clear it"
            )
        return latched, ""

    def save(self, latched: bool, reason: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "latched": latched,
            "reason": reason,
            "changed": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "pid": os.getpid(),
        }
        fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as file:
                json.dump(record, file)
                file.write("\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        try:  # the rename itself survives a power cut once the folder is synced
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError:
            pass
