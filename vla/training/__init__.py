"""Training the VLA policy on LeRobot datasets (`vla train`)."""
