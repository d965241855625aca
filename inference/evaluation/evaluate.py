"""Scoring a model folder on a labeled file: load it, label the file, compute the metrics.

The metrics themselves are training/evaluation/metrics.py's (plain computations); this is the part that
loads a model and predicts, so it sits here, above them.
"""

from __future__ import annotations

import time
from pathlib import Path

from newsroles.inference.predictor import load_labeler
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import data_fingerprint
from newsroles.training.evaluation.metrics import check_has_labels, compute_metrics, gold_and_predictions
from newsroles.training.evaluation.withheld import calibration_of, mark_withheld, withheld_report


def evaluate_model(model: str | Path, data: str | Path, device: str = "auto", batch_size: int | None = None) -> dict:
    """Score a model folder on a labeled data file: metrics plus what was compared."""
    labeler = load_labeler(model, device)
    # A label outside the model's set is an error here, naming every such label of the file.
    articles = read_articles(data, labeler.labels, labels_name="the model's labels")
    check_has_labels(articles, data)
    started = time.perf_counter()
    probs, masks = labeler.predict_with_boilerplate(articles, batch_size)
    seconds = time.perf_counter() - started
    gold, pred = gold_and_predictions(articles, probs, labeler.labels)
    # A gold-role sentence withheld as boilerplate counts as a miss for its role (training/evaluation/withheld.py).
    metrics = compute_metrics(gold, mark_withheld(pred, articles, masks), labeler.labels)
    metrics.update(withheld_report(articles, masks, labeler.labels))
    metrics["calibration"] = calibration_of(articles, probs, labeler.labels)
    n_sentences = sum(len(a.sentences) for a in articles)
    return {
        "model": str(model),
        "data": {"path": str(data), "sha256": data_fingerprint(data), "articles": len(articles), "sentences": n_sentences},
        "seconds": round(seconds, 3),
        "sentences_per_second": round(n_sentences / seconds, 1) if seconds > 0 else None,
        **metrics,
    }
