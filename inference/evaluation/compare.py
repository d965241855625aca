"""`newsroles compare`: load each model, label the same labeled file, compare them against the first.

The comparison itself (metrics, bootstrap, McNemar, changed sentences) is training/evaluation/compare.py's
`compare_predictions`, a plain computation on probabilities; this part loads models and predicts.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np

from newsroles.inference.predictor import load_labeler
from newsroles.model.errors import UserError
from newsroles.model.store.folder import read_manifest
from newsroles.model.store.registry import resolve
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import data_fingerprint
from newsroles.training.evaluation.compare import compare_predictions, reorder_metrics
from newsroles.training.evaluation.metrics import check_has_labels
from newsroles.training.evaluation.significance import DEFAULT_SAMPLES, DEFAULT_SEED


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
    for row in result["models"]:
        n = result["data"]["sentences"]
        # The same metrics in the model's own label order, as `evaluate_model` would record them.
        own = read_labels(row["path"])
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


def read_labels(folder: str | Path) -> list[str]:
    return list(read_manifest(folder)["labels"])
