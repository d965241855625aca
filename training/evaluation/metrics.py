"""Scoring: per-label precision/recall/F1, averages, accuracy and the confusion matrix.

Everything `compute_metrics` returns is plain JSON (str, int, float, lists, dicts), so it goes
straight into a model folder's `metrics.json`. Labels with no gold sentences and no predictions
score 0 (scikit-learn's `zero_division=0`), without warnings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
from rich.table import Table
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from newsroles.model.article import Article, labeled_sentences
from newsroles.model.errors import UserError
from newsroles.training.evaluation.withheld import WITHHELD


def compute_metrics(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Score predictions against gold labels over the label set `labels` (in that order).

    Returns `per_label` {label: {precision, recall, f1, support}}, `macro_f1`, `micro_f1`,
    `weighted_f1`, `accuracy`, `n`, `labels` and `confusion_matrix` (rows = gold, columns =
    predicted, both in `labels` order).
    """
    gold, pred, labels = list(gold), list(pred), list(labels)
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    if not labels:
        raise ValueError("empty label set")
    if len(set(labels)) != len(labels):
        raise ValueError(f"label set lists a label twice: {labels}")
    known = set(labels)
    for what, values in (("gold", gold), ("predicted", pred)):
        # A withheld prediction (training/evaluation/withheld.py) is no label: an error for its gold label.
        stray = sorted(set(values) - known - ({WITHHELD} if what == "predicted" else set()))
        if stray:
            raise UserError(f"{what} label(s) {stray} are not in the label set {labels}")

    n = len(gold)
    k = len(labels)
    if n == 0:
        zero = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
        return {
            "per_label": {lab: dict(zero) for lab in labels},
            "macro_f1": 0.0,
            "micro_f1": 0.0,
            "weighted_f1": 0.0,
            "accuracy": 0.0,
            "n": 0,
            "labels": labels,
            "confusion_matrix": [[0] * k for _ in range(k)],
        }

    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=labels, average=None, zero_division=0)
    averages = {}
    for avg in ("macro", "micro", "weighted"):
        averages[avg] = precision_recall_fscore_support(gold, pred, labels=labels, average=avg, zero_division=0)[2]
    cm = confusion_matrix(gold, pred, labels=labels)
    return {
        "per_label": {
            lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, lab in enumerate(labels)
        },
        "macro_f1": float(averages["macro"]),
        "micro_f1": float(averages["micro"]),
        "weighted_f1": float(averages["weighted"]),
        "accuracy": float(accuracy_score(gold, pred)),
        "n": n,
        "labels": labels,
        "confusion_matrix": [[int(x) for x in row] for row in cm],
    }


def gold_and_predictions(
    articles: Sequence[Article], probs: Sequence[np.ndarray], labels: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Pair each labeled sentence's gold label with the arg-max label of its probability row.

    `probs[i]` is an (n_sentences, n_labels) array for `articles[i]`, columns in `labels` order.
    Unlabeled sentences (label None) are skipped. A gold label outside `labels` is a UserError
    naming the label and the article.
    """
    labels = list(labels)
    if len(articles) != len(probs):
        raise ValueError(f"{len(articles)} articles but {len(probs)} probability arrays")
    probs = [np.asarray(p) for p in probs]
    for article, p in zip(articles, probs):
        expected = (len(article.sentences), len(labels))
        if p.shape != expected:
            raise ValueError(f"article {article.id!r}: probabilities have shape {p.shape}, expected {expected}")
    gold: list[str] = []
    pred: list[str] = []
    for item in labeled_sentences(articles, labels, "the model's labels"):
        gold.append(item.label)
        pred.append(labels[int(probs[item.article][item.position].argmax())])
    return gold, pred


def _fmt(x: float) -> str:
    return f"{x:.3f}"


def metrics_table(metrics: dict, title: str = "Scores") -> Table:
    """Per-label precision/recall/F1/support, then macro F1, micro F1 and accuracy."""
    table = Table(title=title)
    table.add_column("label")
    for name in ("precision", "recall", "F1", "support"):
        table.add_column(name, justify="right")
    for label in metrics["labels"]:
        row = metrics["per_label"][label]
        table.add_row(label, _fmt(row["precision"]), _fmt(row["recall"]), _fmt(row["f1"]), str(row["support"]))
    n = str(metrics["n"])
    table.add_section()
    table.add_row("macro F1", "", "", _fmt(metrics["macro_f1"]), n)
    table.add_row("micro F1", "", "", _fmt(metrics["micro_f1"]), n)
    table.add_row("accuracy", "", "", _fmt(metrics["accuracy"]), n)
    return table


def confusion_table(metrics: dict, title: str = "Confusion matrix (rows = gold, columns = predicted)") -> Table:
    """The confusion matrix as a table: one row per gold label, one column per predicted label."""
    labels = metrics["labels"]
    table = Table(title=title)
    table.add_column("gold \\ predicted")
    for label in labels:
        table.add_column(label, justify="right")
    table.add_column("total", justify="right")
    for label, row in zip(labels, metrics["confusion_matrix"]):
        table.add_row(label, *(str(x) for x in row), str(sum(row)))
    return table


def check_has_labels(articles: Sequence[Article], data: str | Path) -> None:
    """Scoring needs gold labels: a file without a single labeled sentence is a UserError."""
    if next(labeled_sentences(articles), None) is None:
        raise UserError(
            "no labeled sentences to score (every sentence's `label` is missing or null); "
            "evaluate needs labeled data, `newsroles label` tags unlabeled text",
            data,
        )
