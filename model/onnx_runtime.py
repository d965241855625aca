"""Running an ONNX export without torch: ONNX Runtime for the encoder, numpy for the head.

An `onnx` or `onnx-int8` folder from `newsroles export` holds the encoder as `encoder.onnx` and the
per-sentence head's weights (pooling, position embedding, BiGRU, classifier, label biases,
temperature, auxiliary head) as `head.safetensors`. Here the head is the same arithmetic as
SentenceRoleModel (model/network/classifier.py) in numpy, so `newsroles label` with such a folder needs
onnxruntime, tokenizers and numpy only: no torch, no transformers, which take seconds to import.
tests/test_onnx_runtime.py checks it against the PyTorch head, and that torch is never imported.
The PyTorch wrapper of the same encoder (model/network/runtimes.py) serves what needs a torch model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from newsroles.model.article import Article
from newsroles.model.batching import DEFAULT_BATCH_SIZE, run_windows
from newsroles.model.errors import UserError
from newsroles.model.store.folder import read_config
from newsroles.model.int8_kernels import use_exact_int8
from newsroles.model.spec import ModelSpec, spec_from_config
from newsroles.model.windows import POSITION_BUCKETS, POSITION_EMBEDDING_DIM, Window, collate_arrays, n_features

RUNTIMES = {
    "onnx": "ONNX Runtime, fused encoder graph in fp32 (the same answers as PyTorch up to rounding)",
    "onnx-int8": "ONNX Runtime, fused encoder graph, int8 weights and per-token int8 activations (fastest; a few tenths of a point, see export --data)",
    "int8": "PyTorch dynamic int8 quantisation of the encoder's Linear layers, applied on load",
    "bf16": "PyTorch bfloat16 autocast, for CPUs that compute bf16 natively (AVX-512 BF16 or AMX)",
}
DEFAULT_RUNTIME = "onnx"
ONNX_RUNTIMES = ("onnx", "onnx-int8")
ENCODER_FILE = "encoder.onnx"
HEAD_FILE = "head.safetensors"


def runtime_of(manifest: dict) -> str:
    return str(manifest.get("runtime") or "fp32")


def require_onnxruntime(what: str) -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UserError(f"{what} needs ONNX Runtime: pip install onnxruntime") from None


def default_threads() -> int:
    """OMP_NUM_THREADS when set (as for PyTorch), else the cores this process may use."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


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


