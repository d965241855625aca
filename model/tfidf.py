"""The TF-IDF + logistic-regression baseline: one sentence at a time, no context.

Saved as plain data, never a pickle, so that opening a folder someone sent runs no code:
`baseline.safetensors` holds the arrays (idf, coefficients, intercepts) and `baseline.json` the
rest (format, labels, vocabulary in column order, the classifier's classes and the settings that
rebuild the pipeline). Folders from older versions hold `baseline.joblib` (a pickle): they are
refused with a message to retrain, never unpickled.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.store.folder import PICKLED_BASELINE, PICKLED_BASELINE_MESSAGE, check_labels_file
from newsroles.model.spec import packaged_default_config

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

WEIGHTS_FILE = "baseline.safetensors"
SETTINGS_FILE = "baseline.json"
FORMAT = 2
ARRAYS = ("idf", "coef", "intercept")


# The pipeline's settings: C, class_weight and ngram_max (chosen by cross-validation, see
# training/baseline.py) and the seed are the default config's (configs/default.yaml).
PIPELINE_DEFAULTS = {
    **packaged_default_config()["baseline"],
    "seed": packaged_default_config()["seed"],
    "min_df": 2,
    "max_iter": 2000,
}


def build_pipeline(
    *,
    C: float = PIPELINE_DEFAULTS["C"],
    class_weight: str | None = PIPELINE_DEFAULTS["class_weight"],
    ngram_max: int = PIPELINE_DEFAULTS["ngram_max"],
    min_df: int = PIPELINE_DEFAULTS["min_df"],
    max_iter: int = PIPELINE_DEFAULTS["max_iter"],
    seed: int = PIPELINE_DEFAULTS["seed"],
) -> Pipeline:
    """Unfitted pipeline: word 1..ngram_max-grams, sublinear tf, min_df, then logistic regression."""
    # scikit-learn is slow to import: here, so that loading any other kind of model never pays for it
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

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
        self.params = {**PIPELINE_DEFAULTS, **params}  # what rebuilds the pipeline when loading
        self.pipeline = pipeline if pipeline is not None else build_pipeline(**self.params)

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
        """Write baseline.safetensors (arrays) and baseline.json (everything else); returns the first."""
        folder = Path(folder)
        vectorizer, clf = self.pipeline.named_steps["tfidf"], self.pipeline.named_steps["clf"]
        vocabulary = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        settings = {
            "format": FORMAT,
            "labels": list(self.labels),
            "params": self.params,
            "classes": [str(c) for c in clf.classes_],
            "vocabulary": vocabulary,  # term of each column, in column order
            "sklearn_version": metadata.version("scikit-learn"),
        }
        arrays = {"idf": vectorizer.idf_, "coef": clf.coef_, "intercept": clf.intercept_}
        save_file({k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()}, str(folder / WEIGHTS_FILE))
        (folder / SETTINGS_FILE).write_text(json.dumps(settings, ensure_ascii=False) + "\n", encoding="utf-8")
        return folder / WEIGHTS_FILE

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfModel":
        folder = Path(folder)
        weights, settings_path = folder / WEIGHTS_FILE, folder / SETTINGS_FILE
        if (folder / PICKLED_BASELINE).is_file() and not weights.is_file():
            raise UserError(PICKLED_BASELINE_MESSAGE, folder)
        for path in (weights, settings_path):
            if not path.is_file():
                raise UserError(f"model folder is incomplete: {path.name} is missing", folder)
        try:
            settings = json.loads(settings_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"corrupt weights ({type(exc).__name__}: {exc})", settings_path) from None
        try:
            arrays = load_file(str(weights))
        except (SafetensorError, OSError, ValueError) as exc:  # truncated, not safetensors, ...
            raise UserError(f"corrupt weights ({type(exc).__name__}: {exc})", weights) from None
        pipeline = _rebuild_pipeline(settings, arrays)
        if pipeline is None:
            raise UserError("corrupt weights (not a newsroles TF-IDF baseline)", weights)
        check_labels_file(folder, settings["labels"], WEIGHTS_FILE)
        return cls(settings["labels"], pipeline, **settings["params"])


class TfidfRunner:
    """A TF-IDF baseline folder as a runner (model/loading.py): sentence by sentence, on the CPU,
    without an auxiliary head (`aux_out` stays empty)."""

    device = SimpleNamespace(type="cpu")
    int8_kernel = None

    def __init__(self, model: TfidfModel):
        self.model = model

    @classmethod
    def load(cls, folder: str | Path) -> "TfidfRunner":
        return cls(TfidfModel.load(folder))

    def predict(self, articles: list[Article], batch_size: int | None = None, progress=None, aux_out: list | None = None):
        probs = self.model.predict_proba(articles)
        if progress is not None:
            progress(sum(len(a.sentences) for a in articles))
        return probs


def _rebuild_pipeline(settings: Any, arrays: dict[str, np.ndarray]) -> Pipeline | None:
    """The fitted pipeline from saved plain data, or None when the data does not describe one."""
    if not isinstance(settings, dict) or settings.get("format") != FORMAT or set(arrays) != set(ARRAYS):
        return None
    labels, params = settings.get("labels"), settings.get("params")
    classes, vocabulary = settings.get("classes"), settings.get("vocabulary")
    if not (isinstance(labels, list) and labels and isinstance(params, dict) and set(params) <= set(PIPELINE_DEFAULTS)):
        return None
    if not (isinstance(classes, list) and len(classes) >= 2 and isinstance(vocabulary, list)):
        return None
    if not all(isinstance(x, str) for x in [*labels, *classes, *vocabulary]):
        return None
    if not all(isinstance(params.get(k, 1), int) and params.get(k, 1) >= 1 for k in ("ngram_max", "min_df", "max_iter")):
        return None
    idf, coef, intercept = arrays["idf"], arrays["coef"], arrays["intercept"]
    n_rows = 1 if len(classes) == 2 else len(classes)  # a two-class model has one row of weights
    if idf.shape != (len(vocabulary),) or coef.shape != (n_rows, len(vocabulary)) or intercept.shape != (n_rows,):
        return None
    pipeline = build_pipeline(**params)
    vectorizer, clf = pipeline.named_steps["tfidf"], pipeline.named_steps["clf"]
    vectorizer.vocabulary_ = {term: i for i, term in enumerate(vocabulary)}
    vectorizer.idf_ = idf
    clf.classes_ = np.array(classes, dtype=object)
    clf.coef_, clf.intercept_ = coef, intercept
    clf.n_features_in_ = len(vocabulary)
    return pipeline
