"""How far a model's confidence can be trusted: calibration error, temperature, coverage.

Pure functions over probability rows (n, L) and gold label indices (n,). The temperature is fitted
on dev after the label biases (training/recipes/temperature.py) and stored in the model's weights; the
coverage table says what share of sentences a confidence threshold keeps and how accurate they are.
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def reliability_bins(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    """Top-label reliability: per equal-width confidence bin (lo, hi], its count, mean confidence
    and accuracy (None for an empty bin)."""
    probs, gold = np.asarray(probs, dtype=float), np.asarray(gold)
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(axis=1) == gold) if len(probs) else np.zeros(0, dtype=bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin k holds confidences in (edges[k], edges[k+1]]; a confidence of exactly 0 goes to bin 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    out = []
    for k in range(bins):
        mask = which == k
        n = int(mask.sum())
        out.append(
            {
                "lo": round(float(edges[k]), 6),
                "hi": round(float(edges[k + 1]), 6),
                "n": n,
                "confidence": float(confidence[mask].mean()) if n else None,
                "accuracy": float(correct[mask].mean()) if n else None,
            }
        )
    return out


def expected_calibration_error(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> float:
    """Top-label ECE: the count-weighted mean gap between confidence and accuracy over the bins."""
    total = len(gold)
    if total == 0:
        return 0.0
    return float(sum(b["n"] / total * abs(b["confidence"] - b["accuracy"]) for b in reliability_bins(probs, gold, bins) if b["n"]))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, gold: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of `gold` under softmax(logits / temperature)."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(gold)), gold].mean())


def fit_temperature(logits: np.ndarray, gold: np.ndarray, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature T minimising dev NLL of softmax(logits / T).

    NLL is unimodal in log T, so a golden-section search over log T finds it without gradients.
    Returns 1.0 when there is nothing to fit on.
    """
    logits, gold = np.asarray(logits, dtype=float), np.asarray(gold, dtype=int)
    if len(gold) == 0:
        return 1.0
    ratio = (np.sqrt(5) - 1) / 2
    a, b = np.log(low), np.log(high)
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(logits, gold, np.exp(c)), nll(logits, gold, np.exp(d))
    for _ in range(80):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(logits, gold, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(logits, gold, np.exp(d))
    return float(np.exp((a + b) / 2))


def calibration_summary(probs: np.ndarray, gold: np.ndarray, bins: int = ECE_BINS) -> dict:
    """ECE and reliability bins of probability rows, as plain JSON for a report."""
    return {"ece": round(expected_calibration_error(probs, gold, bins), 6), "bins": bins, "reliability": reliability_bins(probs, gold, bins)}


DEFAULT_THRESHOLDS = tuple(round(0.1 * k, 1) for k in range(10))


def coverage_table(probs: np.ndarray, gold: np.ndarray, thresholds=DEFAULT_THRESHOLDS) -> list[dict]:
    """Per confidence threshold P: the share of sentences whose top probability is >= P (what
    `newsroles label --min-confidence P` keeps), how many, and the accuracy of those kept."""
    probs, gold = np.asarray(probs, dtype=float), np.asarray(gold)
    confidence = probs.max(axis=1) if len(probs) else np.zeros(0)
    correct = (probs.argmax(axis=1) == gold) if len(probs) else np.zeros(0, dtype=bool)
    rows = []
    for p in thresholds:
        kept = confidence >= p
        n = int(kept.sum())
        rows.append(
            {
                "threshold": float(p),
                "kept": n,
                "coverage": n / len(gold) if len(gold) else 0.0,
                "accuracy": float(correct[kept].mean()) if n else None,
            }
        )
    return rows


def detection_scores(predicted: np.ndarray, actual: np.ndarray) -> dict:
    """Precision, recall and F1 of a yes/no detector (e.g. boilerplate) against the truth."""
    predicted, actual = np.asarray(predicted, dtype=bool), np.asarray(actual, dtype=bool)
    tp = int((predicted & actual).sum())
    fp = int((predicted & ~actual).sum())
    fn = int((~predicted & actual).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_positives": tp, "false_positives": fp, "false_negatives": fn}
