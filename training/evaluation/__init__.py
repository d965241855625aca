"""Scoring predictions against gold labels: per-role metrics, calibration error, model comparison and its significance tests."""
