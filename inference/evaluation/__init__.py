"""Scoring models on labeled data: evaluate, compare and their reports and figures."""
