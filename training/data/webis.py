"""Webis news editorials (Al-Khatib et al., COLING 2016): sentences with argument-unit targets.

Each editorial is ``<outlet>/<id>.json``, ``{"paragraphs": [[{"number", "text", "label"}, ...], ...]}``:
clause-level units in order, the first one the title (label ``title``), ``no-unit`` for the glue
between units (often just "." or ","). A paragraph's units are joined into its text (a space between
two units, none before closing punctuation), which our splitter (model/text/splitter.py) cuts into
sentences. A sentence's targets are multi-hot over the six unit labels: 1 for each label of a unit
that overlaps the sentence by at least one character (units are clauses: a sentence may hold
several, and a unit our splitter cuts in two counts in both sentences)::

    {"unit.assumption": 1, "unit.anecdote": 0, "unit.testimony": 1, "unit.statistics": 0,
     "unit.common-ground": 0, "unit.other": 0}
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.text.splitter import sentence_spans
from newsroles.training.data.brat import decode_file
from newsroles.training.data.report import ReadReport, guarded

UNIT_LABELS = ("assumption", "anecdote", "testimony", "statistics", "common-ground", "other")
TARGETS = tuple(f"unit.{label}" for label in UNIT_LABELS)
GLUE = "no-unit"
TITLE = "title"
_KNOWN = set(UNIT_LABELS) | {GLUE, TITLE}
_NO_SPACE_BEFORE = tuple(".,;:!?)]}%\u2019\u201d")


def _line_of(raw: str, number: Any) -> int | None:
    """The line of the unit `"number": N` in the file's text, when it can be found."""
    if isinstance(number, bool) or not isinstance(number, int):
        return None
    m = re.search(rf'"number"\s*:\s*{number}\b', raw)
    return raw.count("\n", 0, m.start()) + 1 if m else None


def _units(obj: Any, raw: str, path: Path) -> list[list[tuple[str, str]]]:
    """Paragraphs of (text, label) units, validated."""
    if not isinstance(obj, dict) or not isinstance(obj.get("paragraphs"), list):
        raise UserError('expected a JSON object {"paragraphs": [[{"number", "text", "label"}, ...], ...]}', path, 1)
    out = []
    for p, paragraph in enumerate(obj["paragraphs"], start=1):
        if not isinstance(paragraph, list):
            raise UserError(f"paragraph {p} is not a list of units", path)
        units = []
        for k, unit in enumerate(paragraph, start=1):
            where = f"paragraph {p}, unit {k}"
            if not isinstance(unit, dict):
                raise UserError(f"{where}: expected an object with number, text and label", path)
            number, text, label = unit.get("number"), unit.get("text"), unit.get("label")
            if not isinstance(text, str):
                raise UserError(f"{where} (number {number}): `text` must be a string", path, _line_of(raw, number))
            if label not in _KNOWN:
                raise UserError(
                    f"{where} (number {number}): label {json.dumps(label)} is not one of {', '.join(sorted(_KNOWN))}",
                    path,
                    _line_of(raw, number),
                )
            units.append((text, label))
        out.append(units)
    return out


def _join(units: list[tuple[str, str]]) -> tuple[str, list[tuple[int, int, str]]]:
    """A paragraph's text and the (start, end, label) of each unit in it."""
    text = ""
    spans = []
    for piece, label in units:
        piece = piece.strip()
        if not piece:
            continue
        if text and not piece.startswith(_NO_SPACE_BEFORE):
            text += " "
        spans.append((len(text), len(text) + len(piece), label))
        text += piece
    return text, spans


def read_webis_article(path: Path, article_id: str) -> Article:
    """One editorial from its .json file."""
    raw = decode_file(path)
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"not valid JSON ({exc.msg} at column {exc.colno})", path, exc.lineno) from None
    paragraphs = _units(obj, raw, path)
    title = None
    if paragraphs and paragraphs[0] and paragraphs[0][0][1] == TITLE:
        title = paragraphs[0][0][0].strip() or None
        paragraphs = [paragraphs[0][1:]] + paragraphs[1:]
    sentences: list[Sentence] = []
    index = 0
    for units in paragraphs:
        text, spans = _join(units)
        found = sentence_spans(text)
        for a, b in found:
            labels = {label for s, e, label in spans if s < b and e > a}
            targets = {f"unit.{u}": int(u in labels) for u in UNIT_LABELS}
            sentences.append(Sentence(text=text[a:b], paragraph=index, targets=targets))
        index += bool(found)
    if not sentences:
        raise UserError("editorial has no text besides its title", path)
    return Article(id=article_id, sentences=sentences, title=title, meta={"corpus": "webis-editorials", "outlet": Path(article_id).parent.as_posix()})


def iter_webis(folder: str | Path, report: ReadReport, skip_bad: bool = False) -> Iterator[Article]:
    """Every editorial under `folder` (``<outlet>/<id>.json``, sorted by path), counted in `report`;
    the article id is the path without .json (``guardian/012-...``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("Webis editorials folder not found" if not folder.exists() else "not a folder", folder)
    files = sorted(p for p in folder.rglob("*.json") if not any(x.startswith(".") for x in p.relative_to(folder).parts))
    if not files:
        raise UserError("no editorials (<outlet>/<id>.json files) in folder", folder)
    for path in files:
        article_id = path.relative_to(folder).with_suffix("").as_posix()
        article = guarded(report, skip_bad, read_webis_article, path, article_id)
        if article is not None:
            yield report.add(article)
