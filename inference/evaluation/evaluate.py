"""Scoring models on a labeled file: load each, label the file, compute the metrics, record them.

The metrics themselves are training/evaluation/metrics.py's (plain computations); this is the part that
loads a model and predicts, so it sits here, above them. `evaluate_models` is all that `newsroles
evaluate` does, so a Python caller gets the same records and files as the command.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from newsroles.inference.evaluation.reliability_plot import check_plot_path, write_reliability_plot
from newsroles.inference.predictor import load_labeler
from newsroles.model.cards.card import record_evaluation
from newsroles.model.fileio import atomic_file
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import data_fingerprint
from newsroles.training.evaluation.metrics import check_has_labels, compute_metrics, gold_and_predictions
from newsroles.training.evaluation.withheld import calibration_of, mark_withheld, withheld_report


@dataclass
class Evaluations:
    results: list[dict]  # one `evaluate_model` result per model, in the order given
    warnings: list[str] = field(default_factory=list)  # evaluations that could not be recorded, and why


def evaluate_model(
    model: str | Path, data: str | Path, device: str = "auto", batch_size: int | None = None, *, models_dir: str | Path = "models"
) -> dict:
    """Score a model (a folder, id, name, name/version or installed package, looked up in
    `models_dir`) on a labeled data file: metrics plus what was compared."""
    labeler = load_labeler(model, device, models_dir=models_dir)
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
        "model": str(labeler.path),  # the folder the reference named
        "data": {"path": str(data), "sha256": data_fingerprint(data), "articles": len(articles), "sentences": n_sentences},
        "seconds": round(seconds, 3),
        "sentences_per_second": round(n_sentences / seconds, 1) if seconds > 0 else None,
        **metrics,
    }


def evaluate_models(
    refs: Sequence[str | Path],
    data: str | Path,
    *,
    models_dir: str | Path = "models",
    device: str = "auto",
    batch_size: int | None = None,
    record: bool = True,
    output: str | Path | None = None,
    plot: str | Path | None = None,
    on_result: Callable[[str | Path, dict], None] | None = None,
) -> Evaluations:
    """Score each referenced model on `data`; with `record`, keep each result in its model's folder
    (evaluations/ and its card); write the results as JSON to `output` (one object for one model, a
    list for several) and their reliability diagram to `plot` (.png, .svg or .pdf).

    `on_result(ref, result)` is called as each model is scored, before the next loads. A folder
    that cannot be written (an installed package, a read-only disk) is a warning, not an error."""
    if plot is not None:
        check_plot_path(plot)  # before the models run
    found = Evaluations([])
    for ref in refs:
        result = evaluate_model(ref, data, device, batch_size, models_dir=models_dir)
        found.results.append(result)
        if on_result is not None:
            on_result(ref, result)
        if record:
            found.warnings += record_or_warn(result["model"], result)  # the folder the reference named
    if plot is not None:
        write_reliability_plot(found.results, plot, names=[str(ref) for ref in refs])
    if output is not None:
        with atomic_file(output) as fh:
            json.dump(found.results[0] if len(found.results) == 1 else found.results, fh, indent=2)
            fh.write("\n")
    return found


def record_or_warn(folder: str | Path, result: dict) -> list[str]:
    """Record `result` in the model folder; a folder that cannot be written gives a warning instead."""
    try:
        record_evaluation(folder, result)
    except OSError as exc:
        return [f"could not record the evaluation in {folder} ({exc})"]
    return []
