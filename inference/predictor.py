"""Using a model: load any model folder, label articles in batches, on CPU or GPU.

The Python API a user's own code calls:

    from newsroles.inference.predictor import load_labeler
    labeler = load_labeler("models/default/20261129-120000", min_confidence=0.6)
    article = labeler.label_text("WASHINGTON -- ...")
    for s in article.sentences:
        print(s.label, s.confidence, s.text)

Loading is model/loading.py's (one function, one table of runners); the Labeler here adds what
labeling means on top of a runner's probabilities: a role per sentence, and sentences withheld.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from newsroles.inference.withhold import withhold
from newsroles.model.article import Article
from newsroles.model.text.boilerplate import boilerplate_mask, na_column
from newsroles.model.loading import Loaded, Runner, load
from newsroles.model.store.registry import Version
from newsroles.model.text.splitter import article_from_text


class Labeler:
    """A loaded model of any kind and runtime, and how it labels.

    `min_confidence`: sentences whose best probability is below it are left unlabeled (reason "low
    confidence"); `withhold_boilerplate`: bylines, credits and the like are left unlabeled (reason
    "boilerplate"; inference/withhold.py). Both are fixed when the labeler is made."""

    def __init__(self, loaded: Loaded, *, min_confidence: float | None = None, withhold_boilerplate: bool = True):
        self.loaded = loaded  # another Labeler with other settings can share it: Labeler(labeler.loaded, ...)
        self.runner: Runner = loaded.runner
        self.version: Version = loaded.version  # id, name, reference (model/store/registry.py)
        self.path: Path = loaded.version.path
        self.manifest: dict = loaded.version.manifest
        self.labels: list[str] = list(self.manifest["labels"])
        self.device = self.runner.device
        self.int8_kernel: str | None = self.runner.int8_kernel
        self.probe: dict | None = loaded.probe  # an exported copy's known-answer probe, as labeled here (model/probe.py)
        self.min_confidence = min_confidence
        self.withhold_boilerplate = withhold_boilerplate

    def predict(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[np.ndarray]:
        """Per article an (n_sentences, n_labels) array of probabilities, columns in `labels` order."""
        return self.runner.predict(articles, batch_size, progress)

    def predict_with_na(
        self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """(role probabilities, per article P(NA) per sentence from the auxiliary head, or None
        when the model has no such head): one pass over the articles."""
        column = na_column(self.manifest.get("aux_labels"))
        if column is None:
            return self.predict(articles, batch_size, progress), None
        aux: list[np.ndarray] = []
        probs = self.runner.predict(articles, batch_size, progress, aux_out=aux)
        return probs, [a[:, column] for a in aux] if len(aux) == len(articles) else None

    def predict_with_boilerplate(
        self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(role probabilities, boilerplate mask) per article: the rules' mask, with the auxiliary
        head's P(NA) where the model has one (model/text/boilerplate.py)."""
        probs, na = self.predict_with_na(articles, batch_size, progress)
        na = na or [None] * len(articles)
        return probs, [boilerplate_mask([s.text for s in a.sentences], p) for a, p in zip(articles, na)]

    def label(self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None) -> list[Article]:
        """Set label, confidence and per-label scores on every sentence; returns the same articles.
        Boilerplate and (when set) low-confidence sentences keep their scores but get no label."""
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
        return self.label([article_from_text(text, article_id)])[0]


def apply_predictions(article: Article, probs: np.ndarray, labels: list[str]) -> None:
    for sentence, row in zip(article.sentences, probs):
        best = int(np.argmax(row))
        sentence.label = labels[best]
        sentence.reason = None
        sentence.confidence = float(row[best])
        sentence.scores = {name: float(p) for name, p in zip(labels, row)}


def load_labeler(
    reference: str | Path | None = None,
    device: str = "auto",
    verify: bool = True,
    *,
    models_dir: str | Path = "models",
    min_confidence: float | None = None,
    withhold_boilerplate: bool = True,
) -> Labeler:
    """Load a model (a folder, version id, name, name/version or installed model package, looked up
    in `models_dir`; None: the newest there) as a Labeler; raises UserError saying what is wrong.

    An exported copy labels its known-answer probe first (`labeler.probe` says how it did) and is
    refused if it gets it wrong on this machine; `verify=False` loads it anyway (to report on it).
    `min_confidence`, `withhold_boilerplate`: see Labeler."""
    loaded = load(reference, device, models_dir=models_dir, verify=verify)
    return Labeler(loaded, min_confidence=min_confidence, withhold_boilerplate=withhold_boilerplate)
