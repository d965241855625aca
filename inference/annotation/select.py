"""Which stories to label next: the ones the model is least sure of, spread over the pool.

Each sentence's uncertainty is its margin (1 - (p1 - p2), the gap between its two likeliest roles)
or its normalised entropy; a story's is their mean (or max, or sum). Picking is greedy: each step
takes the story with the best mix of uncertainty (as a rank in the pool, 0..1) and novelty (1 - its
highest TF-IDF cosine similarity to a story already picked), so that near-duplicates of a picked
story sink; exact duplicates of a picked text are never picked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from newsroles.inference.annotation.tasks import model_version, story_text, write_tasks
from newsroles.inference.io.inputs import LabelInputs
from newsroles.inference.predictor import load_labeler
from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.training.data.readers import read_articles

MEASURES = ("margin", "entropy")
AGGREGATES = ("mean", "max", "sum")


def sentence_uncertainty(probs: np.ndarray, measure: str = "margin") -> np.ndarray:
    """Per row of an (n_sentences, n_labels) probability array: 0 (sure) .. 1 (unsure)."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        return np.zeros(0)
    if measure == "margin":
        if probs.shape[1] < 2:
            return np.zeros(len(probs))
        top = np.sort(probs, axis=1)[:, -2:]
        return 1.0 - (top[:, 1] - top[:, 0])
    if measure == "entropy":
        p = np.clip(probs, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1) / np.log(max(probs.shape[1], 2))
    raise UserError(f"unknown uncertainty measure '{measure}'; use {' or '.join(MEASURES)}")


def story_uncertainty(probs: np.ndarray, measure: str = "margin", aggregate: str = "mean") -> float:
    u = sentence_uncertainty(probs, measure)
    if aggregate not in AGGREGATES:
        raise UserError(f"unknown aggregate '{aggregate}'; use {', '.join(AGGREGATES)}")
    if len(u) == 0:
        return 0.0
    return float({"mean": np.mean, "max": np.max, "sum": np.sum}[aggregate](u))


def pick(uncertainty: Sequence[float], texts: Sequence[str], n: int, diversity: float = 0.3) -> list[int]:
    """Indices of `n` stories, in the order picked (see the module's docstring); `diversity` in [0, 1]
    weighs novelty against uncertainty (0: uncertainty alone, still without exact duplicates)."""
    from scipy.stats import rankdata
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not 0.0 <= diversity <= 1.0:
        raise UserError(f"--diversity must be between 0 and 1, got {diversity}")
    u = np.asarray(uncertainty, dtype=np.float64)
    if len(u) == 0 or n <= 0:
        return []
    rank = (rankdata(u) - 1) / max(len(u) - 1, 1)
    try:
        vectors = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)  # rows are L2-normalised
    except ValueError:  # no words at all (e.g. only numbers): novelty cannot tell stories apart
        vectors = None
    closest = np.zeros(len(u))
    available = np.ones(len(u), dtype=bool)
    seen_texts: set[str] = set()
    chosen: list[int] = []
    while len(chosen) < n and available.any():
        score = np.where(available, (1 - diversity) * rank + diversity * (1 - closest), -np.inf)
        best = int(np.argmax(score))
        available[best] = False
        key = " ".join(texts[best].split()).lower()
        if key in seen_texts:
            continue
        seen_texts.add(key)
        chosen.append(best)
        if vectors is not None:
            closest = np.maximum(closest, (vectors @ vectors[best].T).toarray().ravel())
    return chosen


@dataclass
class SelectReport:
    pool: int = 0
    excluded: int = 0  # stories already in the --exclude files
    picked: list[tuple[str, float]] = field(default_factory=list)  # (story id, uncertainty), in order
    skipped: list[str] = field(default_factory=list)


def select_stories(
    pool: list[str],
    model: str | Path | None,
    n: int,
    output: str | Path,
    exclude: Sequence[str | Path] = (),
    measure: str = "margin",
    aggregate: str = "mean",
    diversity: float = 0.3,
    models_dir: str | Path = "models",
    device: str = "auto",
    batch_size: int | None = None,
    skip_bad: bool = False,
) -> SelectReport:
    """Label the `pool`, pick `n` stories and write them to `output` as Label Studio tasks with
    the model's pre-annotations; stories whose id is in an `exclude` file (e.g. the training
    data) are never picked."""
    if n < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    sentence_uncertainty(np.zeros((1, 2)), measure)  # a bad --measure or --aggregate is said before the model loads
    story_uncertainty(np.zeros((0, 2)), measure, aggregate)
    known = {a.id for path in exclude for a in read_articles(path)}
    inputs = LabelInputs(pool, skip_bad=skip_bad)
    labeler = load_labeler(model, device, models_dir=models_dir)
    report = SelectReport()
    articles: list[Article] = []
    for article in inputs:
        report.pool += 1
        if article.id in known:
            report.excluded += 1
        else:
            articles.append(article)
    labeled = list(labeler.label_stream(articles, batch_size=batch_size)) if articles else []
    report.skipped = list(inputs.skipped)
    scores = [story_uncertainty(_probabilities(a, labeler.labels), measure, aggregate) for a in labeled]
    order = pick(scores, [story_text(a)[0] for a in labeled], n, diversity)
    report.picked = [(labeled[i].id, scores[i]) for i in order]
    write_tasks((labeled[i] for i in order), output, model_version(labeler.path, labeler.manifest))
    return report


def _probabilities(article: Article, labels: Sequence[str]) -> np.ndarray:
    return np.array([[(s.scores or {}).get(lab, 0.0) for lab in labels] for s in article.sentences], dtype=np.float64)
