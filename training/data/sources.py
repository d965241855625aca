"""One entry point for every corpus: tell its format, read it split by split, convert it to JSONL.

Formats: ``newsdiscourse`` (brat, training/data/brat.py), ``polnear``, ``webis`` and ``unlabeled``
(stories, ``{"id", "text"}``), this package; ``articles`` is our own JSONL/CSV/TSV/Parquet of
Articles (training/data/readers.py), what `convert` writes.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow.parquet as pq

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.labels import load_mapping
from newsroles.training.data.brat import find_splits, iter_brat_articles
from newsroles.training.data.polnear import iter_polnear, polnear_splits
from newsroles.training.data.readers import read_articles
from newsroles.training.data.report import ReadReport
from newsroles.training.data.sentence_tables import HUB_PREFIX
from newsroles.training.data.unlabeled import MIN_WORDS, iter_unlabeled
from newsroles.training.data.webis import iter_webis

FORMATS = ("newsdiscourse", "polnear", "webis", "unlabeled", "articles")


@dataclass
class ReadOptions:
    skip_bad: bool = False
    annotators: str = "majority"  # PolNeAR: how several annotators of one text are combined
    min_words: int = MIN_WORDS  # unlabeled stories: shorter ones are skipped
    mapping: str = "roles"  # NewsDiscourse: the label mapping


def _first_record(path: Path) -> dict | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    obj = json.loads(line)
                    return obj if isinstance(obj, dict) else None
    except (OSError, ValueError):
        return None
    return None


def detect_format(path: str | Path, default: str | None = None) -> str:
    """The format of `path`, told from its layout (folders) or its first record (.jsonl, .parquet).

    A path that tells nothing (missing, a folder without a known layout, another kind of file) is
    `default` (the command's own: `articles` for stats, `newsdiscourse` for convert), whose reader
    then says what is wrong; with no default it is an error here.
    """
    if str(path).startswith(HUB_PREFIX):  # hf:ORG/NAME:SPLIT, a hub dataset of sentence rows
        return "articles"
    path = Path(path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            first = _first_record(path)
            return "unlabeled" if first is not None and "text" in first and "sentences" not in first else "articles"
        if suffix == ".parquet" and _story_columns(path):
            return "unlabeled"
        if suffix in (".csv", ".tsv", ".parquet", ".arrow"):
            return "articles"
    elif path.is_dir():
        if (path / "attributions").is_dir() or any((path / s / "attributions").is_dir() for s in ("train", "dev", "test")):
            return "polnear"
        first_json = next(path.glob("*/*.json"), None) or next(path.glob("*.json"), None)
        if first_json is not None and _is_editorial(first_json):
            return "webis"
        texts = list(path.rglob("*.txt"))
        if texts and 2 * sum(t.with_suffix(".ann").is_file() for t in texts) > len(texts):  # mostly .txt + .ann pairs
            return "newsdiscourse"
    if default is not None:
        return default
    if not path.exists():
        raise UserError("not found", path)
    raise UserError("cannot tell the corpus format: give --format (newsdiscourse, polnear, webis or unlabeled)", path)


def _is_editorial(path: Path) -> bool:
    """Whether a .json file is a Webis editorial ({"paragraphs": ...})."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return False
    return isinstance(obj, dict) and "paragraphs" in obj


def _story_columns(path: Path) -> bool:
    """Whether a Parquet file holds stories (`id`, `text`) rather than a sentence table (`article_id`, `text`)."""
    try:
        names = set(pq.read_schema(path).names)
    except Exception:  # not readable here: the reader says why
        return False
    return {"id", "text"} <= names and "article_id" not in names


def splits(fmt: str, path: str | Path) -> list[tuple[str | None, Path]]:
    """(split name, path) of each part of a source read on its own; None names a source read whole."""
    path = Path(path)
    if fmt == "polnear":
        return polnear_splits(path)
    if fmt == "newsdiscourse" and path.is_dir():
        found = find_splits(path)
        if found:
            return [(name, path / name) for name in found]
    return [(None, path)]


def read_part(fmt: str, path: Path, report: ReadReport, options: ReadOptions) -> Iterator[Article]:
    """The articles of one part (a split, or the whole source), counted in `report`."""
    if fmt == "polnear":
        return iter_polnear(path, report, options.annotators, options.skip_bad)
    if fmt == "webis":
        return iter_webis(path, report, options.skip_bad)
    if fmt == "unlabeled":
        return iter_unlabeled(path, report, options.skip_bad, options.min_words)
    if fmt == "newsdiscourse":
        return _newsdiscourse(path, report, options)
    if fmt == "articles":
        return (report.add(a) for a in read_articles(path))
    raise UserError(f"unknown format '{fmt}': use one of {', '.join(FORMATS)}")


def _newsdiscourse(path: Path, report: ReadReport, options: ReadOptions) -> Iterator[Article]:
    on_error: Callable | None = (lambda _p, err: report.skip(err)) if options.skip_bad else None
    for article in iter_brat_articles(path, load_mapping(options.mapping), on_error, lambda w: report.warn(str(w))):
        yield report.add(article)


def read_source(
    path: str | Path, fmt: str | None = None, options: ReadOptions | None = None
) -> list[tuple[ReadReport, Iterator[Article]]]:
    """Each part of a source with the report its reading fills in (read lazily, part by part)."""
    fmt = fmt or detect_format(path)
    options = options or ReadOptions()
    out = []
    for name, part in splits(fmt, path):
        report = ReadReport(source=str(part), name=name)
        out.append((report, read_part(fmt, part, report, options)))
    return out


def convert_source(
    src: str | Path, dest: str | Path, fmt: str, options: ReadOptions | None = None
) -> list[tuple[ReadReport, Path]]:
    """Write a PolNeAR, Webis or unlabeled source as our JSONL (one article a line), atomically.

    A source with splits goes to `dest/<split>.jsonl` when `dest` is a folder (or a path without
    .jsonl); any other source to `dest` itself when it ends in .jsonl, or to `dest/<source name>.jsonl`.
    Nothing is written unless every output completes.
    """
    src, dest = Path(src), Path(dest)
    if dest.exists() and not dest.is_dir() and dest.suffix.lower() != ".jsonl":
        raise UserError("output must be a .jsonl file or a folder", dest)
    parts = read_source(src, fmt, options)
    to_folder = dest.is_dir() or dest.suffix.lower() != ".jsonl"
    if len(parts) > 1 and not to_folder:
        raise UserError(f"{src} has {len(parts)} splits: give a folder as output, one .jsonl per split", dest)
    outputs = []
    for report, _ in parts:
        stem = report.name or Path(report.source).stem
        outputs.append(dest / f"{stem}.jsonl" if to_folder else dest)
    with contextlib.ExitStack() as stack:
        for (report, articles), out in zip(parts, outputs):
            fh = stack.enter_context(atomic_file(out))
            for article in articles:
                fh.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
            if report.articles == 0:
                raise UserError("no article could be converted (all were skipped)", report.source)
    return [(report, out) for (report, _), out in zip(parts, outputs)]
