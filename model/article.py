"""The record that flows through everything: an Article, an ordered list of Sentences."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

from newsroles.model.errors import UserError

# What a sentence's `start` and `end` index (an Article's `offsets_into`): the `text` the user gave
# (a plain-text file, a JSONL or API `text`), the text extracted from an HTML page (the record's
# `extracted_text`), or an input's sentence list joined with SENTENCE_SEPARATOR.
OFFSETS_TEXT = "text"
OFFSETS_EXTRACTED = "extracted_text"
OFFSETS_JOINED = "joined_sentences"
SENTENCE_SEPARATOR = "\n"


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
    # Where the sentence stands in its article's text (Python str indices, end exclusive); what
    # that text is says the Article's `offsets_into`. None for data that was never split by us.
    start: int | None = None
    end: int | None = None
    # Auxiliary targets from another corpus, target name -> value in [0, 1] (e.g. PolNeAR's
    # {"attribution.content": 1, "attribution.cue": 0, "attribution.source": 0}, training/data/).
    # A target not named is unknown for this sentence, not 0. None: no auxiliary targets.
    targets: dict[str, float] | None = None

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
        if self.start is not None:
            out["start"], out["end"] = self.start, self.end
        if self.targets is not None:
            out["targets"] = dict(self.targets)
        return out


@dataclass
class Article:
    id: str
    sentences: list[Sentence]
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # What the sentences' `start` and `end` index: OFFSETS_TEXT, OFFSETS_EXTRACTED (then
    # `extracted_text` holds that text) or OFFSETS_JOINED; None when they have no offsets.
    offsets_into: str | None = None
    extracted_text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title}
        if self.meta:
            out["meta"] = self.meta
        out["sentences"] = [s.to_dict() for s in self.sentences]
        if self.offsets_into is not None:
            out["offsets_into"] = self.offsets_into
        if self.extracted_text is not None:
            out["extracted_text"] = self.extracted_text
        return out

    def set_joined_offsets(self) -> None:
        """Offsets into the sentences joined with SENTENCE_SEPARATOR: for inputs already split."""
        pos = 0
        for s in self.sentences:
            s.start, s.end = pos, pos + len(s.text)
            pos = s.end + len(SENTENCE_SEPARATOR)
        self.offsets_into = OFFSETS_JOINED

    @property
    def labeled_sentences(self) -> list[Sentence]:
        return [s for s in self.sentences if s.label is not None]


class LabeledSentence(NamedTuple):
    """A sentence with a gold label, and where it stands."""

    article: int  # index of its article among the articles walked
    position: int  # index of the sentence in its article, from 0
    article_id: str
    sentence: Sentence

    @property
    def label(self) -> str:
        return self.sentence.label  # type: ignore[return-value]  (never None here)


def labeled_sentences(
    articles: Iterable[Article], labels: Sequence[str] | None = None, labels_name: str = "the label set"
) -> Iterator[LabeledSentence]:
    """Every sentence with a gold label, in order: the one walk over labeled data that scoring,
    calibration, comparison and training share (unlabeled sentences are context, never scored).

    With `labels`, a label outside them is a UserError naming the article and the sentence.
    """
    known = set(labels) if labels is not None else None
    for i, article in enumerate(articles):
        for j, sentence in enumerate(article.sentences):
            if sentence.label is None:
                continue
            if known is not None and sentence.label not in known:
                raise UserError(
                    f"article {article.id!r}, sentence {j + 1}: gold label {sentence.label!r} is not one of "
                    f"{labels_name} {list(labels)}"
                )
            yield LabeledSentence(i, j, article.id, sentence)
