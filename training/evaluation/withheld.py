"""Scoring a labeler that leaves some sentences unlabeled (boilerplate: inference/withhold.py).

Decision: the role metrics stay over every gold-role sentence, and a gold-role sentence the labeler
withheld counts as an error for its role (a miss: lower recall; no label's precision changes), so
withholding can never flatter the scores. The count of such sentences per gold role is reported
separately as `withheld`, and boilerplate detection is scored against the corpus's NA lines
(unlabeled sentences whose source labels include NA) as `boilerplate`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from newsroles.model.article import Article
from newsroles.model.text.boilerplate import NA_LABEL
from newsroles.training.evaluation.calibration import calibration_summary, detection_scores
from newsroles.training.recipes.label_bias import labeled_log_probs

WITHHELD = "(withheld)"  # the prediction of a withheld sentence in the gold/predicted lists


def mark_withheld(pred: list[str], articles: Sequence[Article], masks: Sequence[np.ndarray]) -> list[str]:
    """`pred` (one entry per labeled sentence, as gold_and_predictions pairs them) with WITHHELD
    where the mask withheld that sentence."""
    flags = [bool(m[k]) for a, m in zip(articles, masks) for k, s in enumerate(a.sentences) if s.label is not None]
    return [WITHHELD if f else p for p, f in zip(pred, flags)]


def is_gold_boilerplate(sentence) -> bool:
    return sentence.label is None and NA_LABEL in (sentence.source_labels or [])


def withheld_report(articles: Sequence[Article], masks: Sequence[np.ndarray], labels: Sequence[str]) -> dict:
    """`withheld`: gold-role sentences left unlabeled, per gold role; `boilerplate`: precision and
    recall of the mask against the gold NA lines (None when the data marks none)."""
    per_label = {name: 0 for name in labels}
    predicted, actual = [], []
    for article, mask in zip(articles, masks):
        for k, sentence in enumerate(article.sentences):
            if sentence.label is not None and mask[k]:
                per_label[sentence.label] += 1
            predicted.append(bool(mask[k]))
            actual.append(is_gold_boilerplate(sentence))
    detection = detection_scores(np.array(predicted), np.array(actual)) if any(actual) else None
    if detection is not None:
        detection["gold"] = int(sum(actual))
    return {"withheld": {"n": sum(per_label.values()), "per_label": per_label}, "boilerplate": detection}


def calibration_of(articles: Sequence[Article], probs: Sequence[np.ndarray], labels: Sequence[str]) -> dict:
    """ECE and reliability bins of the role probabilities over the gold-role sentences."""
    log_probs, gold = labeled_log_probs(articles, probs, list(labels))
    return calibration_summary(np.exp(log_probs), gold)


def summary_lines(result: dict) -> list[str]:
    """Plain lines for `newsroles evaluate`: calibration, withheld sentences, boilerplate detection."""
    lines = []
    if result.get("calibration"):
        c = result["calibration"]
        lines.append(f"expected calibration error (top label, {c['bins']} bins): {c['ece']:.4f}")
    withheld = result.get("withheld") or {}
    if withheld.get("n"):
        per = ", ".join(f"{k} {v}" for k, v in withheld["per_label"].items() if v)
        lines.append(f"withheld as boilerplate though the gold has a role (counted as errors): {withheld['n']} ({per})")
    b = result.get("boilerplate")
    if b:
        lines.append(
            f"boilerplate (gold NA lines: {b['gold']}): precision {b['precision']:.3f}, recall {b['recall']:.3f}"
        )
    return lines
