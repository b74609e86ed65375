"""Which policy runs when none is named (`vla eval`, `vla demo`).

The shipped default policy lives in `policies/tabletop_nano/` once a trained one is committed (the
evaluation issue). Until then the default is the scripted expert, and the commands say so.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_POLICY = Path(__file__).resolve().parent.parent / "policies" / "tabletop_nano"


def default_policy() -> str:
    """The shipped checkpoint folder if present, else "expert"."""
    return str(SHIPPED_POLICY) if (SHIPPED_POLICY / "model.safetensors").is_file() else "expert"
