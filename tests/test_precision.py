"""bf16 on a CPU that emulates it is named before it slows a run down ~10x."""

import pytest
import torch

from vla.training import precision


@pytest.mark.parametrize(
    ("units", "asked", "warned"),
    [
        (False, "bf16", True),
        (True, "bf16", False),
        (None, "bf16", False),
        (False, "fp32", False),
        (False, "auto", False),
    ],
)
def test_bf16_without_cpu_units_warns(monkeypatch, capsys, units, asked, warned):
    monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: units)
    context = precision.autocast_for(asked, torch.device("cpu"))
    with context:
        assert torch.is_autocast_enabled("cpu") == (asked == "bf16")
    assert ("AVX-512 bf16 or AMX" in capsys.readouterr().err) == warned


def test_the_pinned_torch_has_the_cpu_probes():
    """The probes are private to torch.cpu; if a torch upgrade drops them the warning goes silent (None)."""
    assert isinstance(precision.cpu_has_bf16_units(), bool)
