"""Torch-free inference: an export folder (`vla export`) run with numpy, onnxruntime and tokenizers only.

    from vla.runtime import RuntimePolicy
    policy = RuntimePolicy("exports/tabletop_nano", variant="int8")
    policy.reset()
    policy.infer(obs) -> {"actions": (T, 6) float32, "confidence": (T,) float32, "abstain": () float32}

Same contract as `vla.policy.VLAPolicy`. Works on Python 3.10 (JetPack 6); requirements.txt beside this
file lists what it needs. Nothing here may import torch, transformers or the simulator.
"""

from vla.runtime.errors import BadInputError, MissingInputError
from vla.runtime.export_folder import ExportFolder
from vla.runtime.policy import RuntimePolicy
from vla.runtime.providers import PROVIDERS, session_options

__all__ = [
    "PROVIDERS",
    "BadInputError",
    "ExportFolder",
    "MissingInputError",
    "RuntimePolicy",
    "session_options",
]
