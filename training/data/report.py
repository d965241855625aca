"""What a corpus reader read: articles, sentences and auxiliary targets counted, and what it skipped."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from newsroles.model.article import Article
from newsroles.model.errors import UserError


@dataclass
class ReadReport:
    """Counts for one source (or one split of it), filled in as its articles are read.

    `targets` counts, per auxiliary target, the sentences whose value is at least 0.5;
    `with_targets` the sentences that carry targets at all. `skipped` and `warnings` are one line
    each, naming the file (and line when there is one).
    """

    source: str
    name: str | None = None  # the split (train, dev, test), None for a source read whole
    articles: int = 0
    sentences: int = 0
    with_targets: int = 0
    targets: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, article: Article) -> Article:
        self.articles += 1
        for s in article.sentences:
            self.sentences += 1
            if s.targets is not None:
                self.with_targets += 1
                self.targets.update(name for name, value in s.targets.items() if value >= 0.5)
        return article

    def skip(self, reason: UserError | str) -> None:
        self.skipped.append(str(reason))

    def problem(self, err: UserError, skip_bad: bool) -> None:
        """Raise `err`, or with `skip_bad` list it as skipped."""
        if not skip_bad:
            raise err
        self.skip(err)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "articles": self.articles,
            "sentences": self.sentences,
            "with_targets": self.with_targets,
            "targets": dict(sorted(self.targets.items())),
            "skipped": list(self.skipped),
            "warnings": list(self.warnings),
        }


def guarded(report: ReadReport, skip_bad: bool, read, *args):
    """`read(*args)`, or None after recording its UserError in `report` when `skip_bad` is set."""
    try:
        return read(*args)
    except UserError as err:
        if not skip_bad:
            raise
        report.skip(err)
        return None
