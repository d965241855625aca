"""PolNeAR (Newell, Margolin and Ruths, LREC 2018): sentences with attribution targets.

Layout: a split folder holds ``text/NAME.txt`` and ``attributions/NAME_ANNOTATOR.ann`` (brat
standoff, character offsets into the .txt); the corpus root holds ``train/``, ``dev/`` and ``test/``
and ``metadata.tsv``. The first line of a text is its headline (the Article's title); the other
lines are paragraphs, split into sentences with our splitter (model/text/splitter.py).

Each sentence gets three targets (`Sentence.targets`), 1 when the sentence overlaps, by at least one
character, a span an annotator marked as an attribution's content, cue or source::

    {"attribution.content": 1, "attribution.cue": 0, "attribution.source": 0}

An attribution's parts are read from its ``T`` lines (``Content``, ``Cue``, ``Source``; a
discontinuous span ``a b;c d`` counts with each fragment). ``Attribution``, ``Attribution-no-source``,
``Discard`` and ``Discuss`` spans, ``E`` relations and ``#`` notes add nothing a sentence flag needs.
A covered text that runs over several lines (a span across paragraphs) continues on the lines after
its ``T`` line.

Several annotators (a text with several .ann files, 20 texts in the corpus with 5 or 6 each) are
combined per sentence and target by `annotators`: ``majority`` (the default: 1 when more than half of
them mark it, so one annotator's stray span does not count), ``union`` (any of them), ``first`` (the
annotator whose id sorts first), or ``mean`` (the share of annotators who mark it: a soft target).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.text.splitter import sentence_spans
from newsroles.training.data.brat import decode_file
from newsroles.training.data.report import ReadReport, guarded

SPLITS = ("train", "dev", "test")
# brat label of a T line -> the sentence target it sets
TARGETS = {"Content": "attribution.content", "Cue": "attribution.cue", "Source": "attribution.source"}
IGNORED_LABELS = ("Attribution", "Attribution-no-source", "Discard", "Discuss")
ANNOTATOR_CHOICES = ("majority", "union", "first", "mean")

_RECORD = re.compile(r"^([TERAMN#*])(\d*)\t")
_OFFSETS = re.compile(r"^\d+ \d+(?:;\d+ \d+)*$")


@dataclass
class _Unit:
    start: int
    end: int
    paragraph: int


# ---------------------------------------------------------------------------------------------
# One text and its annotation files


def _sentences(text: str) -> tuple[str | None, list[_Unit]]:
    """The headline (first non-blank line) and the sentences of the other lines, with offsets."""
    title = None
    units: list[_Unit] = []
    paragraph = -1
    new_block = True
    offset = 0
    for line in text.split("\n"):
        start, offset = offset, offset + len(line) + 1
        if not line.strip():
            new_block = True
            continue
        if title is None:
            title = line.strip()
            continue
        spans = sentence_spans(line)
        if spans and new_block:
            paragraph += 1
            new_block = False
        units.extend(_Unit(start + a, start + b, paragraph) for a, b in spans)
    return title, units


def read_attribution_spans(ann: Path, text: str, txt_name: str, warn=None) -> dict[str, list[tuple[int, int]]]:
    """Target name -> the (start, end) fragments of its spans in one .ann file."""
    spans: dict[str, list[tuple[int, int]]] = {t: [] for t in TARGETS.values()}
    in_t = False  # a T line's covered text may go on over the next lines
    for lineno, raw in enumerate(decode_file(ann).split("\n"), start=1):
        line = raw.rstrip("\r")
        m = _RECORD.match(line)
        if m is None:
            if in_t or not line.strip():
                continue
            shown = line.strip()[:40]
            raise UserError(
                f"unexpected annotation line '{shown}': expected a brat record (T, E, A, R, M, N or # with its "
                "number, then a tab)",
                ann,
                lineno,
            )
        in_t = m.group(1) == "T"
        if not in_t:
            continue
        parts = line.split("\t")
        label, _, offsets = parts[1].partition(" ") if len(parts) >= 2 else ("", "", "")
        tid = parts[0]
        if not label or not _OFFSETS.match(offsets.strip()):
            raise UserError(
                f"cannot read span {tid} '{line[:60]}': expected '{tid}<TAB><Label> <start> <end><TAB>text' "
                "(fragments of a discontinuous span joined by ';')",
                ann,
                lineno,
            )
        if label not in TARGETS and label not in IGNORED_LABELS:
            known = ", ".join(list(TARGETS) + list(IGNORED_LABELS))
            raise UserError(f"span {tid} has the label '{label}', not one of PolNeAR's: {known}", ann, lineno)
        fragments = []
        for piece in offsets.strip().split(";"):
            a, b = (int(x) for x in piece.split())
            if a > b or b > len(text):
                raise UserError(
                    f"span {tid} ({label}) {a}-{b} does not fit in {txt_name} ({len(text)} characters)", ann, lineno
                )
            fragments.append((a, b))
        covered = parts[2] if len(parts) >= 3 else ""
        expected = " ".join(text[a:b] for a, b in fragments).split("\n")[0]
        if warn is not None and covered and covered.strip() != expected.strip():
            warn(f"{ann}:{lineno}: span {tid} ({label}) covers '{covered[:30]}' but {txt_name} has '{expected[:30]}' there; offsets used")
        if label in TARGETS:
            spans[TARGETS[label]].extend(fragments)
    return spans


def _flags(units: list[_Unit], spans: dict[str, list[tuple[int, int]]]) -> list[dict[str, int]]:
    return [
        {name: int(any(a < u.end and b > u.start for a, b in frags)) for name, frags in spans.items()}
        for u in units
    ]


def _combine(votes: list[list[dict[str, int]]], how: str) -> list[dict[str, float]]:
    """One target row per sentence from each annotator's rows (`votes`, annotators in id order)."""
    if how == "first" or len(votes) == 1:
        return [dict(row) for row in votes[0]]
    n = len(votes)
    out = []
    for rows in zip(*votes):
        row = {}
        for name in TARGETS.values():
            k = sum(r[name] for r in rows)
            if how == "mean":
                row[name] = round(k / n, 4)
            elif how == "union":
                row[name] = int(k > 0)
            else:
                row[name] = int(2 * k > n)
        out.append(row)
    return out