class OrtEncoder:
    """The encoder graph in an ONNX Runtime session: (ids, mask) int64 arrays -> hidden states.

    Threads (`threads`, default `default_threads()`; `mode`, default env NEWSROLES_ORT_MODE or
    "split"): "split" runs the batch's calls (below) on a pool of one thread per core, each on the
    single-threaded session: no barrier between threads inside the graph, so a core taken by
    another job slows one call rather than every operator. "intra" is ONNX Runtime's own intra-op
    threading and "nospin" the same without its spin-waiting. On the 2-core machine with a training
    job beside it, split was the fastest of the three (BENCHMARKS.md).

    Each session call reads at most CALL_TOKENS tokens (one long window, or several short ones),
    at the windows' own length. An int8 graph written by ONNX Runtime's dynamic quantisation (the
    older exports) scales each call's activations together, and half batches sharing one
    scale cost 0.4-1.3 macro-F1 points (BENCHMARKS.md); today's per-token graph
    (inference/export/int8_graph.py) reads each token alone. Calls also bound memory, and are what split
    mode hands to its threads.
    """

    def __init__(self, path: str | Path, threads: int | None = None, mode: str | None = None, int8: bool = False):
        import onnxruntime as ort

        self.threads = max(1, threads or default_threads())
        self.mode = mode or os.environ.get("NEWSROLES_ORT_MODE", "split")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if self.mode == "split" else self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL  # one chain of operators: nothing to run beside
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if self.mode == "nospin":
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # int8 products exact on this CPU: ONNX Runtime's u8s8 kernel saturates without VNNI (model/int8_kernels.py)
        self.int8_kernel = use_exact_int8(options, path) if int8 else None
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._pool = None

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})[0]

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states (windows, tokens, hidden) for a padded batch; zeros at padded positions."""
        lengths = np.maximum(mask.sum(axis=1), 1)
        calls = call_groups(lengths, CALL_TOKENS)
        pieces = [(rows, int(lengths[rows].max())) for rows in calls]
        if self.mode == "split" and self.threads > 1 and len(pieces) > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads)
            futures = [self._pool.submit(self._run, ids[rows, :n], mask[rows, :n]) for rows, n in pieces]
            outputs = [f.result() for f in futures]
        else:
            outputs = [self._run(ids[rows, :n], mask[rows, :n]) for rows, n in pieces]
        hidden = np.zeros(ids.shape + (outputs[0].shape[-1],), dtype=np.float32)
        for (rows, n), out in zip(pieces, outputs):
            hidden[rows, :n] = out
        return hidden


# Tokens one session call reads at most (a longer window is read alone). Older int8 exports share
# one activation scale per call (see OrtEncoder); with today's graphs larger calls give the same
# numbers but run slower here (1024: +4%, 2048: +8% for the validation split, BENCHMARKS.md).
CALL_TOKENS = 512


def call_groups(lengths: np.ndarray, limit: int) -> list[np.ndarray]:
    """Consecutive rows grouped so that each group, padded to its longest row, holds at most
    `limit` tokens (a row longer than `limit` forms a group alone)."""
    groups, start, longest = [], 0, 0
    for i, n in enumerate(lengths):
        longest_with = max(longest, int(n))
        if i > start and longest_with * (i - start + 1) > limit:
            groups.append(np.arange(start, i))
            start, longest_with = i, int(n)
        longest = longest_with
    groups.append(np.arange(start, len(lengths)))
    return groups


_BLAS = None


def one_blas_thread():
    """numpy's BLAS limited to one thread for a while. The head's products are small (a GRU step
    is a (windows x 3*hidden) product): on two BLAS threads each waits for the other core at every
    step, and with any other job on the machine the head took 4 times longer (BENCHMARKS.md)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # = 1 / (1 + e^-x), without overflow warnings


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _gru_direction(inputs: np.ndarray, w_ih, w_hh, b_ih, b_hh, lengths: np.ndarray, reverse: bool) -> np.ndarray:
    """One direction of PyTorch's GRU over padded sequences, as a packed sequence runs it: each
    sequence starts (forward) or ends (reverse) at its own length; padded steps output zero."""
    batch, steps, _ = inputs.shape
    size = w_hh.shape[1]
    projected = inputs @ w_ih.T + b_ih  # (batch, steps, 3 * size): gates r, z, n
    h = np.zeros((batch, size), dtype=np.float32)
    out = np.zeros((batch, steps, size), dtype=np.float32)
    for t in range(steps - 1, -1, -1) if reverse else range(steps):
        gx, gh = projected[:, t], h @ w_hh.T + b_hh
        r = _sigmoid(gx[:, :size] + gh[:, :size])
        z = _sigmoid(gx[:, size : 2 * size] + gh[:, size : 2 * size])
        n = np.tanh(gx[:, 2 * size :] + r * gh[:, 2 * size :])
        live = (t < lengths)[:, None]
        h = np.where(live, (1.0 - z) * n + z * h, h)
        out[:, t] = np.where(live, h, 0.0)
    return out


