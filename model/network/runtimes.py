"""The PyTorch runners (model/loading.py picks one): a model folder's fp32 weights, and the
optimised CPU copies that `newsroles export` writes (inference/export/exporter.py makes them).

An exported folder is a complete model folder (manifest, labels, config, tokenizer, metrics) whose
manifest says how to run it in `"runtime"`:

* `onnx`: the encoder as an ONNX graph, its attention, LayerNorm and GELU fused by ONNX Runtime's
  transformer optimiser, in fp32: the same answers as PyTorch up to float rounding, and quicker to load.
* `onnx-int8`: the same graph with the weights of its matrix products in int8 and each token's
  activations quantised on the fly (inference/export/int8_graph.py; exact kernels on every CPU,
  model/int8_kernels.py): the fastest, at some cost in accuracy, which `newsroles export
  --tune-bias` wins partly back.
* `int8`: PyTorch's dynamic int8 quantisation of the encoder's Linear layers, applied when the
  folder loads (the folder keeps the fp32 weights); needs nothing beyond torch.
* `bf16`: the fp32 weights run under PyTorch's bfloat16 autocast (matrix products in bf16,
  normalisation and softmax in fp32); faster than fp32 only on a CPU with native bf16 (AVX-512
  BF16 or AMX); on another CPU, slower (loading says so).

Speed and accuracy of each, measured: BENCHMARKS.md (benchmarks/labeling_speed.py).

Only the encoder changes: the per-sentence head (pooling, position features, BiGRU, classifier)
stays in fp32 and is stored as `head.safetensors` for the ONNX runtimes. Labeling with an ONNX
runtime goes through model/onnx_runtime.py, which imports neither torch nor transformers (the head
in numpy); `onnx_torch_runner` here wraps the same encoder as a PyTorch model for what needs one. Exported
folders run on the CPU; on a GPU, use the folder they were exported from.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from newsroles.model.network.classifier import SentenceRoleModel
from newsroles.model.network.device import native_bf16, resolve_device
from newsroles.model.errors import InputWarning, UserError
from newsroles.model.network.forward import TorchRunner
from newsroles.model.onnx_runtime import HEAD_FILE, OrtEncoder, load_onnx_parts
from newsroles.model.network.saved import load_transformer


class OnnxEncoder(nn.Module):
    """An OrtEncoder (model/onnx_runtime.py) behind the interface SentenceRoleModel calls.

    `forward(input_ids=, attention_mask=)` returns an object with `.last_hidden_state`, a torch
    tensor, like a Hugging Face encoder's output; `.config.hidden_size` sizes the head.
    """

    def __init__(self, ort: OrtEncoder, config: dict):
        super().__init__()
        self.ort = ort
        self.threads, self.mode, self.session = ort.threads, ort.mode, ort.session
        self.config = SimpleNamespace(**config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        ids = input_ids.cpu().numpy().astype(np.int64)
        mask = attention_mask.cpu().numpy().astype(np.int64)
        return SimpleNamespace(last_hidden_state=torch.from_numpy(self.ort(ids, mask)))


class _RuntimeRoleModel(nn.Module):
    """A SentenceRoleModel run a runtime's way; `spec` and `head` are the inner model's."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner
        self.spec = inner.spec
        self.head = inner.head


class OnnxRoleModel(_RuntimeRoleModel):
    """SentenceRoleModel over an OnnxEncoder, its small head run on one PyTorch thread.

    ONNX Runtime has the cores while the encoder runs (its idle workers spin for a while after);
    the head's small GRU steps and products gain nothing from a second thread and lose a lot when
    that thread waits for a busy core (BENCHMARKS.md).
    """

    def forward(self, batch):
        threads = torch.get_num_threads()
        if threads == 1:
            return self.inner(batch)
        torch.set_num_threads(1)
        try:
            return self.inner(batch)
        finally:
            torch.set_num_threads(threads)


