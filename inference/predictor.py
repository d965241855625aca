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

    def predict(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[np.ndarray]:
        raise NotImplementedError

    def label(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[Article]:
        """Set label, confidence and per-label scores on every sentence; returns the same articles."""
        for article, probs in zip(articles, self.predict(articles, batch_size, progress)):
            apply_predictions(article, probs, self.labels)
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

    def predict(self, articles, batch_size=None, progress=None):
        from newsroles.model.forward import article_probabilities

        size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.type, 32)
        return article_probabilities(self.model, self.tokenizer, articles, self.device, size, progress)


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


def load_labeler(path: str | Path, device: str = "auto") -> Labeler:
    """Load any newsroles model folder; raises UserError saying what is wrong with a bad one."""
    path = Path(path)
    manifest = read_manifest(path)
    if manifest["kind"] == "tfidf":
        from newsroles.model.device import resolve_device

        resolve_device(device)  # runs on the CPU, but a GPU asked for and missing is still said
        return TfidfLabeler(path, manifest)
    return TransformerLabeler(path, manifest, device)
