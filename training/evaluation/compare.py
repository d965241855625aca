"""Comparing models' predictions on the same labeled data: is the new one better, on which roles?

Plain functions on per-article probabilities (no model is loaded here; inference/evaluation/compare.py loads
and predicts, then calls `compare_predictions`):

* `flatten` -- the labeled sentences, with each model's probability rows;
* `changed_sentences` -- the labeled sentences whose predicted label changed, worst first;
* `compare_predictions` -- metrics, deltas, the paired bootstrap and McNemar's test
  (training/evaluation/significance.py) and the changed sentences as one plain-JSON dict, the first model
  being the reference every other one is compared against; `verdict` says it in one sentence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from newsroles.model.article import Article, labeled_sentences
from newsroles.model.errors import UserError
from newsroles.training.evaluation.metrics import compute_metrics
from newsroles.training.evaluation.significance import DEFAULT_SAMPLES, DEFAULT_SEED, mcnemar, paired_bootstrap

# ---------------------------------------------------------------------------------------------
# Per-sentence view


@dataclass
class Scored:
    """The labeled sentences of a data set, flattened, with each model's probabilities."""

    labels: list[str]
    article_ids: list[str]  # one per labeled sentence
    sentence_numbers: list[int]  # 1-based position in its article
    texts: list[str]
    gold: list[str]
    probs: list[np.ndarray]  # per model: (n_labeled, k)

    def predicted(self, i: int) -> list[str]:
        return [self.labels[j] for j in self.probs[i].argmax(axis=1)] if len(self.gold) else []


def flatten(articles: Sequence[Article], model_probs: Sequence[Sequence[np.ndarray]], labels: Sequence[str]) -> Scored:
    """Keep the labeled sentences; `model_probs[m][i]` is model m's (sentences, k) array for article i."""
    labels = list(labels)
    k = len(labels)
    keep = list(labeled_sentences(articles, labels))
    ids = [str(item.article_id) for item in keep]
    numbers = [item.position + 1 for item in keep]
    texts = [item.sentence.text for item in keep]
    gold = [item.label for item in keep]
    probs = []
    for per_article in model_probs:
        if len(per_article) != len(articles):
            raise ValueError(f"{len(articles)} articles but {len(per_article)} probability arrays")
        rows = [np.asarray(per_article[item.article])[item.position] for item in keep]
        probs.append(np.array(rows, dtype=float).reshape(len(rows), k))
    return Scored(labels, ids, numbers, texts, gold, probs)


CHANGE_ORDER = {"regression": 0, "still wrong": 1, "fix": 2}


def changed_sentences(scored: Scored, a: int = 0, b: int = 1) -> list[dict]:
    """Labeled sentences whose predicted label differs between models `a` and `b`, worst first.

    Each is a `regression` (A right, B wrong), a `fix` (A wrong, B right) or `still wrong`; within
    each kind, the larger the drop in the gold label's probability from A to B, the earlier.
    """
    labels = scored.labels
    pa, pb = scored.probs[a], scored.probs[b]
    out = []
    for n, gold in enumerate(scored.gold):
        ia, ib = int(pa[n].argmax()), int(pb[n].argmax())
        if ia == ib:
            continue
        g = labels.index(gold)
        la, lb = labels[ia], labels[ib]
        kind = "regression" if la == gold else "fix" if lb == gold else "still wrong"
        out.append(
            {
                "article": scored.article_ids[n],
                "sentence": scored.sentence_numbers[n],
                "text": scored.texts[n],
                "gold": gold,
                "a": {"label": la, "confidence": round(float(pa[n][ia]), 4)},
                "b": {"label": lb, "confidence": round(float(pb[n][ib]), 4)},
                "p_gold_a": round(float(pa[n][g]), 4),
                "p_gold_b": round(float(pb[n][g]), 4),
                "change": kind,
                "severity": round(float(pa[n][g] - pb[n][g]), 4),
            }
        )
    return sorted(out, key=lambda r: (CHANGE_ORDER[r["change"]], -r["severity"]))


# ---------------------------------------------------------------------------------------------
# The comparison


def _metric_deltas(ma: dict, mb: dict, labels: list[str]) -> dict:
    out = {k: mb[k] - ma[k] for k in ("macro_f1", "micro_f1", "weighted_f1", "accuracy")}
    out["per_label_f1"] = {label: mb["per_label"][label]["f1"] - ma["per_label"][label]["f1"] for label in labels}
    return out