class Bf16RoleModel(_RuntimeRoleModel):
    """SentenceRoleModel run under CPU bfloat16 autocast: the `bf16` runtime, whoever calls it."""

    def forward(self, batch):
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            return self.inner(batch)


def single_threaded_head(model: nn.Module) -> nn.Module:
    """Run a model's BiGRU context layer on one PyTorch thread, on the CPU.

    Its steps are small products separated by thread barriers: on two threads each barrier waits
    for the other core, and when anything else runs there (a training job, ONNX Runtime's spinning
    workers) a call took tens of times longer (BENCHMARKS.md). The encoder keeps every thread.
    """
    context = getattr(model, "context", None)
    if context is None or getattr(context, "_newsroles_single_threaded", False):
        return model
    saved: list[int] = []

    def before(module, args):
        saved.append(torch.get_num_threads())
        if saved[-1] != 1:
            torch.set_num_threads(1)

    def after(module, args, output):
        if saved:
            threads = saved.pop()
            if threads != 1:
                torch.set_num_threads(threads)

    context.register_forward_pre_hook(before)
    context.register_forward_hook(after, always_call=True)
    context._newsroles_single_threaded = True
    return model


CPU = torch.device("cpu")


def fp32_runner(folder: Path, manifest: dict, device: str = "auto") -> TorchRunner:
    """A model folder's fp32 weights on `device` ("auto": a GPU when there is one)."""
    where = resolve_device(device)
    model, tokenizer, _ = load_transformer(folder, where, manifest)
    if where.type == "cpu":
        single_threaded_head(model)  # its small GRU steps stall on two threads (see single_threaded_head)
    return TorchRunner(model, tokenizer, where)


def int8_runner(folder: Path, manifest: dict) -> TorchRunner:
    """The `int8` runtime: the fp32 weights, the encoder's Linear layers quantised as they load."""
    model, tokenizer, _ = load_transformer(folder, CPU, manifest)
    return TorchRunner(single_threaded_head(quantize_encoder(model)), tokenizer, CPU)


def bf16_runner(folder: Path, manifest: dict) -> TorchRunner:
    """The `bf16` runtime: the fp32 weights run under bf16 autocast (slower than fp32 on a CPU
    without native bf16: loading says so)."""
    if not native_bf16(CPU):
        warnings.warn(
            f"{folder}: this CPU does not compute bf16 natively, so the bf16 copy runs slower than fp32 here; "
            "use the original folder or an onnx export",
            InputWarning,
            stacklevel=2,
        )
    model, tokenizer, _ = load_transformer(folder, CPU, manifest)
    return TorchRunner(Bf16RoleModel(single_threaded_head(model)).eval(), tokenizer, CPU)


def onnx_torch_runner(folder: Path, manifest: dict) -> TorchRunner:
    """An `onnx` / `onnx-int8` export's encoder under the PyTorch head, for what needs a torch model
    (labeling uses the torch-free OnnxRunner, model/onnx_runtime.py)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    spec, encoder_config, ort_encoder, tokenizer = load_onnx_parts(folder, manifest, torch.get_num_threads())
    encoder = OnnxEncoder(ort_encoder, encoder_config)
    model = SentenceRoleModel(encoder, spec, len(manifest["labels"]), len(manifest.get("aux_labels") or []))
    try:
        load_model(model, str(folder / HEAD_FILE), strict=True, device="cpu")
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        raise UserError(f"corrupt or mismatched head weights ({str(exc).splitlines()[0][:200]})", folder / HEAD_FILE)
    return TorchRunner(OnnxRoleModel(model).eval(), tokenizer, CPU)


def quantize_encoder(model: nn.Module) -> nn.Module:
    """PyTorch dynamic int8 quantisation of the encoder's Linear layers, in place."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        from torch.ao.quantization import quantize_dynamic

        model.encoder = quantize_dynamic(model.encoder, {nn.Linear}, dtype=torch.qint8)
    return model
