"""Optimised CPU copies of a model: the ONNX graph, the per-token int8 graph and the checks of a copy."""