def read_polnear_article(
    txt: Path, anns: dict[str, Path], annotators: str = "majority", meta: dict | None = None, warn=None
) -> Article:
    """One article from `text/NAME.txt` and its annotation files (annotator id -> .ann path)."""
    text = decode_file(txt)
    title, units = _sentences(text)
    if not units:
        raise UserError("text has no sentences after its headline (the first line)", txt)
    if not anns:
        raise UserError(f"no annotation file attributions/{txt.stem}_<annotator>.ann for this text", txt)
    order = sorted(anns)
    votes = [_flags(units, read_attribution_spans(anns[a], text, txt.name, warn)) for a in order]
    rows = _combine(votes, annotators)
    sentences = [
        Sentence(text=text[u.start:u.end], paragraph=u.paragraph, targets=row) for u, row in zip(units, rows)
    ]
    full_meta = {"corpus": "polnear", "annotators": order}
    full_meta.update(meta or {})
    return Article(id=txt.stem, sentences=sentences, title=title, meta=full_meta)


# ---------------------------------------------------------------------------------------------
# Folders


def polnear_splits(root: str | Path) -> list[tuple[str | None, Path]]:
    """(split name, folder) of each split under `root`, or [(None, root)] for one split folder."""
    root = Path(root)
    if not root.is_dir():
        raise UserError("PolNeAR folder not found" if not root.exists() else "not a folder", root)
    if (root / "text").is_dir():
        return [(None, root)]
    found = [(name, root / name) for name in SPLITS if (root / name / "text").is_dir()]
    if not found:
        raise UserError("not a PolNeAR folder: expected text/ and attributions/, or train/, dev/, test/ holding them", root)
    return found


def read_metadata(root: Path) -> dict[str, dict[str, str]]:
    """File name -> {publisher, date, author} from `metadata.tsv` in `root` or its parent ({} if none)."""
    path = next((p for p in (root / "metadata.tsv", root.parent / "metadata.tsv") if p.is_file()), None)
    if path is None:
        return {}
    rows = list(csv.reader(decode_file(path).splitlines(), delimiter="\t"))
    header = rows[0] if rows else []
    if "filename" not in header:
        raise UserError(f"metadata header lacks the column 'filename'; it has: {', '.join(header[:12])}", path, 1)
    out = {}
    wanted = {"publisher": "publisher", "publication_date": "date", "author": "author"}
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise UserError(f"row has {len(row)} fields, the header has {len(header)}", path, lineno)
        cells = dict(zip(header, row))
        out[cells["filename"]] = {ours: cells[theirs] for theirs, ours in wanted.items() if cells.get(theirs, "None") != "None"}
    return out


def iter_polnear(
    folder: str | Path, report: ReadReport, annotators: str = "majority", skip_bad: bool = False
) -> Iterator[Article]:
    """The articles of one split folder (text/ + attributions/), sorted by name, counted in `report`.

    A bad text or annotation file raises its UserError, or with `skip_bad` is listed in
    `report.skipped` and left out.
    """
    if annotators not in ANNOTATOR_CHOICES:
        raise UserError(f"unknown way to combine annotators '{annotators}': use one of {', '.join(ANNOTATOR_CHOICES)}")
    folder = Path(folder)
    texts, notes = folder / "text", folder / "attributions"
    if not texts.is_dir() or not notes.is_dir():
        raise UserError("not a PolNeAR split folder: expected text/ and attributions/ in it", folder)
    by_text: dict[str, dict[str, Path]] = {}
    for ann in sorted(notes.glob("*.ann")):
        name, sep, annotator = ann.stem.rpartition("_")
        if not sep or not name:
            report.problem(UserError("annotation file name is not NAME_ANNOTATOR.ann", ann), skip_bad)
            continue
        by_text.setdefault(name, {})[annotator] = ann
    txts = sorted(texts.glob("*.txt"))
    if not txts:
        raise UserError("no .txt files in text/", folder)
    names = {t.stem for t in txts}
    for name in sorted(set(by_text) - names):
        for ann in by_text[name].values():
            report.problem(UserError(f"annotation file without its text text/{name}.txt", ann), skip_bad)
    metadata = read_metadata(folder)
    for txt in txts:
        article = guarded(
            report, skip_bad, read_polnear_article, txt, by_text.get(txt.stem, {}), annotators,
            metadata.get(txt.stem), report.warn,
        )
        if article is not None:
            yield report.add(article)