class NumpyHead:
    """SentenceRoleModel's head (model/network/classifier.py) in numpy, in eval mode, from its weights."""

    def __init__(self, weights: dict[str, np.ndarray], spec: ModelSpec, hidden: int, n_labels: int, n_aux: int):
        self.spec = spec
        self.w = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
        self.use_headline = spec.is_article and spec.headline_features
        self.use_positions = spec.is_article and spec.position_features
        self.use_context = spec.is_article and spec.context_layer in ("gru", "article")
        width = hidden * (2 if spec.pooling == "mean+sep" else 1)
        expected = {"head.weight": None, "head.bias": (n_labels,), "label_bias": (n_labels,)}
        if self.use_headline:
            width += hidden + 1
        if self.use_positions:
            expected["position_embedding.weight"] = (POSITION_BUCKETS, POSITION_EMBEDDING_DIM)
            width += n_features(spec) + POSITION_EMBEDDING_DIM
        if self.use_context:
            size = spec.context_hidden
            for suffix in ("l0", "l0_reverse"):
                expected.update({
                    f"context.weight_ih_{suffix}": (3 * size, width),
                    f"context.weight_hh_{suffix}": (3 * size, size),
                    f"context.bias_ih_{suffix}": (3 * size,),
                    f"context.bias_hh_{suffix}": (3 * size,),
                })
            width += 2 * size
        expected["head.weight"] = (n_labels, width)
        if n_aux:
            expected.update({"aux_head.weight": (n_aux, width), "aux_head.bias": (n_aux,)})
        for name, shape in expected.items():
            if name not in self.w:
                raise ValueError(f"missing {name}")
            if self.w[name].shape != shape:
                raise ValueError(f"{name} has shape {self.w[name].shape}, the config says {shape}")
        self.temperature = float(self.w["temperature"]) if "temperature" in self.w else 1.0  # none before calibration
        self.has_aux = bool(n_aux)

    def sentence_vectors(self, hidden: np.ndarray, batch: dict[str, np.ndarray]) -> np.ndarray:
        parts = []
        if self.spec.pooling in ("mean", "mean+sep"):
            parts.append(batch["pool"] @ hidden)
        if self.spec.pooling in ("sep", "mean+sep"):
            parts.append(np.take_along_axis(hidden, batch["sep_index"][..., None], axis=1))
        if self.use_headline:
            sentence = parts[0]
            headline = batch["title_pool"] @ hidden  # (batch, 1, hidden)
            parts.append(sentence * headline)
            eps = 1e-6  # torch's cosine_similarity: each vector divided by its norm, clamped to eps
            a = sentence / np.maximum(np.linalg.norm(sentence, axis=-1, keepdims=True), eps)
            b = headline / np.maximum(np.linalg.norm(headline, axis=-1, keepdims=True), eps)
            parts.append((a * b).sum(-1, keepdims=True))
        if self.use_positions:
            parts.append(batch["position_features"])
            parts.append(self.w["position_embedding.weight"][batch["position_index"]])
        x = np.concatenate(parts, axis=-1).astype(np.float32, copy=False)
        if self.use_context and self.spec.article_context:
            order, slot = batch["article_order"], batch["article_slot"]
            ctx = self.run_context(x.reshape(-1, x.shape[-1])[np.maximum(order, 0)], (order >= 0).sum(1))
            ctx = ctx.reshape(-1, ctx.shape[-1])[np.maximum(slot, 0)] * (slot >= 0)[..., None]
            x = np.concatenate([x, ctx.astype(np.float32, copy=False)], axis=-1)
        elif self.use_context:
            x = np.concatenate([x, self.run_context(x, batch["sentence_mask"].sum(1))], axis=-1)
        return x

    def run_context(self, sequences: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The BiGRU over padded sequences (batch, steps, width) of the given lengths."""
        lengths = np.maximum(lengths, 1)
        w = self.w
        both = [
            _gru_direction(sequences, *(w[f"context.{n}_{suffix}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")), lengths, suffix != "l0")
            for suffix in ("l0", "l0_reverse")
        ]
        return np.concatenate(both, axis=-1)

    def __call__(self, hidden: np.ndarray, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """(logits, auxiliary logits or None), as SentenceRoleModel.forward returns them."""
        x = self.sentence_vectors(hidden.astype(np.float32, copy=False), batch)
        logits = (x @ self.w["head.weight"].T + self.w["head.bias"] + self.w["label_bias"]) / self.temperature
        aux = x @ self.w["aux_head.weight"].T + self.w["aux_head.bias"] if self.has_aux else None
        return logits, aux


class OnnxArticleModel:
    """An ONNX export run without torch: windows -> OrtEncoder -> NumpyHead -> probabilities."""

    def __init__(self, encoder: OrtEncoder, head: NumpyHead, spec: ModelSpec, n_labels: int):
        self.encoder = encoder
        self.head = head
        self.spec = spec
        self.n_labels = n_labels

    def run_batch(self, windows: list[Window], pad_id: int) -> tuple[np.ndarray, np.ndarray | None]:
        batch = collate_arrays(windows, pad_id, self.spec.article_context)
        hidden = self.encoder(batch["input_ids"], batch["attention_mask"])
        with one_blas_thread():
            logits, aux = self.head(hidden, batch)
        return _softmax(logits), (_sigmoid(aux) if aux is not None else None)

    def probabilities(self, tokenizer, articles: list[Article], batch_size: int = 32, progress=None, aux_out: list | None = None):
        """As model/network/forward.py's article_probabilities, on the CPU, without torch."""
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        return run_windows(
            tokenizer, articles, self.spec, lambda ws: self.run_batch(ws, pad_id), self.n_labels, batch_size, progress, aux_out
        )


def load_onnx_parts(folder: Path, manifest: dict, threads: int | None = None) -> tuple[ModelSpec, dict, OrtEncoder, FastTokenizer]:
    """What every loader of an ONNX export reads: (spec, encoder config, encoder, tokenizer); a
    UserError naming the file for anything missing or broken."""
    require_onnxruntime(f"model folder {folder} (runtime {runtime_of(manifest)})")
    spec = spec_from_config(read_config(folder))
    try:
        encoder_config = json.loads((folder / "encoder" / "config.json").read_text(encoding="utf-8"))
        int(encoder_config["hidden_size"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read the encoder's config ({str(exc).splitlines()[0][:200]})", folder / "encoder" / "config.json")
    try:
        encoder = OrtEncoder(folder / ENCODER_FILE, threads, int8=runtime_of(manifest) == "onnx-int8")
    except Exception as exc:  # onnxruntime raises its own exception types for a bad graph
        raise UserError(f"cannot load the ONNX encoder ({str(exc).splitlines()[0][:200]})", folder / ENCODER_FILE)
    try:
        tokenizer = FastTokenizer(folder)
    except Exception as exc:
        raise UserError(f"cannot load the tokenizer ({str(exc).splitlines()[0][:200]})", folder / "tokenizer.json")
    return spec, encoder_config, encoder, tokenizer


class OnnxRunner:
    """An `onnx` / `onnx-int8` export as a runner (model/loading.py), on the CPU, without torch: the
    same predictions as the PyTorch model over the same folder, up to float rounding."""

    device = SimpleNamespace(type="cpu")  # always the CPU; said without a torch device

    def __init__(self, model: OnnxArticleModel, tokenizer: FastTokenizer):
        self.model = model
        self.tokenizer = tokenizer
        self.int8_kernel = model.encoder.int8_kernel  # u8s8 or u8u8 for an int8 graph (model/int8_kernels.py)

    def predict(self, articles: list[Article], batch_size: int | None = None, progress=None, aux_out: list | None = None):
        return self.model.probabilities(self.tokenizer, articles, batch_size or DEFAULT_BATCH_SIZE["cpu"], progress, aux_out)


def onnx_runner(folder: str | Path, manifest: dict) -> OnnxRunner:
    """An `onnx` / `onnx-int8` export's runner, without importing torch."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    spec, encoder_config, encoder, tokenizer = load_onnx_parts(folder, manifest)
    n_labels, n_aux = len(manifest["labels"]), len(manifest.get("aux_labels") or [])
    try:
        head = NumpyHead(load_file(str(folder / HEAD_FILE)), spec, int(encoder_config["hidden_size"]), n_labels, n_aux)
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"corrupt or mismatched head weights ({str(exc).splitlines()[0][:200]})", folder / HEAD_FILE)
    return OnnxRunner(OnnxArticleModel(encoder, head, spec, n_labels), tokenizer)
