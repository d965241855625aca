"""The record that flows through everything: an Article, an ordered list of Sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Sentence:
    text: str
    # The role (or any configured label); None means unlabeled: kept as context, never scored.
    label: str | None = None
    # The corpus's original labels (e.g. NewsDiscourse content types and Speech): extra training signal.
    source_labels: list[str] = field(default_factory=list)
    # Index of the paragraph the sentence stands in, when the source has paragraphs.
    paragraph: int | None = None
    # Filled in by a predictor.
    confidence: float | None = None
    scores: dict[str, float] | None = None
    # Why a labeler left `label` empty ("boilerplate", "low confidence"); see inference/withhold.py.
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "label": self.label}
        if self.source_labels:
            out["source_labels"] = list(self.source_labels)
        if self.paragraph is not None:
            out["paragraph"] = self.paragraph
        if self.confidence is not None:
            out["confidence"] = round(self.confidence, 6)
        if self.scores is not None:
            out["scores"] = {k: round(v, 6) for k, v in self.scores.items()}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass
class Article:
    id: str
    sentences: list[Sentence]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.meta:
            out["meta"] = self.meta
        out["sentences"] = [s.to_dict() for s in self.sentences]
        return out

    @property
    def labeled_sentences(self) -> list[Sentence]:
        return [s for s in self.sentences if s.label is not None]
