"""Writing a transformer's encoder as a fused (and optionally int8) ONNX graph, for `newsroles export`.

The int8 graph (inference/export/int8_graph.py) scales each token's activations on their own, chosen by
measurement over six trained models (BENCHMARKS.md, "Int8 per token").
"""

from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

OPSET = 17


def _encoder_graph(encoder):
    """The module torch.onnx traces: (input_ids, attention_mask) -> last_hidden_state."""
    from torch import nn

    class EncoderGraph(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids, attention_mask):
            return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    return EncoderGraph()


def _eager_copy(encoder):
    """The same encoder with plain (eager) attention: the form ONNX Runtime's optimiser fuses."""
    from transformers import AutoModel

    copy = AutoModel.from_config(encoder.config, attn_implementation="eager")
    copy.load_state_dict(encoder.state_dict())
    return copy.eval()


def export_encoder_onnx(encoder, path: Path, quantize: bool, workdir: Path) -> dict:
    """Write the encoder (a transformers model) as a fused (and optionally int8) ONNX graph at
    `path`; returns details."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model

    config = encoder.config
    graph = _encoder_graph(_eager_copy(encoder))
    vocab = int(getattr(config, "vocab_size", 100) or 100)
    ids = torch.randint(min(5, vocab - 1), vocab, (2, 24))
    mask = torch.ones_like(ids)
    mask[1, 17:] = 0
    raw = workdir / "encoder-raw.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notices about Python branches on shapes
        torch.onnx.export(
            graph,
            (ids, mask),
            str(raw),
            dynamo=False,
            opset_version=OPSET,
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")},
        )
    fused = optimize_model(
        str(raw),
        model_type="bert",
        num_heads=int(getattr(config, "num_attention_heads", 0) or 0),
        hidden_size=int(getattr(config, "hidden_size", 0) or 0),
        opt_level=0,  # fusions only; the session applies the CPU-specific rewrites when it loads
    )
    fusions = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    optimised = workdir / "encoder-fused.onnx"
    fused.save_model_to_file(str(optimised))
    details = {"opset": OPSET, "fusions": fusions}
    if quantize:
        # optional: onnx export; int8_graph.py imports onnx (seconds) at its top, not needed by the other runtimes or the CLI's start
        from newsroles.inference.export.int8_graph import write_int8_encoder

        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))  # onnxruntime's "consider pre-processing" notice
        try:
            details["quantization"] = write_int8_encoder(optimised, path, workdir)
        finally:
            root.setLevel(level)
    else:
        shutil.copyfile(optimised, path)
    return details