def verdict(bootstrap: dict, mc: dict, alpha: float = 0.05) -> str:
    """One sentence saying whether B differs from A, and how sure that is."""
    d, lo, hi = bootstrap["delta"], bootstrap["low"], bootstrap["high"]
    level = round(bootstrap["confidence"] * 100)
    ci = f"{level}% CI [{lo:+.3f}, {hi:+.3f}]"
    if lo > 0:
        head = f"B is better: macro-F1 {d:+.3f}, {ci} excludes 0"
    elif hi < 0:
        head = f"B is worse: macro-F1 {d:+.3f}, {ci} excludes 0"
    else:
        head = f"no clear macro-F1 difference: {d:+.3f}, {ci} includes 0"
    sig = "significant" if mc["p_value"] < alpha else "not significant"
    net = mc["b_only_correct"] - mc["a_only_correct"] if "b_only_correct" in mc else 0
    noun = "sentence" if abs(net) == 1 else "sentences"
    direction = f"B gets {abs(net)} {'more' if net > 0 else 'fewer'} {noun} right" if net else "B gets as many sentences right"
    return f"{head}; {direction}, McNemar p = {mc['p_value']:.3g} ({sig} at {alpha:g})"


def significantly_worse(result: dict) -> list[dict]:
    """The comparisons whose model B is worse than the reference by the bootstrap interval (its
    upper end below 0): what `newsroles compare --fail-if-worse` fails on."""
    return [c for c in result["comparisons"] if c["bootstrap"]["high"] < 0]


def compare_predictions(
    articles: Sequence[Article],
    labels: Sequence[str],
    models: Sequence[dict],
    model_probs: Sequence[Sequence[np.ndarray]],
    *,
    data: dict | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Compare every model against the first on the same articles.

    `models[m]` describes model m (ref, id, name, path, kind...), `model_probs[m]` its per-article
    probabilities with columns in `labels` order. Returns plain JSON except each comparison's
    `bootstrap.deltas` (a numpy array; `to_json` drops it).
    """
    labels = list(labels)
    if len(models) < 2:
        raise UserError("compare needs at least two models")
    if len(models) != len(model_probs):
        raise ValueError("one probability list per model")
    scored = flatten(articles, model_probs, labels)
    preds = [scored.predicted(m) for m in range(len(models))]
    model_rows = []
    for m, info in enumerate(models):
        metrics = compute_metrics(scored.gold, preds[m], labels)
        model_rows.append({**info, "metrics": metrics})
    comparisons = []
    for m in range(1, len(models)):
        boot = paired_bootstrap(
            scored.gold, preds[0], preds[m], scored.article_ids, labels, samples=samples, seed=seed, confidence=confidence
        )
        mc = mcnemar(scored.gold, preds[0], preds[m])
        changes = changed_sentences(scored, 0, m)
        comparisons.append(
            {
                "a": 0,
                "b": m,
                "delta": _metric_deltas(model_rows[0]["metrics"], model_rows[m]["metrics"], labels),
                "bootstrap": boot,
                "mcnemar": mc,
                "changed": changes,
                "changed_counts": {kind: sum(1 for c in changes if c["change"] == kind) for kind in CHANGE_ORDER},
                "verdict": verdict(boot, mc),
            }
        )
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {
            **(data or {}),
            "articles": len(articles),
            "labeled_sentences": len(scored.gold),
        },
        "labels": labels,
        "models": model_rows,
        "comparisons": comparisons,
    }


def to_json(result: dict) -> dict:
    """The comparison without the bootstrap distributions (numpy arrays)."""
    out = dict(result)
    out["comparisons"] = [
        {**c, "bootstrap": {k: v for k, v in c["bootstrap"].items() if k != "deltas"}} for c in result["comparisons"]
    ]
    return out


def reorder_metrics(metrics: dict, labels: list[str]) -> dict:
    """`compute_metrics` output with its label order changed to `labels` (same set)."""
    old = metrics["labels"]
    idx = [old.index(label) for label in labels]
    cm = metrics["confusion_matrix"]
    return {
        **metrics,
        "labels": list(labels),
        "per_label": {label: metrics["per_label"][label] for label in labels},
        "confusion_matrix": [[cm[i][j] for j in idx] for i in idx],
    }


def model_label(row: dict) -> str:
    """How tables, pictures and the report name a model: its name and version id."""
    return f"{row['name']} {row['id']}"

