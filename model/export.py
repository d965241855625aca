"""Optimised CPU copies of a transformer model folder: `newsroles export`, and loading them.

An exported folder is a complete model folder (manifest, labels, config, tokenizer, metrics) whose
manifest says how to run it in `"runtime"`:

* `onnx` (the default): the encoder as an ONNX graph, its attention, LayerNorm and GELU fused by
  ONNX Runtime's transformer optimiser, in fp32: the same answers as PyTorch up to float rounding
  (the same macro-F1 on validation), about 1.15x faster on the 2-core CPU, and quicker to load.
* `onnx-int8`: the same graph with the weights of its matrix products quantised to int8 (dynamic
  quantisation: activations are quantised on the fly, per batch). On the default model about 2.1x
  the PyTorch fp32 speed. The previous default's copy lost 0.8-1.2 macro-F1 points on validation
  with the original's label biases and 0.41 with biases tuned again for the copy on the same dev
  split (`--tune-bias`); today's default's tuned copy loses 0.09.
  Leaving the last layer, the FFN outputs or the attention unquantised did not help as much.
* `int8`: PyTorch's dynamic int8 quantisation of the encoder's Linear layers, applied when the
  folder loads (the folder keeps the fp32 weights); needs nothing beyond torch.
* `bf16`: the fp32 weights run under PyTorch's bfloat16 autocast (matrix products in bf16,
  normalisation and softmax in fp32). On a CPU with native bf16 (AVX-512 BF16 or AMX, as the
  project's EPYC machine has) 1.5-1.9x the fp32 speed, with 99.8-100% of labels unchanged and
  -0.03 to -0.3 macro-F1 points on validation (two models); on a CPU without it, slower than fp32
  (loading says so).

Measured on the project's 2-core CPU (AVX-512 VNNI and BF16), quiet, default model
(benchmarks/labeling_speed.py): fp32 PyTorch 148, onnx 170, bf16 224, onnx-int8 310 sentences/s.
Per-channel weight scales halved the hidden-state error of per-tensor ones at the same speed;
quantising only the MatMuls (not the fused attention) was 15% slower at the same error.
BENCHMARKS.md has the end-to-end figures against a transformers pipeline.

Only the encoder changes: the per-sentence head (pooling, position features, BiGRU, classifier)
stays in PyTorch fp32 and is stored as `head.safetensors` for the ONNX runtimes; it is a small
share of the time. The ONNX runtimes load without importing `transformers` (the tokenizer is read
straight from `tokenizer.json` by the `tokenizers` library), which keeps `newsroles label` quick
to start. Exported folders run on the CPU; on a GPU, use the folder they were exported from.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import torch
from torch import nn

from newsroles.model.errors import UserError
from newsroles.model.folder import MANIFEST, read_config, read_manifest

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
OPSET = 17
# A short story the export runs through both models, as a sanity check recorded in the manifest.
PROBE_TEXT = (
    "WASHINGTON -- The president said on Monday that talks with the rebels would resume next week. "
    "Officials told reporters the plan was expected to pass. "
    "The conflict began in 1998, when the government fell. "
    "Analysts believe a deal is unlikely before the election. "
    "Police said three people were killed in an attack on a market in the capital on Sunday."
)


def runtime_of(manifest: dict) -> str:
    return str(manifest.get("runtime") or "fp32")


# ---------------------------------------------------------------------------------------------
# Loading


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
    and "nospin" the same without its spin-waiting. Measured on the 2-core machine with a training
    job beside it: split 69, nospin 63, intra 53 sentences/s. Dynamic quantisation scales each
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
    that thread waits for a busy core (measured: 4 ms per batch on one thread, up to 300 ms on two).
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
    workers) a call took about 150-300 ms per batch instead of 4 ms. The encoder keeps every thread.
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


def _require_onnxruntime(what: str) -> None:
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
    _require_onnxruntime(f"model folder {folder} (runtime {runtime})")
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


# ---------------------------------------------------------------------------------------------
# Exporting


@dataclass
class ExportReport:
    folder: Path
    runtime: str
    seconds: float
    size_bytes: int
    source_size_bytes: int
    probe: dict = field(default_factory=dict)  # fp32 vs exported on a built-in story
    check: dict | None = None  # fp32 vs exported on a labeled data file, when one was given


class _EncoderGraph(nn.Module):
    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids, attention_mask):
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def _eager_copy(encoder: nn.Module) -> nn.Module:
    """The same encoder with plain (eager) attention: the form ONNX Runtime's optimiser fuses."""
    from transformers import AutoModel

    copy = AutoModel.from_config(encoder.config, attn_implementation="eager")
    copy.load_state_dict(encoder.state_dict())
    return copy.eval()


