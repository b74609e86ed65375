"""LeRobot reference policies (ACT, Diffusion Policy) trained from scratch on our data, evaluated here."""
