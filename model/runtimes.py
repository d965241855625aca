"""Loading the optimised CPU copies that `newsroles export` writes (inference/export.py makes them).

An exported folder is a complete model folder (manifest, labels, config, tokenizer, metrics) whose
manifest says how to run it in `"runtime"`:

* `onnx`: the encoder as an ONNX graph, its attention, LayerNorm and GELU fused by ONNX Runtime's
  transformer optimiser, in fp32: the same answers as PyTorch up to float rounding, and quicker to load.
* `onnx-int8`: the same graph with the weights of its matrix products quantised to int8 (dynamic
  quantisation: activations are quantised on the fly, per batch): the fastest, at some cost in
  accuracy, which `newsroles export --tune-bias` wins partly back.
* `int8`: PyTorch's dynamic int8 quantisation of the encoder's Linear layers, applied when the
  folder loads (the folder keeps the fp32 weights); needs nothing beyond torch.
* `bf16`: the fp32 weights run under PyTorch's bfloat16 autocast (matrix products in bf16,
  normalisation and softmax in fp32); faster than fp32 only on a CPU with native bf16 (AVX-512
  BF16 or AMX); on another CPU, slower (loading says so).

Speed and accuracy of each, measured: BENCHMARKS.md (benchmarks/labeling_speed.py).

Only the encoder changes: the per-sentence head (pooling, position features, BiGRU, classifier)
stays in PyTorch fp32 and is stored as `head.safetensors` for the ONNX runtimes; it is a small
share of the time. The ONNX runtimes load without importing `transformers` (the tokenizer is read
straight from `tokenizer.json` by the `tokenizers` library), which keeps `newsroles label` quick
to start. Exported folders run on the CPU; on a GPU, use the folder they were exported from.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import nn

from newsroles.model.errors import UserError
from newsroles.model.folder import MANIFEST, read_config

RUNTIMES = {
    "onnx": "ONNX Runtime, fused encoder graph in fp32 (the same answers as PyTorch up to rounding)",
    "onnx-int8": "ONNX Runtime, fused encoder graph, int8 dynamically quantised weights (fastest; costs accuracy)",
    "int8": "PyTorch dynamic int8 quantisation of the encoder's Linear layers, applied on load",
    "bf16": "PyTorch bfloat16 autocast, for CPUs that compute bf16 natively (AVX-512 BF16 or AMX)",
}
DEFAULT_RUNTIME = "onnx"
ONNX_RUNTIMES = ("onnx", "onnx-int8")
ENCODER_FILE = "encoder.onnx"
HEAD_FILE = "head.safetensors"


def runtime_of(manifest: dict) -> str:
    return str(manifest.get("runtime") or "fp32")


class FastTokenizer:
    """What windowing needs of a Hugging Face fast tokenizer, read from `tokenizer.json` alone.

    The same tokenisation as `AutoTokenizer` (it drives the same `tokenizers` backend with the same
    truncation), without importing `transformers`, which takes seconds.
    """

    def __init__(self, folder: str | Path):
        from tokenizers import Tokenizer

        folder = Path(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._max_length: int | None = None
        config = {}
        for name in ("special_tokens_map.json", "tokenizer_config.json"):
            path = folder / name
            if path.is_file():
                config.update(json.loads(path.read_text(encoding="utf-8")))
        self.cls_token_id = self._special_id(config, "cls_token", "[CLS]")
        self.sep_token_id = self._special_id(config, "sep_token", "[SEP]")
        self.pad_token_id = self._special_id(config, "pad_token", "[PAD]")

    def _special_id(self, config: dict, key: str, default: str) -> int | None:
        token = config.get(key, default)
        if isinstance(token, dict):
            token = token.get("content")
        return self._tokenizer.token_to_id(token) if token else None

    def __call__(self, texts, add_special_tokens: bool = True, truncation: bool = False, max_length: int | None = None):
        single = isinstance(texts, str)
        limit = max_length if truncation and max_length else None
        if limit != self._max_length:
            if limit is None:
                self._tokenizer.no_truncation()
            else:
                self._tokenizer.enable_truncation(limit, stride=0, strategy="longest_first", direction="right")
            self._max_length = limit
        encodings = self._tokenizer.encode_batch([texts] if single else list(texts), add_special_tokens=add_special_tokens)
        ids = [e.ids for e in encodings]
        return {"input_ids": ids[0] if single else ids}


class OnnxEncoder(nn.Module):
    """An encoder run by ONNX Runtime behind the interface SentenceRoleModel calls.

    `forward(input_ids=, attention_mask=)` returns an object with `.last_hidden_state`, a torch
    tensor, like a Hugging Face encoder's output; `.config.hidden_size` sizes the head.

    Threads (`threads`, default PyTorch's count; `mode`, default env NEWSROLES_ORT_MODE or "split"):
    "split" cuts each batch into one slice per thread and runs the slices at once on a single-
    threaded session: no barrier between threads inside the graph, so a core taken by another job
    slows one slice rather than every operator. "intra" is ONNX Runtime's own intra-op threading
    and "nospin" the same without its spin-waiting. On the 2-core machine with a training job
    beside it, split was the fastest of the three (BENCHMARKS.md). Dynamic quantisation scales each
    slice's activations on their own, so int8 results move in the last digits with the batching.
    """

    def __init__(self, path: str | Path, config: dict, threads: int | None = None, mode: str | None = None):
        super().__init__()
        import os

        import onnxruntime as ort

        self.threads = max(1, threads or torch.get_num_threads())
        self.mode = mode or os.environ.get("NEWSROLES_ORT_MODE", "split")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if self.mode == "split" else self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if self.mode == "nospin":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = SimpleNamespace(**config)
        self._pool = None

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        ids = input_ids.cpu().numpy().astype(np.int64)
        mask = attention_mask.cpu().numpy().astype(np.int64)
        parts = min(self.threads, len(ids)) if self.mode == "split" else 1
        if parts <= 1:
            hidden = self._run(ids, mask)
        else:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads)
            bounds = np.linspace(0, len(ids), parts + 1).astype(int)
            futures = [self._pool.submit(self._run, ids[a:b], mask[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
            hidden = np.concatenate([f.result() for f in futures])
        return SimpleNamespace(last_hidden_state=torch.from_numpy(hidden))


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


def require_onnxruntime(what: str) -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError(f"{what} needs ONNX Runtime: pip install onnxruntime") from None


def load_exported(folder: str | Path, manifest: dict, device: torch.device):
    """Rebuild an exported folder's classifier on the CPU: (model, tokenizer, manifest)."""
    from newsroles.model.classifier import SentenceRoleModel
    from newsroles.model.saved import load_transformer, spec_from_config

    folder = Path(folder)
    runtime = runtime_of(manifest)
    if runtime not in RUNTIMES:
        raise UserError(
            f"unknown runtime {runtime!r} in the manifest; this newsroles knows fp32, {', '.join(RUNTIMES)} "
            "(export the model again with this version)",
            folder / MANIFEST,
        )
    if device.type != "cpu":
        source = (manifest.get("exported_from") or {}).get("path") or "the folder it was exported from"
        raise UserError(
            f"this is an optimised CPU copy of a model (runtime {runtime}); use --device cpu, "
            f"or give the original model folder on a GPU ({source})",
            folder,
        )
    if runtime == "int8":
        model, tokenizer, _ = load_transformer(folder, device, runtime="fp32")
        quantize_encoder(model)
        return model, tokenizer, manifest
    if runtime == "bf16":  # the fp32 weights, run under bf16 autocast
        from newsroles.model.device import native_bf16

        if not native_bf16(device):
            import warnings

            from newsroles.model.errors import InputWarning

            warnings.warn(
                f"{folder}: this CPU does not compute bf16 natively, so the bf16 copy runs slower than fp32 here; "
                "use the original folder or an onnx export",
                InputWarning,
                stacklevel=2,
            )
        model, tokenizer, _ = load_transformer(folder, device, runtime="fp32")
        return Bf16RoleModel(single_threaded_head(model)).eval(), tokenizer, manifest
    require_onnxruntime(f"model folder {folder} (runtime {runtime})")
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    spec = spec_from_config(read_config(folder))
    encoder_config = json.loads((folder / "encoder" / "config.json").read_text(encoding="utf-8"))
    try:
        encoder = OnnxEncoder(folder / ENCODER_FILE, encoder_config)
    except Exception as exc:  # onnxruntime raises its own exception types for a bad graph
        raise UserError(f"cannot load the ONNX encoder ({str(exc).splitlines()[0][:200]})", folder / ENCODER_FILE)
    try:
        tokenizer = FastTokenizer(folder)
    except Exception as exc:
        raise UserError(f"cannot load the tokenizer ({str(exc).splitlines()[0][:200]})", folder / "tokenizer.json")
    model = SentenceRoleModel(encoder, spec, len(manifest["labels"]), len(manifest.get("aux_labels") or []))
    try:
        load_model(model, str(folder / HEAD_FILE), strict=True, device="cpu")
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        raise UserError(f"corrupt or mismatched head weights ({str(exc).splitlines()[0][:200]})", folder / HEAD_FILE)
    return OnnxRoleModel(model).eval(), tokenizer, manifest


def quantize_encoder(model: nn.Module) -> nn.Module:
    """PyTorch dynamic int8 quantisation of the encoder's Linear layers, in place."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        from torch.ao.quantization import quantize_dynamic

        model.encoder = quantize_dynamic(model.encoder, {nn.Linear}, dtype=torch.qint8)
    return model
