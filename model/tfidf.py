"""The TF-IDF + logistic-regression baseline: one sentence at a time, no context.

Saved as `baseline.joblib` in a model folder: a dict {"format", "labels", "pipeline",
"sklearn_version"}, not the TfidfModel object itself, so that renaming this class never breaks
old folders.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from newsroles.model.article import Article
from newsroles.model.errors import UserError

WEIGHTS_FILE = "baseline.joblib"
JOBLIB_FORMAT = 1


def build_pipeline(
    *,
    C: float = 2.0,
    class_weight: str | None = "balanced",
    ngram_max: int = 2,
    min_df: int = 2,
    max_iter: int = 2000,
    seed: int = 13,
) -> Pipeline:
    """Unfitted pipeline: word 1..ngram_max-grams, sublinear tf, min_df, then logistic regression."""
    return Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, ngram_max), sublinear_tf=True, min_df=min_df)),
            ("clf", LogisticRegression(C=C, class_weight=class_weight, max_iter=max_iter, random_state=seed)),
        ]
    )


class TfidfModel:
    """A fitted (or to-be-fitted) pipeline plus the ordered label set its outputs follow."""

    kind = "tfidf"

    def __init__(self, labels: Sequence[str], pipeline: Pipeline | None = None, **params):
        self.labels = list(labels)
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ValueError(f"labels must be a non-empty list without repeats, got {self.labels}")
        self.pipeline = pipeline if pipeline is not None else build_pipeline(**params)

    # ------------------------------------------------------------------ training
    def fit(self, texts: Sequence[str], y: Sequence[str]) -> "TfidfModel":
        """Fit on sentence texts and their labels (every label must be in `self.labels`)."""
        texts, y = list(texts), list(y)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        if not texts:
            raise UserError("no labeled sentences to train on")
        stray = sorted(set(y) - set(self.labels))
        if stray:
            raise UserError(f"training label(s) {stray} are not in the label set {self.labels}")
        if len(set(y)) < 2:
            raise UserError(f"the training data has only one label ({y[0]!r}); a classifier needs at least two")
        try:
            self.pipeline.fit(texts, y)
        except ValueError as exc:
            if "no terms remain" in str(exc) or "empty vocabulary" in str(exc):
                raise UserError(
                    f"too little training text for the TF-IDF baseline ({exc}); it keeps words seen in at least "
                    f"{self.pipeline.named_steps['tfidf'].min_df} sentences"
                ) from None
            raise
        return self

    # ------------------------------------------------------------------ prediction
    def _column_index(self) -> np.ndarray:
        """For each label in self.labels, its column in the classifier's output, or -1 if unseen."""
        classes = list(self.pipeline.named_steps["clf"].classes_)
        return np.array([classes.index(lab) if lab in classes else -1 for lab in self.labels])

    def predict_proba_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), len(labels)) probabilities, columns in `self.labels` order."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float64)
        if not texts:
            return out
        raw = self.pipeline.predict_proba(texts)
        idx = self._column_index()
        seen = idx >= 0
        out[:, seen] = raw[:, idx[seen]]  # labels never seen in training keep probability 0
        return out

    def predict_proba(self, articles: Sequence[Article]) -> list[np.ndarray]:
        """Per article an (n_sentences, n_labels) array, columns in `self.labels` order."""
        texts = [s.text for a in articles for s in a.sentences]
        flat = self.predict_proba_texts(texts)
        out, start = [], 0
        for a in articles:
            end = start + len(a.sentences)
            out.append(flat[start:end])
            start = end
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / WEIGHTS_FILE
        payload = {
            "format": JOBLIB_FORMAT,
            "labels": list(self.labels),
            "pipeline": self.pipeline,
            "sklearn_version": sklearn.__version__,
        }
        joblib.dump(payload, path)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfModel":
        path = Path(folder) / WEIGHTS_FILE
        if not path.is_file():
            raise UserError(f"model folder is incomplete: {WEIGHTS_FILE} is missing", folder)
        try:
            payload = joblib.load(path)
        except Exception as exc:  # any unpickling failure: truncated, not a joblib file, wrong classes
            raise UserError(f"corrupt weights ({type(exc).__name__}: {exc})", path) from None
        if (
            not isinstance(payload, dict)
            or payload.get("format") != JOBLIB_FORMAT
            or not isinstance(payload.get("pipeline"), Pipeline)
            or not isinstance(payload.get("labels"), list)
            or not payload["labels"]
        ):
            raise UserError("corrupt weights (not a newsroles TF-IDF baseline)", path)
        labels_file = Path(folder) / "labels.json"
        if labels_file.is_file():
            try:
                listed = json.loads(labels_file.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise UserError(f"corrupt label list ({exc})", labels_file) from None
            if listed != payload["labels"]:
                raise UserError(
                    f"labels.json lists {listed} but {WEIGHTS_FILE} was trained for {payload['labels']}", folder
                )
        return cls(payload["labels"], payload["pipeline"])
