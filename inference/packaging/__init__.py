"""Shareable models: `newsroles package` turns a model folder into a pip-installable wheel."""
