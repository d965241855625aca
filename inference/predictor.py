"""Using a model: load any model folder, label articles in batches, on CPU or GPU.

The Python API a user's own code calls:

    from newsroles.inference.predictor import load_labeler
    labeler = load_labeler("models/default/20261129-120000")
    article = labeler.label_text("WASHINGTON -- ...")
    for s in article.sentences:
        print(s.label, s.confidence, s.text)
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Iterable, Iterator

import numpy as np

from newsroles.model.article import Article
from newsroles.model.folder import read_manifest

DEFAULT_BATCH_SIZE = {"cpu": 32, "cuda": 128}


class Labeler:
    """A loaded model folder of any kind. `predict` gives per-sentence probabilities."""

    def __init__(self, path: Path, manifest: dict):
        self.path = path
        self.manifest = manifest
        self.labels: list[str] = list(manifest["labels"])
        # Sentences left unlabeled, with a reason (inference/withhold.py): boilerplate always
        # (unless switched off), and those below `min_confidence` when a user sets one.
        self.withhold_boilerplate = True
        self.min_confidence: float | None = None
        self.int8_kernel: str | None = None
        self.probe: dict | None = None  # an exported copy's known-answer probe, as labeled here (load_labeler)

    def predict(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[np.ndarray]:
        raise NotImplementedError

    def predict_with_boilerplate(
        self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(role probabilities, boilerplate mask) per article: the mask from the rules only here;
        a transformer with an auxiliary head adds its P(NA) (see TransformerLabeler)."""
        from newsroles.model.boilerplate import boilerplate_mask

        probs = self.predict(articles, batch_size, progress)
        return probs, [boilerplate_mask([s.text for s in a.sentences], None) for a in articles]

    def label(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[Article]:
        """Set label, confidence and per-label scores on every sentence; returns the same articles.
        Boilerplate and (when set) low-confidence sentences keep their scores but get no label."""
        from newsroles.inference.withhold import withhold

        all_probs, masks = self.predict_with_boilerplate(articles, batch_size, progress)
        for article, probs, mask in zip(articles, all_probs, masks):
            apply_predictions(article, probs, self.labels)
            withhold(article, mask if self.withhold_boilerplate else None, self.min_confidence)
        return articles

    def label_stream(
        self,
        articles: Iterable[Article],
        chunk_articles: int = 64,
        batch_size: int | None = None,
        progress: Callable | None = None,
        chunk_sentences: int = 4096,
    ) -> Iterator[Article]:
        """Label an unbounded stream in chunks (at most `chunk_articles` articles, or more than
        `chunk_sentences` sentences only when one article has that many): memory stays bounded
        whatever the number and size of the articles."""
        chunk: list[Article] = []
        sentences = 0
        for article in articles:
            if chunk and sentences + len(article.sentences) > chunk_sentences:
                yield from self.label(chunk, batch_size, progress)
                chunk, sentences = [], 0
            chunk.append(article)
            sentences += len(article.sentences)
            if len(chunk) >= chunk_articles:
                yield from self.label(chunk, batch_size, progress)
                chunk, sentences = [], 0
        if chunk:
            yield from self.label(chunk, batch_size, progress)

    def label_text(self, text: str, article_id: str = "text") -> Article:
        from newsroles.inference.splitter import article_from_text

        return self.label([article_from_text(text, article_id)])[0]


def apply_predictions(article: Article, probs: np.ndarray, labels: list[str]) -> None:
    for sentence, row in zip(article.sentences, probs):
        best = int(np.argmax(row))
        sentence.label = labels[best]
        sentence.reason = None
        sentence.confidence = float(row[best])
        sentence.scores = {name: float(p) for name, p in zip(labels, row)}


class TransformerLabeler(Labeler):
    def __init__(self, path: Path, manifest: dict, device: str = "auto"):
        from newsroles.model.device import resolve_device
        from newsroles.model.saved import load_transformer

        super().__init__(path, manifest)
        # An optimised copy from `newsroles export` runs on the CPU: "auto" means the CPU for it.
        exported = (manifest.get("runtime") or "fp32") != "fp32"
        self.device = resolve_device("cpu" if exported and device == "auto" else device)
        self.model, self.tokenizer, _ = load_transformer(path, self.device)
        if self.device.type == "cpu":
            from newsroles.model.runtimes import single_threaded_head

            single_threaded_head(self.model)  # its small GRU steps stall on two threads (model/runtimes.py)

    def _probabilities(self, articles, batch_size, progress, aux_out=None):
        from newsroles.model.forward import article_probabilities

        size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.type, 32)
        return article_probabilities(self.model, self.tokenizer, articles, self.device, size, progress, aux_out=aux_out)

    def predict(self, articles, batch_size=None, progress=None):
        return self._probabilities(articles, batch_size, progress)

    def predict_with_na(self, articles, batch_size=None, progress=None) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """(role probabilities, per article P(NA) per sentence from the auxiliary head, or None
        when the model has no such head): one pass over the articles."""
        from newsroles.model.boilerplate import na_column

        column = na_column(self.manifest.get("aux_labels"))
        if column is None:
            return self.predict(articles, batch_size, progress), None
        aux: list[np.ndarray] = []
        probs = self._probabilities(articles, batch_size, progress, aux_out=aux)
        return probs, [a[:, column] for a in aux] if len(aux) == len(articles) else None

    def predict_with_boilerplate(self, articles, batch_size=None, progress=None):
        from newsroles.model.boilerplate import boilerplate_mask

        probs, na = self.predict_with_na(articles, batch_size, progress)
        na = na or [None] * len(articles)
        return probs, [boilerplate_mask([s.text for s in a.sentences], p) for a, p in zip(articles, na)]


