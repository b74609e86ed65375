"""Export a trained checkpoint for the torch-free runtime (`vla.runtime`): ONNX graphs + the JSON files."""

from vla.export.onnx_export import VARIANTS, export_policy

__all__ = ["VARIANTS", "export_policy"]
