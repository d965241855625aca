"""Semi-supervised training: stories without gold labels, taught by a teacher's soft labels.

`data.unlabeled` names split stories (any file `read_articles` takes; their labels, if any, are
ignored) that the teacher labeled with `newsroles distill-targets TEACHER TRAIN ... --unlabeled
STORIES`, in the same targets file as the gold articles (`train.distill_targets`). Each of their
sentences whose teacher probability reaches `train.pseudo_min_confidence` gets the teacher's best
label (a pseudo label); it then trains like a gold sentence, its role loss blended with the
distillation loss on the teacher's probabilities (training/recipes/distill.py). Less confident sentences
stay in the windows as context only. One threshold starves the role the teacher is least sure of
(fact: 4% of the stories' pseudo labels at 0.7, against 9% of gold sentences), so
`train.pseudo_min_class_fraction` lets each role keep at least that fraction of the sentences the
teacher gives it, its most confident ones, below the threshold too (class-balanced self-training,
Zou et al. 2018).

`train.unlabeled_per_epoch` stories are drawn anew each epoch (0: all of them every epoch), from
the seed and the epoch alone, so a resumed run draws the same: each epoch costs the gold articles
plus that many stories, however large the pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.training.data.epoch_draw import epoch_draw
from newsroles.training.data.readers import read_articles
from newsroles.training.recipes.teacher_targets import TeacherTargets, aligned_targets


@dataclass
class UnlabeledPool:
    """The stories, their sentences pseudo-labeled where the teacher is confident, the teacher's
    rows per story, and how many to draw per epoch; `record` is what metrics.json says of them."""

    articles: list[Article]
    soft: list[np.ndarray]
    per_epoch: int
    record: dict

    def draw(self, seed: int, epoch: int) -> list[int]:
        """Which stories an epoch trains on (indices into `articles`, in order)."""
        return epoch_draw(len(self.articles), self.per_epoch, f"unlabeled-{seed}-{epoch}")


def class_thresholds(soft: list[np.ndarray], n_labels: int, min_confidence: float, min_class_fraction: float) -> np.ndarray:
    """The teacher probability a sentence needs, per label it gets: `min_confidence`, lowered for a
    label whose sentences reach it less often than `min_class_fraction` of the time, to the
    probability that keeps that fraction of them (its most confident ones)."""
    thresholds = np.full(n_labels, float(min_confidence))
    if not min_class_fraction or not soft:
        return thresholds
    rows = np.concatenate(soft)
    best, confidence = rows.argmax(axis=1), rows.max(axis=1)
    for label in range(n_labels):
        mine = np.sort(confidence[best == label])[::-1]
        if len(mine):
            keep = max(1, int(np.ceil(min_class_fraction * len(mine))))
            thresholds[label] = min(thresholds[label], float(mine[keep - 1]))
    return thresholds


def pseudo_label(articles: list[Article], soft: list[np.ndarray], labels: list[str], min_confidence: float,
                 min_class_fraction: float = 0.0) -> int:
    """Give each sentence the teacher's best label where its probability reaches that label's
    threshold (`class_thresholds`), None elsewhere, in place; returns how many sentences got one."""
    thresholds = class_thresholds(soft, len(labels), min_confidence, min_class_fraction)
    count = 0
    for article, rows in zip(articles, soft):
        for sentence, row in zip(article.sentences, rows):
            best = int(np.argmax(row))
            confident = bool(row[best] >= thresholds[best])
            sentence.label = labels[best] if confident else None
            sentence.source_labels = []  # corpus labels are gold-only signal
            count += confident
    return count


def prepare_unlabeled(config, labels: list[str], targets: TeacherTargets | None) -> UnlabeledPool | None:
    """Read `data.unlabeled` and match it with the teacher's rows; None when it is not set."""
    path = config.data.unlabeled
    if not path:
        return None
    if targets is None:
        raise UserError(
            "data.unlabeled needs the teacher's probabilities on those stories in train.distill_targets; write them with "
            "`newsroles distill-targets TEACHER TRAIN.jsonl --unlabeled STORIES.jsonl -o FILE`", path,
        )
    articles = read_articles(path)
    soft = aligned_targets(targets, articles, labels)
    tc = config.train
    pseudo = pseudo_label(articles, soft, labels, tc.pseudo_min_confidence, tc.pseudo_min_class_fraction)
    if not pseudo:
        raise UserError(
            f"no sentence of the unlabeled stories reaches the teacher confidence {tc.pseudo_min_confidence} "
            "(train.pseudo_min_confidence): nothing to learn from them", path,
        )
    sentences = sum(len(a.sentences) for a in articles)
    record = {
        "path": str(path),
        "stories": len(articles),
        "sentences": sentences,
        "pseudo_labeled_sentences": pseudo,
        "min_confidence": tc.pseudo_min_confidence,
        "min_class_fraction": tc.pseudo_min_class_fraction,
        "pseudo_labeled_per_label": dict(zip(labels, np.bincount(
            [labels.index(s.label) for a in articles for s in a.sentences if s.label], minlength=len(labels)).tolist())),
        "per_epoch": tc.unlabeled_per_epoch or len(articles),
    }
    return UnlabeledPool(articles, soft, tc.unlabeled_per_epoch, record)
