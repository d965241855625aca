"""Label Studio tasks from labeled articles, and the labeling config that matches them.

One task per story. `data.text` is the story as an editor should read it: the sentences as split,
one space between the sentences of a paragraph and a blank line between paragraphs; `data.title`
is shown above it. Each sentence is a region (`start`/`end` index `data.text` exactly, in
characters, as Label Studio counts them for plain text) with its predicted role as a prediction
and its score. The prediction's own `score` is the least confident sentence's confidence, so that
sorting by prediction score in Label Studio puts the stories most worth an editor's look first.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from newsroles.model.article import Article
from newsroles.model.fileio import atomic_file

FROM_NAME = "role"  # the <Labels> control
TO_NAME = "text"  # the <Text> object
PARAGRAPH_BREAK = "\n\n"
SENTENCE_GAP = " "
# The terminal's role colors (inference/io/writers.py), as Label Studio background colors.
ROLE_COLORS = {"stance": "#d63384", "quote": "#0dcaf0", "background": "#ffc107", "fact": "#20c997"}
SPARE_COLORS = ("#6f42c1", "#fd7e14", "#0d6efd", "#dc3545", "#198754", "#6c757d", "#795548", "#009688")


@dataclass(frozen=True)
class Span:
    paragraph: int | None
    start: int
    end: int


def story_text(article: Article) -> tuple[str, list[Span]]:
    """The text an editor sees and each sentence's [start, end) in it."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    previous = object()
    for i, sentence in enumerate(article.sentences):
        if i:
            gap = PARAGRAPH_BREAK if sentence.paragraph != previous else SENTENCE_GAP
            parts.append(gap)
            pos += len(gap)
        previous = sentence.paragraph
        parts.append(sentence.text)
        spans.append(Span(sentence.paragraph, pos, pos + len(sentence.text)))
        pos += len(sentence.text)
    return "".join(parts), spans


def model_version(path: Path, manifest: dict) -> str:
    """What Label Studio shows as the prediction's model: the model's name and version folder."""
    name = manifest.get("name") or path.parent.name or "model"
    return f"{name}/{path.name}"


def task(article: Article, version: str | None = None) -> dict:
    """One Label Studio task; with a `version`, the article's labels and scores as its prediction."""
    text, spans = story_text(article)
    out: dict = {"data": {"text": text, "title": article.title or "", "story_id": article.id}}
    if version is None:
        return out
    regions, confidences = [], []
    for i, (sentence, span) in enumerate(zip(article.sentences, spans)):
        if sentence.label is None:  # boilerplate or below --min-confidence: left for the editor
            continue
        region = {
            "id": f"s{i}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "value": {"start": span.start, "end": span.end, "text": sentence.text, "labels": [sentence.label]},
        }
        if sentence.confidence is not None:
            region["score"] = round(sentence.confidence, 6)
            confidences.append(sentence.confidence)
        if sentence.scores:
            region["meta"] = {"scores": {k: round(v, 6) for k, v in sentence.scores.items()}}
        regions.append(region)
    prediction: dict = {"model_version": version, "result": regions}
    if confidences:
        prediction["score"] = round(min(confidences), 6)
    out["predictions"] = [prediction]
    return out


class TaskWriter:
    """Stream tasks into a JSON array file that appears only once complete (or to stdout for "-")."""

    def __init__(self, path: str | Path, version: str | None):
        self.path, self.version = path, version
        self.written = 0
        self._ctx = self._fh = None
        self.completed: set[str] = set()

    def __enter__(self) -> "TaskWriter":
        import sys

        if str(self.path) == "-":
            self._fh = sys.stdout
        else:
            self._ctx = atomic_file(self.path, "w", encoding="utf-8")
            self._fh = self._ctx.__enter__()
        self._fh.write("[")
        return self

    def write(self, article: Article) -> bool:
        self._fh.write(("," if self.written else "") + "\n" + json.dumps(task(article, self.version), ensure_ascii=False))
        self.written += 1
        self.completed.add(article.id)
        return True

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._fh.write("\n]\n")
        self._fh.flush()
        return bool(self._ctx.__exit__(exc_type, exc, tb)) if self._ctx is not None else False


def write_tasks(articles: Iterable[Article], path: str | Path, version: str | None) -> int:
    with TaskWriter(path, version) as writer:
        for article in articles:
            writer.write(article)
    return writer.written


def label_colors(labels: Sequence[str]) -> dict[str, str]:
    spare = iter(c for c in SPARE_COLORS)
    return {lab: ROLE_COLORS.get(lab) or next(spare, "#999999") for lab in labels}


def _attribute(value: str) -> str:
    """An XML attribute value in double quotes. (xml.sax.saxutils.quoteattr would do, but its module
    imports urllib.request, http.client and ssl: a tenth of a second at the CLI's start.)"""
    return '"' + html.escape(value, quote=True).replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def labeling_config(labels: Sequence[str]) -> str:
    """The Label Studio labeling config for tasks from `task`: the title, then the story with one
    role per highlighted sentence (hotkeys 1, 2, ... in label order)."""
    lines = [
        "<View>",
        '  <Header value="$title"/>',
        f'  <Labels name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">',
    ]
    for lab, color in label_colors(labels).items():
        lines.append(f"    <Label value={_attribute(lab)} background={_attribute(color)}/>")
    lines += ["  </Labels>", f'  <Text name="{TO_NAME}" value="$text" granularity="symbol"/>', "</View>"]
    return "\n".join(lines) + "\n"
