"""vla: the policy library and the `vla` command line (models, training, evaluation, export)."""

__version__ = "0.1.0"
