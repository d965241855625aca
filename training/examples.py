"""Training examples: an article's windows (as inference cuts them) with per-sentence targets."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from newsroles.model.article import Article
from newsroles.model.batching import article_windows
from newsroles.model.windows import Window, tokenize_articles
from newsroles.training.config import RunConfig


@dataclass
class TrainingExamples:
    windows: list[Window]
    labels: list[list[int]]  # per window, per sentence: label index or -100 (unlabeled)
    aux: list[list[list[float]]]  # per window, per sentence: multi-hot corpus labels and auxiliary targets, -1 = unknown
    # Distillation (training/recipes/distill.py): per window, the teacher's probabilities per sentence; None when off.
    soft: list[np.ndarray] | None = None


def make_examples(
    tokenizer, articles: list[Article], spec, labels: list[str], aux_labels: list[str], first_shares=None, tokens=None,
    soft_targets: list[np.ndarray] | None = None,
) -> TrainingExamples:
    """Windows with their gold labels, corpus labels and (given `soft_targets`, per article a
    (sentences, labels) array of a teacher's probabilities) the teacher's rows."""
    label_index = {name: i for i, name in enumerate(labels)}
    aux_index = {name: i for i, name in enumerate(aux_labels)}
    # Columns of auxiliary corpora's targets (training/data/auxiliary.py): known only for their own
    # sentences; the rest are the corpus's labels, known (0 or 1) where a sentence has source_labels.
    target_columns = {aux_index[n] for a in articles for s in a.sentences if s.targets for n in s.targets if n in aux_index}
    own_columns = [i for i in range(len(aux_labels)) if i not in target_columns]
    windows, _ = article_windows(tokenizer, articles, spec, first_shares=first_shares, tokens=tokens)
    window_labels, window_aux = [], []
    for w in windows:
        sentences = articles[w.article].sentences[w.start : w.end]
        window_labels.append([label_index[s.label] if s.label is not None else -100 for s in sentences])
        rows = []
        for s in sentences:
            row = [-1.0] * len(aux_labels)
            if s.source_labels:
                for i in own_columns:
                    row[i] = 0.0
                for name in s.source_labels:
                    if name in aux_index:
                        row[aux_index[name]] = 1.0
            for name, value in (s.targets or {}).items():
                if name in aux_index:
                    row[aux_index[name]] = float(value)
            rows.append(row)
        window_aux.append(rows)
    soft = None if soft_targets is None else [soft_targets[w.article][w.start : w.end] for w in windows]
    return TrainingExamples(windows, window_labels, window_aux, soft)


def epoch_examples(
    config: RunConfig, tokenizer, train: list[Article], spec, labels, aux_labels, soft: list[np.ndarray] | None = None, unlabeled=None,
    auxiliary=None,
) -> list[TrainingExamples]:
    """The training windows of each epoch: the same every epoch, or with `train.shift_windows` cut
    differently each epoch (from the seed and the epoch alone, so a resumed run sees the same).
    `soft`: per article, a teacher's probabilities to distil (training/recipes/distill.py), or None.
    `unlabeled` (training/recipes/semi_supervised.py): pseudo-labeled stories, some drawn into each epoch.
    `auxiliary` (training/data/auxiliary.py): the auxiliary corpora whose articles end `train`, a
    source's per_epoch of them drawn into each epoch, or None (all of `train` every epoch)."""
    tc = config.train
    pool = unlabeled.articles if unlabeled is not None else []
    everything = train + pool
    tokens = tokenize_articles(tokenizer, everything, spec)
    shifting = tc.shift_windows and spec.is_article
    drawing_aux = auxiliary is not None and auxiliary.drawn
    if not (shifting or pool or drawing_aux):
        return [make_examples(tokenizer, train, spec, labels, aux_labels, tokens=tokens, soft_targets=soft)] * tc.epochs
    all_soft = None if soft is None else list(soft) + (list(unlabeled.soft) if pool else [])
    out = []
    for epoch in range(1, tc.epochs + 1):
        if drawing_aux:
            labeled = len(train) - len(auxiliary.articles)
            chosen = list(range(labeled)) + [labeled + i for i in auxiliary.draw(config.seed, epoch)]
        else:
            chosen = list(range(len(train)))
        chosen += [len(train) + i for i in (unlabeled.draw(config.seed, epoch) if pool else [])]
        shares = None
        if shifting:
            draw = random.Random(f"window-shift-{config.seed}-{epoch}")
            shares = [draw.random() for _ in chosen]
        out.append(
            make_examples(
                tokenizer, [everything[i] for i in chosen], spec, labels, aux_labels, first_shares=shares,
                tokens=[tokens[i] for i in chosen], soft_targets=None if all_soft is None else [all_soft[i] for i in chosen],
            )
        )
    return out
