"""Which policy runs when none is named (`vla eval`, `vla demo`, `vla export`): the shipped checkpoint.

No silent fallback: when the shipped policy's weights are missing (a deleted or partly copied folder),
the command stops with an error naming the file. The scripted expert runs only when asked
for by name (`--policy expert`).
"""

from __future__ import annotations

from pathlib import Path

from vla.runtime.errors import MissingInputError

SHIPPED_POLICY = Path(__file__).resolve().parent.parent / "policies" / "tabletop_nano"
WEIGHTS = "model.safetensors"


def default_policy() -> str:
    """The shipped checkpoint folder; MissingInputError naming its weights file when that is missing."""
    weights = SHIPPED_POLICY / WEIGHTS
    if not weights.is_file():
        raise MissingInputError(
            f"the default policy's weights {weights} are missing: restore them (`git checkout -- "
            f"{SHIPPED_POLICY.name}` in {SHIPPED_POLICY.parent}) or name a policy: --policy <checkpoint or "
            "export folder>, or --policy expert for the scripted expert"
        )
    return str(SHIPPED_POLICY)
