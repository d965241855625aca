"""Auxiliary corpora for multitask training (the config's data.auxiliary): read, checked, and the
auxiliary head's columns each one trains, with its loss weight.

The model's auxiliary head already predicts the labeled corpus's own labels (NewsDiscourse content
types, `source_labels`, weighted by train.aux_weight). Each auxiliary corpus adds its targets as
more columns of that head (PolNeAR: attribution.content/cue/source; Webis: the six unit labels),
weighted by its own `weight`; a linear head over the same sentence vector, so a column group is a
head of its own. Its articles join the training batches with no role labels: they add only their
auxiliary loss, and a sentence's columns of other corpora are unknown (masked), not 0.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.store.folder import file_fingerprint
from newsroles.training.data import polnear, webis
from newsroles.training.data.epoch_draw import epoch_draw
from newsroles.training.data.sources import ReadOptions, detect_format, read_source

TARGET_NAMES: dict[str, tuple[str, ...]] = {"polnear": tuple(polnear.TARGETS.values()), "webis": webis.TARGETS}


@dataclass
class Auxiliary:
    articles: list[Article]
    record: list[dict]  # per source: what the model folder records (source, path, weight, counts)
    # per source: (its first index in `articles`, its article count, its entry's per_epoch)
    spans: list[tuple[int, int, int]] = field(default_factory=list)

    def draw(self, seed: int, epoch: int) -> list[int]:
        """Which auxiliary articles an epoch trains on (indices into `articles`, in order): each
        source's `per_epoch` of them drawn from the seed and the epoch alone (a resumed run draws the
        same), or all of a source whose per_epoch is 0."""
        return [start + i for k, (start, n, per_epoch) in enumerate(self.spans)
                for i in epoch_draw(n, per_epoch, f"auxiliary-{seed}-{epoch}-{k}")]

    @property
    def drawn(self) -> bool:
        """Whether epochs differ in the auxiliary articles they train on."""
        return any(0 < per_epoch < n for _, n, per_epoch in self.spans)


def load_auxiliary(config) -> Auxiliary | None:
    """The auxiliary articles of `config.data.auxiliary` (None when there are none), ids prefixed
    with their source (``polnear:NAME``), role labels and corpus labels cleared."""
    entries = config.data.auxiliary
    if not entries:
        return None
    articles: list[Article] = []
    record = []
    spans = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"data.auxiliary[{i}]"
        if entry.source in seen:
            raise UserError(f"{where}: source '{entry.source}' is listed twice; give each auxiliary corpus once")
        seen.add(entry.source)
        path = Path(entry.path)
        if not path.exists():
            raise UserError(f"{where}: {entry.source} data not found", path)
        fmt = detect_format(path)
        if fmt not in (entry.source, "articles"):
            raise UserError(f"{where}: this looks like {fmt} data, not {entry.source}", path)
        parts = read_source(path, fmt, ReadOptions(annotators=entry.annotators))
        found = [a for _, part in parts for a in part]
        _check_targets(found, TARGET_NAMES[entry.source], where, path)
        if entry.max_articles is not None and entry.max_articles < len(found):
            keep = set(random.Random(f"auxiliary-{config.seed}-{entry.source}").sample(range(len(found)), entry.max_articles))
            found = [a for k, a in enumerate(found) if k in keep]
        spans.append((len(articles), len(found), entry.per_epoch))
        for a in found:
            a.id = f"{entry.source}:{a.id}"
            for s in a.sentences:
                s.label, s.source_labels = None, []
        articles.extend(found)
        record.append(
            {
                "source": entry.source,
                "path": str(entry.path),
                # a converted .jsonl's bytes; a corpus folder has none (its README names its version)
                "sha256": file_fingerprint(path) if path.is_file() else None,
                "weight": entry.weight,
                "articles": len(found),
                "sentences": sum(len(a.sentences) for a in found),
                "per_epoch": min(entry.per_epoch or len(found), len(found)),
            }
        )
    return Auxiliary(articles, record, spans)


def _check_targets(articles: list[Article], names: tuple[str, ...], where: str, path: Path) -> None:
    wanted = set(names)
    for a in articles:
        for j, s in enumerate(a.sentences, start=1):
            if not s.targets or not set(s.targets) <= wanted:
                got = sorted(s.targets or {})
                raise UserError(
                    f"{where}: article '{a.id}', sentence {j} has targets {got}, not this source's {list(names)}",
                    path,
                )


def target_names(config) -> list[str]:
    """The auxiliary head's columns for the configured auxiliary corpora, in config order."""
    return [name for entry in config.data.auxiliary for name in TARGET_NAMES[entry.source]]


def loss_groups(config, aux_labels: list[str]) -> list[tuple[list[int], float]]:
    """(columns, weight) of each part of the auxiliary loss: the labeled corpus's own labels at
    train.aux_weight, then each auxiliary corpus's targets at its weight. Without auxiliary corpora,
    one group of every column, which is the single auxiliary loss as before."""
    index = {name: k for k, name in enumerate(aux_labels)}
    groups: list[tuple[list[int], float]] = []
    taken: set[int] = set()
    for entry in config.data.auxiliary:
        columns = [index[name] for name in TARGET_NAMES[entry.source] if name in index]
        taken.update(columns)
        if columns and entry.weight > 0:
            groups.append((columns, entry.weight))
    own = [k for k in range(len(aux_labels)) if k not in taken]
    if own and config.train.aux_weight > 0:
        groups.insert(0, (own, config.train.aux_weight))
    return groups


def add_auxiliary(config, train: list[Article], aux_labels: list[str], n_labels: int, distillation=None):
    """(auxiliary, the articles the training batches are cut from, the auxiliary head's columns):
    `train` and `aux_labels` as they are without data.auxiliary; else the auxiliary articles after
    the labeled ones and their targets' columns after the corpus's labels (those only while
    train.aux_weight > 0). A distilling run gets all-zero teacher rows for them, never used: their
    sentences have no gold label, which the distillation loss is masked by."""
    auxiliary = load_auxiliary(config)
    if auxiliary is None:
        return None, train, aux_labels
    columns = (aux_labels if config.train.aux_weight > 0 else []) + target_names(config)
    if distillation is not None:
        distillation.soft = distillation.soft + [np.zeros((len(a.sentences), n_labels), np.float32) for a in auxiliary.articles]
    return auxiliary, train + auxiliary.articles, columns


def check_parent_head(config, aux_labels: list[str]) -> None:
    """A run that fine-tunes a saved model keeps that model's auxiliary head: it must have the
    auxiliary corpora's columns."""
    missing = [name for name in target_names(config) if name not in aux_labels]
    if missing:
        raise UserError(
            f"the parent model ({config.model.base}) has no auxiliary head for {missing}; "
            "leave data.auxiliary out to fine-tune it"
        )
