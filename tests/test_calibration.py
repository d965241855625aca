"""Calibrated confidence: ECE, temperature scaling, the coverage table, and --min-confidence."""

from __future__ import annotations

import numpy as np
import pytest

from newsroles.model.article import Article, Sentence
from newsroles.training.evaluation.calibration import (
    coverage_table,
    expected_calibration_error,
    fit_temperature,
    nll,
    reliability_bins,
    softmax,
)


def overconfident(n=4000, seed=0):
    """Logits whose true temperature is 2: labels drawn from softmax(logits / 2)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, 4))
    true = softmax(logits / 2.0)
    gold = np.array([rng.choice(4, p=row) for row in true])
    return logits, gold


def test_ece_is_zero_when_confidence_equals_accuracy_and_the_gap_otherwise():
    # 10 rows at confidence 0.7, 7 of them right: perfectly calibrated.
    probs = np.tile([0.7, 0.1, 0.1, 0.1], (10, 1))
    gold = np.array([0] * 7 + [1] * 3)
    assert expected_calibration_error(probs, gold) == pytest.approx(0.0)
    # All wrong at confidence 0.7: the gap is 0.7.
    assert expected_calibration_error(probs, np.ones(10, dtype=int)) == pytest.approx(0.7)


def test_reliability_bins_count_every_row_once_in_the_bin_of_its_confidence():
    probs = np.array([[0.95, 0.05], [0.55, 0.45], [0.5, 0.5], [1.0, 0.0]])
    bins = reliability_bins(probs, np.array([0, 1, 0, 0]), bins=10)
    assert sum(b["n"] for b in bins) == 4
    assert bins[9]["n"] == 2 and bins[9]["accuracy"] == 1.0  # 0.95 and 1.0
    assert bins[5]["n"] == 1 and bins[5]["accuracy"] == 0.0  # 0.55, wrong
    assert bins[4]["n"] == 1  # exactly 0.5 belongs to (0.4, 0.5]


def test_fitted_temperature_recovers_the_true_one_and_lowers_nll_and_ece():
    logits, gold = overconfident()
    t = fit_temperature(logits, gold)
    assert 1.7 < t < 2.3
    assert nll(logits, gold, t) < nll(logits, gold, 1.0)
    assert expected_calibration_error(softmax(logits / t), gold) < 0.5 * expected_calibration_error(softmax(logits), gold)


def test_temperature_never_changes_the_predicted_label():
    logits, gold = overconfident(500)
    t = fit_temperature(logits, gold)
    assert (softmax(logits / t).argmax(1) == logits.argmax(1)).all()


def test_coverage_table_keeps_fewer_sentences_and_more_accurate_ones_as_the_threshold_rises():
    logits, gold = overconfident()
    rows = coverage_table(softmax(logits / 2.0), gold)
    assert [r["threshold"] for r in rows] == pytest.approx([0.1 * k for k in range(10)])
    assert rows[0]["coverage"] == 1.0 and rows[0]["kept"] == len(gold)
    kept = [r["kept"] for r in rows]
    assert kept == sorted(kept, reverse=True) and kept[-1] < kept[0]
    accuracies = [r["accuracy"] for r in rows if r["kept"] > 100]
    assert accuracies[-1] > accuracies[0] + 0.1


def test_coverage_table_says_no_accuracy_when_nothing_is_kept():
    rows = coverage_table(np.array([[0.6, 0.4]]), np.array([0]), thresholds=(0.5, 0.9))
    assert rows[0]["kept"] == 1 and rows[0]["accuracy"] == 1.0
    assert rows[1]["kept"] == 0 and rows[1]["accuracy"] is None


def test_coverage_markdown_has_a_row_per_threshold():
    from newsroles.model.cards.extras import coverage_markdown

    rows = coverage_table(np.array([[0.6, 0.4], [0.95, 0.05]]), np.array([1, 0]), thresholds=(0.0, 0.9))
    text = coverage_markdown(rows)
    assert text.splitlines()[2] == "| 0.0 | 100.0% | 2 | 0.500 |"
    assert text.splitlines()[3] == "| 0.9 | 50.0% | 1 | 1.000 |"


def test_withhold_unlabels_low_confidence_sentences_and_keeps_their_scores():
    from newsroles.inference.predictor import apply_predictions
    from newsroles.inference.withhold import LOW_CONFIDENCE, withhold

    article = Article("a", [Sentence("one"), Sentence("two"), Sentence("(Yonhap)")])
    apply_predictions(article, np.array([[0.9, 0.1], [0.55, 0.45], [0.97, 0.03]]), ["quote", "fact"])
    assert withhold(article, np.array([False, False, True]), min_confidence=0.6) == 2
    first, second, third = article.sentences
    assert first.label == "quote" and first.reason is None
    assert second.label is None and second.reason == LOW_CONFIDENCE and second.scores == {"quote": 0.55, "fact": 0.45}
    assert third.label is None and third.reason == "boilerplate" and third.confidence == pytest.approx(0.97)
    assert third.to_dict()["reason"] == "boilerplate" and "reason" not in first.to_dict()
