"""How a model is made: the run's steps (run.py), config, training loop, checkpoints, processes and tracking."""
