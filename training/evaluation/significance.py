"""Is a difference between two models real? Paired bootstrap over articles and McNemar's test.

* `paired_bootstrap` -- confidence interval of the macro-F1 difference B - A, resampling whole
  articles with replacement (sentences of one article are not independent), both models scored
  on the same resample;
* `mcnemar` / `mcnemar_counts` -- McNemar's test on per-sentence correctness: exact two-sided
  binomial test when the discordant count is small, chi-square with continuity correction otherwise.

Plain computations on label lists: no model is loaded here.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy.stats import binom, chi2

DEFAULT_SAMPLES = 1000
DEFAULT_SEED = 13
EXACT_BELOW = 25  # McNemar: exact binomial test when b + c < this, chi-square otherwise


def macro_f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices (..., k, k), rows gold, columns predicted.

    Per label F1 = 2tp / (2tp + fp + fn), 0 when that is 0/0 -- the same as `compute_metrics`
    (scikit-learn with zero_division=0), averaged over the whole label set.
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    fp = cm.sum(axis=-2) - tp
    fn = cm.sum(axis=-1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)
    return f1.mean(axis=-1)


def _encode(values: Sequence, index: dict, what: str) -> np.ndarray:
    try:
        return np.array([index[v] for v in values], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"{what} label {exc.args[0]!r} is not in the label set {list(index)}") from None


def paired_bootstrap(
    gold: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    groups: Sequence,
    labels: Sequence[str],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Paired bootstrap over articles of the macro-F1 difference B - A.

    `gold`, `pred_a`, `pred_b` hold one label per sentence, `groups` the article each sentence
    belongs to. Each of `samples` resamples draws as many articles as there are, with replacement,
    and scores both models on the same drawn sentences. Returns the observed difference, the
    percentile interval at `confidence`, the share of resamples where B beats A, and the settings.
    """
    labels = list(labels)
    n = len(gold)
    if not (len(pred_a) == len(pred_b) == len(groups) == n):
        raise ValueError("gold, pred_a, pred_b and groups must have the same length")
    if samples < 1:
        raise ValueError("samples must be >= 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    g, a, b = _encode(gold, index, "gold"), _encode(pred_a, index, "predicted"), _encode(pred_b, index, "predicted")
    group_ids: dict = {}
    art = np.array([group_ids.setdefault(x, len(group_ids)) for x in groups], dtype=np.int64)
    m = len(group_ids)
    # One confusion matrix per article and model: a resample's matrix is a count-weighted sum.
    cm_a = np.zeros((m, k * k))
    cm_b = np.zeros((m, k * k))
    np.add.at(cm_a, (art, g * k + a), 1)
    np.add.at(cm_b, (art, g * k + b), 1)
    observed_a = float(macro_f1_from_confusion(cm_a.sum(axis=0).reshape(k, k))) if n else 0.0
    observed_b = float(macro_f1_from_confusion(cm_b.sum(axis=0).reshape(k, k))) if n else 0.0
    if m == 0:
        deltas = np.zeros(samples)
    else:
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(m, np.full(m, 1.0 / m), size=samples).astype(float)
        f1_a = macro_f1_from_confusion((counts @ cm_a).reshape(samples, k, k))
        f1_b = macro_f1_from_confusion((counts @ cm_b).reshape(samples, k, k))
        deltas = f1_b - f1_a
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    return {
        "metric": "macro_f1",
        "a": observed_a,
        "b": observed_b,
        "delta": observed_b - observed_a,
        "low": float(low),
        "high": float(high),
        "confidence": confidence,
        "b_better_share": float(np.mean(deltas > 0)),
        "samples": int(samples),
        "seed": int(seed),
        "articles": int(m),
        "resampled": "articles",
        "deltas": deltas,  # the bootstrap distribution (a numpy array; dropped from JSON output)
    }


def mcnemar_counts(b: int, c: int, exact_below: int = EXACT_BELOW) -> dict:
    """McNemar's test from the discordant counts.

    `b`: sentences model A got right and B wrong; `c`: B right and A wrong. When b + c is below
    `exact_below`, the exact two-sided binomial test (p = min(1, 2 P[X <= min(b, c)]), X ~
    Bin(b + c, 1/2)); otherwise chi-square with continuity correction, (|b - c| - 1)^2 / (b + c), 1 dof.
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError("counts must be >= 0")
    n = b + c
    if n == 0:
        return {"method": "none (no discordant sentences)", "statistic": 0.0, "p_value": 1.0, "discordant": 0}
    if n < exact_below:
        p = min(1.0, 2 * float(binom.cdf(min(b, c), n, 0.5)))
        return {"method": "exact binomial", "statistic": float(min(b, c)), "p_value": p, "discordant": n}
    stat = (abs(b - c) - 1) ** 2 / n if abs(b - c) >= 1 else 0.0
    return {"method": "chi-square, continuity-corrected", "statistic": float(stat), "p_value": float(chi2.sf(stat, 1)), "discordant": n}


def mcnemar(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], exact_below: int = EXACT_BELOW) -> dict:
    """McNemar's test on per-sentence correctness of two models; also returns the 2x2 table."""
    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError("gold, pred_a and pred_b must have the same length")
    ok_a = np.array([x == y for x, y in zip(gold, pred_a)], dtype=bool)
    ok_b = np.array([x == y for x, y in zip(gold, pred_b)], dtype=bool)
    table = {
        "both_correct": int(np.sum(ok_a & ok_b)),
        "a_only_correct": int(np.sum(ok_a & ~ok_b)),
        "b_only_correct": int(np.sum(~ok_a & ok_b)),
        "both_wrong": int(np.sum(~ok_a & ~ok_b)),
    }
    return {**table, **mcnemar_counts(table["a_only_correct"], table["b_only_correct"], exact_below), "n": len(gold)}
