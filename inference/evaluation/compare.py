"""`newsroles compare`: load each model, label the same labeled file, compare them against the first.

The comparison itself (metrics, bootstrap, McNemar, changed sentences) is training/evaluation/compare.py's
`compare_predictions`, a plain computation on probabilities; this part loads models and predicts.
`run_comparison` is all that the command does, records and files included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from newsroles.inference.evaluation.compare_report import write_report
from newsroles.inference.evaluation.evaluate import record_or_warn
from newsroles.inference.predictor import load_labeler
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.store.registry import resolve
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import data_fingerprint
from newsroles.training.evaluation.compare import compare_predictions, reorder_metrics, to_json
from newsroles.training.evaluation.metrics import check_has_labels
from newsroles.training.evaluation.significance import DEFAULT_SAMPLES, DEFAULT_SEED


@dataclass
class Comparison:
    result: dict  # what `compare_models` returns
    warnings: list[str] = field(default_factory=list)  # evaluations that could not be recorded, and why


def _align(probs: list[np.ndarray], own: list[str], labels: list[str]) -> list[np.ndarray]:
    order = [own.index(label) for label in labels]
    return [np.asarray(p)[:, order] for p in probs]


def compare_models(
    refs: Sequence[str],
    data: str | Path,
    *,
    models_dir: str | Path = "models",
    device: str = "auto",
    batch_size: int | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Load each referenced model (id, name, name/version or folder), label `data`, compare against the first.

    Every comparison also carries, per model, an `evaluation` in the form `evaluate_model` returns,
    so the caller can record it in the model's folder.
    """
    if len(refs) < 2:
        raise UserError("compare needs at least two models")
    versions = [resolve(ref, models_dir) for ref in refs]
    labels = list(versions[0].manifest["labels"])
    for v in versions[1:]:
        own = list(v.manifest["labels"])
        if set(own) != set(labels) or len(own) != len(labels):
            raise UserError(
                f"label sets differ: {versions[0].ref} has {labels}, {v.ref} has {own}; "
                "only models with the same labels can be compared",
            )
    labelers = [load_labeler(v.path, device) for v in versions]
    articles = read_articles(data, labels, labels_name="the models' labels")
    check_has_labels(articles, data)
    n_sentences = sum(len(a.sentences) for a in articles)
    data_info = {"path": str(data), "sha256": data_fingerprint(data), "sentences": n_sentences}
    all_probs = []
    infos = []
    for ref, v, lab in zip(refs, versions, labelers):
        started = time.perf_counter()
        probs = _align(lab.predict(articles, batch_size), list(lab.labels), labels)
        seconds = time.perf_counter() - started
        all_probs.append(probs)
        infos.append(
            {
                "ref": str(ref),
                "id": v.id,
                "name": v.name,
                "path": str(v.path),
                "kind": v.kind,
                "created": v.created,
                "parent": v.parent,
                "seconds": round(seconds, 3),
            }
        )
    result = compare_predictions(
        articles, labels, infos, all_probs, data=data_info, samples=samples, seed=seed, confidence=confidence
    )
    for row, version in zip(result["models"], versions):
        n = result["data"]["sentences"]
        # The same metrics in the model's own label order, as `evaluate_model` would record them.
        own = list(version.manifest["labels"])
        metrics = row["metrics"]
        if own != labels:
            metrics = reorder_metrics(metrics, own)
        row["evaluation"] = {
            "model": row["path"],
            "data": {**data_info, "articles": len(articles), "sentences": n},
            "seconds": row["seconds"],
            "sentences_per_second": round(n / row["seconds"], 1) if row["seconds"] > 0 else None,
            **metrics,
        }
    return result


def run_comparison(
    refs: Sequence[str],
    data: str | Path,
    *,
    record: bool = True,
    output: str | Path | None = None,
    report: str | Path | None = None,
    on_result: Callable[[dict], None] | None = None,
    **options,
) -> Comparison:
    """`compare_models` (`options`: its models_dir, device, batch_size, samples, seed, confidence),
    then what `newsroles compare` keeps of it: with `record`, each model's evaluation in its folder
    (a folder that cannot be written is a warning, not an error); the comparison as JSON at `output`;
    the self-contained HTML report at `report`. `on_result(result)` is called with the comparison
    before any of them is written."""
    result = compare_models(refs, data, **options)
    if on_result is not None:
        on_result(result)
    compared = Comparison(result)
    if record:
        for row in result["models"]:
            compared.warnings += record_or_warn(row["path"], row["evaluation"])
    if output is not None:
        with atomic_file(output) as fh:
            json.dump(to_json(result), fh, indent=2, ensure_ascii=False)
            fh.write("\n")
    if report is not None:
        write_report(result, report)
    return compared