class OnnxLabeler(TransformerLabeler):
    """An `onnx` / `onnx-int8` export on the CPU, run without torch (model/onnx_runtime.py):
    the same predictions as TransformerLabeler over the same folder, up to float rounding."""

    def __init__(self, path: Path, manifest: dict):
        from newsroles.model.onnx_runtime import load_onnx_folder

        Labeler.__init__(self, path, manifest)
        self.device = SimpleNamespace(type="cpu")  # always the CPU; said without a torch device
        self.model, self.tokenizer = load_onnx_folder(path, manifest)
        self.int8_kernel = self.model.encoder.int8_kernel  # u8s8 or u8u8 for an int8 graph (model/int8_kernels.py)

    def _probabilities(self, articles, batch_size, progress, aux_out=None):
        return self.model.probabilities(self.tokenizer, articles, batch_size or DEFAULT_BATCH_SIZE["cpu"], progress, aux_out)


class TfidfLabeler(Labeler):
    def __init__(self, path: Path, manifest: dict):
        from newsroles.model.tfidf import TfidfModel

        super().__init__(path, manifest)
        self.model = TfidfModel.load(path)

    def predict(self, articles, batch_size=None, progress=None):
        probs = self.model.predict_proba(articles)
        if progress is not None:
            progress(sum(len(a.sentences) for a in articles))
        return probs


def load_labeler(path: str | Path, device: str = "auto", verify: bool = True) -> Labeler:
    """Load any newsroles model folder; raises UserError saying what is wrong with a bad one.

    An exported copy labels its known-answer probe first (`labeler.probe` says how it did) and is
    refused if it gets it wrong on this machine; `verify=False` loads it anyway (to report on it)."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest["kind"] == "tfidf":
        from newsroles.model.device import resolve_device

        resolve_device(device)  # runs on the CPU, but a GPU asked for and missing is still said
        return TfidfLabeler(path, manifest)
    from newsroles.model.onnx_runtime import ONNX_RUNTIMES, runtime_of
    from newsroles.model.probe import probe_result, verify_probe

    runtime = runtime_of(manifest)
    if runtime in ONNX_RUNTIMES and device in ("auto", "cpu"):
        labeler: Labeler = OnnxLabeler(path, manifest)  # without torch: quick to start (model/onnx_runtime.py)
    else:
        labeler = TransformerLabeler(path, manifest, device)
    # An exported copy runs on kernels this CPU picks: it labels its known-answer probe first and is
    # refused if it gets it wrong here (model/probe.py).
    if runtime != "fp32":
        labeler.probe = (verify_probe if verify else probe_result)(path, runtime, labeler.predict)
        if labeler.probe is not None and labeler.int8_kernel:
            labeler.probe["int8_kernel"] = labeler.int8_kernel
    return labeler