def export_encoder_onnx(encoder: nn.Module, path: Path, quantize: bool, workdir: Path) -> dict:
    """Write the encoder as a fused (and optionally int8) ONNX graph at `path`; returns details."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    config = encoder.config
    graph = _EncoderGraph(_eager_copy(encoder))
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
        import logging

        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))  # onnxruntime's "consider pre-processing" notice
        try:
            quantize_dynamic(
                str(optimised),
                str(path),
                weight_type=QuantType.QInt8,
                per_channel=True,
                extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
            )
        finally:
            root.setLevel(level)
        details["quantization"] = {"method": "onnxruntime dynamic", "weights": "int8 per channel", "activations": "uint8 per batch"}
    else:
        shutil.copyfile(optimised, path)
    return details


def _copy_folder(source: Path, dest: Path, skip: set[str]) -> None:
    for item in source.rglob("*"):
        rel = item.relative_to(source)
        if rel.as_posix() in skip or any(part.startswith(".") for part in rel.parts):
            continue
        target = dest / rel
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif item.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item, target)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def default_output(source: Path, runtime: str) -> Path:
    return source.with_name(f"{source.name}-{runtime}")


def compare_labelers(reference, candidate, articles) -> dict:
    """How far `candidate`'s probabilities are from `reference`'s, and how often the labels agree."""
    ref = reference.predict(articles)
    new = candidate.predict(articles)
    diffs = [float(np.abs(a - b).max()) for a, b in zip(ref, new) if a.size]
    same = sum(int((a.argmax(1) == b.argmax(1)).sum()) for a, b in zip(ref, new))
    n = sum(len(a) for a in ref)
    return {"sentences": n, "max_prob_diff": round(max(diffs, default=0.0), 6), "label_agreement": round(same / n, 6) if n else 1.0}


def export_model(
    source: str | Path,
    output: str | Path | None = None,
    runtime: str = DEFAULT_RUNTIME,
    check_data: str | Path | None = None,
    max_f1_drop: float | None = 0.5,
    overwrite: bool = False,
    window_overlap: float | None = None,
    say: Callable[[str], None] | None = None,
    tune_bias_data: str | Path | None = None,
) -> ExportReport:
    """Write an optimised copy of the transformer model folder `source` for `runtime`.

    `window_overlap`, when given, replaces the model's `model.window_overlap` in the copy: the share
    of each window's sentences repeated in the next. Less overlap is less work per sentence (0.0
    encodes each sentence once; the usual 0.5 about twice) at some cost in context: a speed and
    accuracy trade to measure with `check_data`. Left out, the copy reads windows as the original.

    With `check_data` (a labeled file), both models are scored on it; the macro-F1 of each goes
    in the manifest, and a drop of more than `max_f1_drop` points (when not None) is an error
    that leaves nothing behind.

    With `tune_bias_data` (a labeled file: the dev split the original's biases were tuned on, never
    test data), the copy's per-label logit biases are tuned again on the copy's own outputs:
    int8 or bf16 arithmetic moves the logits a little, and the original's biases were tuned to its
    own (training/calibrate.py).
    """
    import time

    from newsroles.inference.predictor import load_labeler
    from newsroles.inference.splitter import article_from_text
    from newsroles.model.fileio import atomic_dir
    from newsroles.model.folder import package_version, write_json
    from newsroles.model.saved import load_transformer

    say = say or (lambda message: None)
    started = time.perf_counter()
    source = Path(source)
    manifest = read_manifest(source)
    if runtime not in RUNTIMES:
        raise UserError(f"unknown runtime '{runtime}'; use one of {', '.join(RUNTIMES)}")
    if manifest["kind"] != "transformer":
        raise UserError(f"only transformer models can be exported (this is a {manifest['kind']} model, already fast)", source)
    if runtime_of(manifest) != "fp32":
        raise UserError(f"this folder is already an exported copy (runtime {runtime_of(manifest)}); export the original", source)
    if runtime in ONNX_RUNTIMES:
        _require_onnxruntime(f"runtime {runtime}")
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise UserError(f"runtime {runtime} needs the onnx package to export: pip install onnx") from None
    from newsroles.model.spec import ModelSpec

    low, high = ModelSpec.RANGES["window_overlap"]
    if window_overlap is not None and not low <= window_overlap <= high:
        raise UserError(f"window overlap must be between {low} and {high}, not {window_overlap}")
    dest = Path(output) if output is not None else default_output(source, runtime)
    if dest.resolve() == source.resolve():
        raise UserError("the output folder must differ from the model folder", dest)
    if dest.exists() and not overwrite:
        raise UserError("output folder already exists (pass --overwrite to replace it)", dest)
    check_articles = tune_articles = None
    if check_data is not None or tune_bias_data is not None:
        from newsroles.training.readers import read_articles

        # Read now, to fail fast on a bad file before the work.
        check_articles = read_articles(check_data, manifest["labels"]) if check_data is not None else None
        if tune_bias_data is not None and check_data is not None and Path(tune_bias_data) == Path(check_data):
            tune_articles = check_articles  # one file for both (the usual dev split): read it once
        elif tune_bias_data is not None:
            tune_articles = read_articles(tune_bias_data, manifest["labels"])

    cpu = torch.device("cpu")
    say(f"loading {source}")
    model, _, _ = load_transformer(source, cpu)
    export_info: dict = {
        "runtime": runtime,
        "description": RUNTIMES[runtime],
        "newsroles_version": package_version(),
        "torch": torch.__version__,
    }
    skip = {MANIFEST}
    with atomic_dir(dest, overwrite=overwrite) as tmp:
        if runtime in ONNX_RUNTIMES:
            import onnxruntime
            from safetensors.torch import save_file

            export_info["onnxruntime"] = onnxruntime.__version__
            skip.add("model.safetensors")
            say(f"exporting the encoder to ONNX ({runtime})")
            with tempfile.TemporaryDirectory() as work:
                export_info.update(export_encoder_onnx(model.encoder, tmp / ENCODER_FILE, runtime == "onnx-int8", Path(work)))
            head = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
            save_file(head, str(tmp / HEAD_FILE))
        _copy_folder(source, tmp, skip)
        config = read_config(source)
        original_overlap = (config.get("model") or {}).get("window_overlap", ModelSpec.window_overlap)
        export_info["window_overlap"] = original_overlap
        if window_overlap is not None and window_overlap != original_overlap:
            import yaml

            config.setdefault("model", {})["window_overlap"] = window_overlap
            (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
            export_info["window_overlap"] = window_overlap
            export_info["original_window_overlap"] = original_overlap
        if runtime in ONNX_RUNTIMES and not (tmp / "tokenizer.json").is_file():
            raise UserError("the model's tokenizer has no tokenizer.json (a fast tokenizer is needed for ONNX)", source)
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        new_manifest = {
            **manifest,
            "created": now,
            "runtime": runtime,
            "exported_from": {"path": str(source.resolve()), "id": manifest.get("id"), "created": manifest.get("created")},
            "export": export_info,
        }
        if manifest.get("id"):  # a version of its own, linked to the one it came from
            new_manifest.update({"id": secrets.token_hex(4), "parent": manifest["id"], "parent_path": str(source.resolve())})
        write_json(tmp / MANIFEST, new_manifest)

        say("checking the copy against the original")
        reference = load_labeler(source, "cpu")
        exported = load_labeler(tmp, "cpu")
        probe = compare_labelers(reference, exported, [article_from_text(PROBE_TEXT, "probe")])
        if runtime == "onnx" and window_overlap is None and probe["max_prob_diff"] > 1e-3:
            raise UserError(f"the ONNX graph does not reproduce the model (probabilities differ by {probe['max_prob_diff']})", source)
        export_info["probe"] = probe
        if tune_articles is not None:
            say(f"tuning the copy's label biases on {tune_bias_data}")
            weights = tmp / (HEAD_FILE if runtime in ONNX_RUNTIMES else "model.safetensors")
            export_info["label_bias"] = {"data": str(tune_bias_data), **retune_bias(exported, tune_articles, weights)}
            exported = load_labeler(tmp, "cpu")
        check = None
        if check_articles is not None:
            say(f"scoring both on {check_data}")
            check = check_models(reference, exported, check_articles)
            check["data"] = str(check_data)
            export_info["check"] = check
            if max_f1_drop is not None and check["macro_f1_drop_points"] > max_f1_drop:
                raise UserError(
                    f"the {runtime} copy loses {check['macro_f1_drop_points']:.2f} macro-F1 points on {check_data} "
                    f"({check['fp32_macro_f1']:.4f} -> {check['exported_macro_f1']:.4f}), more than the allowed "
                    f"{max_f1_drop}; try --runtime onnx"
                )
        write_json(tmp / MANIFEST, new_manifest)
        from newsroles.model.card import write_card

        write_card(tmp)  # the copied card described the fp32 original: say what this copy is
        size = _folder_size(tmp)
    return ExportReport(dest, runtime, time.perf_counter() - started, size, _folder_size(source), probe, check)


def retune_bias(labeler, articles, weights: Path) -> dict:
    """Tune `labeler`'s per-label logit biases on labeled `articles` and write them into `weights`."""
    from safetensors.torch import load_file, save_file

    from newsroles.training.calibrate import labeled_log_probs, tune_label_bias
    from newsroles.training.evaluate import compute_metrics, gold_and_predictions

    tensors = load_file(str(weights))
    old = tensors["label_bias"].double().numpy()
    # Logits are (head + bias) / temperature (model/classifier.py); folders before it have none (T = 1).
    temperature = float(tensors["temperature"]) if "temperature" in tensors else 1.0
    probs = labeler.predict(articles)
    log_probs, gold = labeled_log_probs(articles, probs, labeler.labels, offset=old / temperature)  # the copy's logits, up to a constant
    if not len(gold):
        raise UserError("the data for tuning label biases has no labeled sentences")
    new, _, after = tune_label_bias(log_probs, gold)
    new = new * temperature  # tuned on the scaled logits; stored before the division
    before = compute_metrics(*gold_and_predictions(articles, probs, labeler.labels), labeler.labels)["macro_f1"]
    if after < before:  # the search starts from zero biases: never end worse than the original's
        new, after = old, before
    tensors["label_bias"] = torch.as_tensor(new, dtype=tensors["label_bias"].dtype)
    save_file(tensors, str(weights))
    labels = labeler.labels
    return {
        "before": {name: round(float(b), 3) for name, b in zip(labels, old)},
        "after": {name: round(float(b), 3) for name, b in zip(labels, new)},
        "macro_f1_before": round(before, 6),
        "macro_f1_after": round(float(after), 6),
    }


def check_models(reference, exported, articles) -> dict:
    """Macro-F1 of both labelers on labeled `articles`, and how their predictions differ."""
    import time

    from newsroles.training.evaluate import compute_metrics, gold_and_predictions

    labels = reference.labels
    out = {}
    for name, labeler in (("fp32", reference), ("exported", exported)):
        started = time.perf_counter()
        probs = labeler.predict(articles)
        out[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
        gold, pred = gold_and_predictions(articles, probs, labels)
        out[f"{name}_macro_f1"] = round(compute_metrics(gold, pred, labels)["macro_f1"], 6)
        out[f"_{name}_probs"] = probs
    ref, new = out.pop("_fp32_probs"), out.pop("_exported_probs")
    n = sum(len(a) for a in ref)
    out["sentences"] = n
    out["label_agreement"] = round(sum(int((a.argmax(1) == b.argmax(1)).sum()) for a, b in zip(ref, new)) / n, 6) if n else 1.0
    out["max_prob_diff"] = round(max((float(np.abs(a - b).max()) for a, b in zip(ref, new) if a.size), default=0.0), 6)
    out["macro_f1_drop_points"] = round(100 * (out["fp32_macro_f1"] - out["exported_macro_f1"]), 4)
    return out
