"""Per-label logit biases tuned on the dev set for macro-F1.

Training with a weighted loss still leaves the rare labels (fact) under- or over-predicted; a bias
per label, added to the logits, moves the decision boundaries to where dev macro-F1 is highest.
It is tuned on dev only (never on the held-out test) by coordinate ascent over a small grid, and
stored in the model's weights (`label_bias`), so every consumer of the model applies it.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score

from newsroles.model.article import labeled_sentences

GRID = np.round(np.arange(-1.5, 1.51, 0.1), 2)


def tune_label_bias(log_probs: np.ndarray, gold: np.ndarray, rounds: int = 3) -> tuple[np.ndarray, float, float]:
    """(biases, macro-F1 before, macro-F1 after) for labeled rows `log_probs` (n, L) and `gold` (n,)."""
    n_labels = log_probs.shape[1]
    label_ids = list(range(n_labels))

    def score(bias: np.ndarray) -> float:
        return f1_score(gold, np.argmax(log_probs + bias, axis=1), labels=label_ids, average="macro", zero_division=0)

    bias = np.zeros(n_labels)
    before = best = score(bias)
    for _ in range(rounds):
        improved = False
        for j in label_ids:
            for value in GRID:
                trial = bias.copy()
                trial[j] = value
                s = score(trial)
                if s > best + 1e-9:
                    best, bias, improved = s, trial, True
        if not improved:
            break
    return bias - bias.mean(), before, best


def labeled_log_probs(articles, probs, labels: list[str], offset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(log-probabilities minus `offset`, gold label index) for every labeled sentence of `articles`,
    from per-article probability arrays `probs`: the input of tune_label_bias."""
    index = {name: i for i, name in enumerate(labels)}
    shift = offset if offset is not None else 0.0
    rows, gold = [], []
    for item in labeled_sentences(articles, labels):
        rows.append(np.log(probs[item.article][item.position] + 1e-12) - shift)
        gold.append(index[item.label])
    if not rows:
        return np.zeros((0, len(labels))), np.zeros(0, dtype=int)
    return np.stack(rows), np.array(gold)
