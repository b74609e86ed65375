"""The VLA policy model: configuration, backbone, action head, assembly, checkpoints."""
