"""Read labeled (or unlabeled) articles from JSONL, CSV or TSV, with line-accurate errors.

Formats
-------
``.jsonl``: one article per line::

    {"id": "a1", "title": "...", "sentences": [{"text": "...", "label": "quote",
     "source_labels": ["Speech"], "paragraph": 0}, ...]}

``id`` (string or integer) and ``sentences`` (a non-empty list) are required; ``title``, ``meta``
(an object) are optional. A sentence needs a non-empty ``text``; ``label`` may be missing or null
(an unlabeled sentence, kept as context), ``source_labels`` (list of strings) and ``paragraph``
(integer >= 0) are optional, as are ``confidence`` and ``scores`` (what `newsroles predict` writes,
so its output reads back). A sentence may also be given as a bare string. Blank lines are skipped;
other keys are ignored.

``.csv`` / ``.tsv``: one sentence per row, a header naming the columns ``article_id`` and ``text``
(required), ``label`` (optional; an empty cell is an unlabeled sentence), ``title`` and
``paragraph`` (optional); other columns are ignored. Sentence order is row order and the rows of
one article must be contiguous.

Every problem is a `UserError` naming the file and the line (for CSV, the line the row starts on).
Training goes through Hugging Face `datasets`: `load_articles_dataset` reads and validates here,
then builds a `datasets.Dataset` with one row per article (see `articles_to_dataset`).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError

SUFFIXES = (".jsonl", ".csv", ".tsv")
CSV_REQUIRED = ("article_id", "text")
CSV_OPTIONAL = ("label", "title", "paragraph")
# Column names of the datasets representation (one row per article).
DATASET_COLUMNS = ("id", "title", "sentences", "labels", "source_labels", "paragraphs")


# ---------------------------------------------------------------------------------------------
# Entry point


def read_articles(path: str | Path, labels: Iterable[str] | None = None) -> list[Article]:
    """Read and validate every article of a .jsonl, .csv or .tsv file.

    `labels`, when given, is the allowed label set: any other label is an error naming its line.
    """
    path = Path(path)
    _check_input_file(path)
    allowed = None if labels is None else tuple(labels)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        articles = list(_read_jsonl(path, allowed))
    else:
        articles = list(_read_table(path, allowed, delimiter="\t" if suffix == ".tsv" else ","))
    if not articles:
        raise UserError("file holds no articles (only blank lines)", path)
    return articles


def _check_input_file(path: Path) -> None:
    if not path.exists():
        raise UserError("input file not found", path)
    if path.is_dir():
        raise UserError(f"is a folder; give a {', '.join(SUFFIXES)} file", path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(
            f"unsupported input format '{path.suffix or '(no suffix)'}'; use one of: {', '.join(SUFFIXES)}", path
        )
    if path.stat().st_size == 0:
        raise UserError("file is empty", path)


# ---------------------------------------------------------------------------------------------
# JSONL


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoding UTF-8 line by line so errors keep their line."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield lineno, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); save the file as UTF-8",
                    path,
                    lineno,
                ) from None


def _read_jsonl(path: Path, allowed: tuple[str, ...] | None) -> Iterator[Article]:
    seen: dict[str, int] = {}
    for lineno, line in _read_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc.msg} at column {exc.colno})", path, lineno) from None
        article = parse_article(obj, allowed, path, lineno)
        if article.id in seen:
            raise UserError(f"duplicate article id '{article.id}' (first on line {seen[article.id]})", path, lineno)
        seen[article.id] = lineno
        yield article


def parse_article(
    obj: Any, allowed: tuple[str, ...] | None = None, path: str | Path | None = None, line: int | None = None
) -> Article:
    """Validate one JSON article object (as in a JSONL line) and build the Article."""

    def fail(msg: str) -> UserError:
        return UserError(msg, path, line)

    if not isinstance(obj, dict):
        raise fail(f"expected a JSON object with `id` and `sentences`, got {_json_type(obj)}")
    if "id" not in obj:
        raise fail("article has no `id`")
    art_id = obj["id"]
    if isinstance(art_id, bool) or not isinstance(art_id, (str, int)):
        raise fail(f"`id` must be a string or an integer, got {_json_type(art_id)}")
    art_id = str(art_id)
    if not art_id.strip():
        raise fail("`id` is empty")
    title = obj.get("title")
    if title is not None and not isinstance(title, str):
        raise fail(f"article '{art_id}': `title` must be a string or null, got {_json_type(title)}")
    meta = obj.get("meta")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise fail(f"article '{art_id}': `meta` must be an object, got {_json_type(meta)}")
    if "sentences" not in obj:
        raise fail(f"article '{art_id}' has no `sentences`")
    raw_sentences = obj["sentences"]
    if not isinstance(raw_sentences, list):
        raise fail(f"article '{art_id}': `sentences` must be a list, got {_json_type(raw_sentences)}")
    if not raw_sentences:
        raise fail(f"article '{art_id}' has no sentences (`sentences` is empty)")
    sentences = [
        _parse_sentence(raw, allowed, f"article '{art_id}', sentence {i}", fail)
        for i, raw in enumerate(raw_sentences, start=1)
    ]
    return Article(id=art_id, sentences=sentences, title=title, meta=dict(meta))


def _parse_sentence(raw: Any, allowed: tuple[str, ...] | None, where: str, fail) -> Sentence:
    if isinstance(raw, str):
        raw = {"text": raw}
    if not isinstance(raw, dict):
        raise fail(f"{where}: expected an object with `text` (or a string), got {_json_type(raw)}")
    if "text" not in raw:
        raise fail(f"{where} has no `text`")
    text = raw["text"]
    if not isinstance(text, str):
        raise fail(f"{where}: `text` must be a string, got {_json_type(text)}")
    if not text.strip():
        raise fail(f"{where}: `text` is empty")
    label = raw.get("label")
    if label is not None:
        if not isinstance(label, str):
            raise fail(f"{where}: `label` must be a string or null, got {_json_type(label)}")
        _check_label(label, allowed, where, fail)
    source_labels = raw.get("source_labels")
    if source_labels is None:
        source_labels = []
    if not isinstance(source_labels, list) or not all(isinstance(x, str) for x in source_labels):
        raise fail(f"{where}: `source_labels` must be a list of strings")
    paragraph = raw.get("paragraph")
    if paragraph is not None and (isinstance(paragraph, bool) or not isinstance(paragraph, int) or paragraph < 0):
        raise fail(f"{where}: `paragraph` must be an integer >= 0 or null, got {json.dumps(paragraph)}")
    confidence = raw.get("confidence")
    if confidence is not None and not _is_number(confidence):
        raise fail(f"{where}: `confidence` must be a number or null, got {_json_type(confidence)}")
    scores = raw.get("scores")
    if scores is not None:
        if not isinstance(scores, dict) or not all(_is_number(v) for v in scores.values()):
            raise fail(f"{where}: `scores` must be an object of label -> number")
        scores = {str(k): float(v) for k, v in scores.items()}
    return Sentence(
        text=text,
        label=label,
        source_labels=list(source_labels),
        paragraph=paragraph,
        confidence=None if confidence is None else float(confidence),
        scores=scores,
    )


def _check_label(label: str, allowed: tuple[str, ...] | None, where: str, fail) -> None:
    if allowed is not None and label not in allowed:
        raise fail(f"{where}: label '{label}' is not one of the labels {list(allowed)}")


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, (int, float)) and math.isfinite(x)


def _json_type(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "a boolean"
    if isinstance(x, (int, float)):
        return "a number"
    if isinstance(x, str):
        return "a string"
    if isinstance(x, list):
        return "a list"
    if isinstance(x, dict):
        return "an object"
    return type(x).__name__


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def _read_table(path: Path, allowed: tuple[str, ...] | None, delimiter: str) -> Iterator[Article]:
    kind = "TSV" if delimiter == "\t" else "CSV"
    try:
        fh = open(path, encoding="utf-8-sig", newline="")
        with fh:
            yield from _parse_table(fh, path, allowed, delimiter, kind)
    except UnicodeDecodeError as exc:
        # csv reads through a text stream, so find the line of the bad byte from the raw bytes.
        line = _line_of_bad_byte(path)
        raise UserError(f"not UTF-8 text ({exc.reason}); save the file as UTF-8", path, line) from None


def _line_of_bad_byte(path: Path) -> int | None:
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1
    return None


def _parse_table(fh, path: Path, allowed, delimiter: str, kind: str) -> Iterator[Article]:
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise UserError("file is empty (no header row)", path)
        header_line = reader.line_num
        columns = [c.strip() for c in header]
        missing = [c for c in CSV_REQUIRED if c not in columns]
        if missing:
            hint = ""
            if kind == "CSV" and len(columns) == 1 and "\t" in header[0]:
                hint = " (the file looks tab-separated: name it .tsv)"
            elif kind == "TSV" and len(columns) == 1 and "," in header[0]:
                hint = " (the file looks comma-separated: name it .csv)"
            raise UserError(
                f"{kind} header lacks column(s) {', '.join(missing)}; it has: {', '.join(columns) or '(none)'}{hint}",
                path,
                header_line,
            )
        dupes = sorted({c for c in columns if c and columns.count(c) > 1})
        if dupes:
            raise UserError(f"{kind} header names column(s) {', '.join(dupes)} twice", path, header_line)
        index = {c: columns.index(c) for c in CSV_REQUIRED + CSV_OPTIONAL if c in columns}

        seen: dict[str, int] = {}  # article id -> line of its first row
        current: Article | None = None
        rows = 0
        prev_end = header_line
        for row in reader:
            start, prev_end = prev_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            if len(row) != len(columns):
                raise UserError(f"row has {len(row)} fields, the header has {len(columns)}", path, start)

            def fail(msg: str, _start: int = start) -> UserError:
                return UserError(msg, path, _start)

            art_id = row[index["article_id"]].strip()
            if not art_id:
                raise fail("`article_id` is empty")
            text = row[index["text"]]
            if not text.strip():
                raise fail(f"article '{art_id}': `text` is empty")
            label = row[index["label"]].strip() if "label" in index else ""
            if label:
                _check_label(label, allowed, f"article '{art_id}'", fail)
            paragraph = None
            if "paragraph" in index and row[index["paragraph"]].strip():
                cell = row[index["paragraph"]].strip()
                if not cell.isdigit():
                    raise fail(f"article '{art_id}': `paragraph` must be an integer >= 0, got '{cell}'")
                paragraph = int(cell)
            title = row[index["title"]].strip() if "title" in index else ""

            if current is None or current.id != art_id:
                if art_id in seen:
                    raise fail(
                        f"rows of article '{art_id}' are not contiguous (its first row is on line {seen[art_id]}); "
                        "keep each article's rows together"
                    )
                if current is not None:
                    yield current
                seen[art_id] = start
                current = Article(id=art_id, sentences=[], title=title or None)
            elif title and current.title is None:
                current.title = title
            current.sentences.append(Sentence(text=text, label=label or None, paragraph=paragraph))
        if current is not None:
            yield current
        if rows == 0:
            raise UserError(f"{kind} file has a header but no rows", path)
    except csv.Error as exc:
        raise UserError(f"malformed {kind} ({exc})", path, reader.line_num) from None


# ---------------------------------------------------------------------------------------------
# Hugging Face datasets representation


def dataset_features():
    """The `datasets.Features` of the one-row-per-article representation."""
    from datasets import Features, Value

    try:
        from datasets import List  # datasets >= 4
    except ImportError:  # pragma: no cover - older datasets
        from datasets import Sequence as List

    return Features(
        {
            "id": Value("string"),
            "title": Value("string"),
            "sentences": List(Value("string")),
            "labels": List(Value("string")),
            "source_labels": List(List(Value("string"))),
            "paragraphs": List(Value("int32")),
        }
    )


def article_to_row(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "sentences": [s.text for s in article.sentences],
        "labels": [s.label for s in article.sentences],
        "source_labels": [list(s.source_labels) for s in article.sentences],
        "paragraphs": [s.paragraph for s in article.sentences],
    }


def articles_to_dataset(articles: Iterable[Article]):
    """One `datasets.Dataset` row per article: id, title, sentences, labels, source_labels, paragraphs.

    Unlabeled sentences have label None; sentences without a paragraph index have None there.
    """
    from datasets import Dataset

    features = dataset_features()
    rows = [article_to_row(a) for a in articles]
    if not rows:
        return Dataset.from_dict({name: [] for name in features}, features=features)
    return Dataset.from_list(rows, features=features)


def dataset_to_articles(ds) -> list[Article]:
    """The inverse of `articles_to_dataset` (any mapping/Dataset with those columns)."""
    missing = [c for c in ("id", "sentences") if c not in ds.column_names]
    if missing:
        raise UserError(f"dataset lacks column(s) {', '.join(missing)}; expected {', '.join(DATASET_COLUMNS)}")
    articles = []
    for row in ds:
        texts = row["sentences"]
        n = len(texts)
        labels = row.get("labels") or [None] * n
        source = row.get("source_labels") or [[] for _ in range(n)]
        paragraphs = row.get("paragraphs") or [None] * n
        sentences = [
            Sentence(text=t, label=lab, source_labels=list(src or []), paragraph=par)
            for t, lab, src, par in zip(texts, labels, source, paragraphs)
        ]
        articles.append(Article(id=str(row["id"]), sentences=sentences, title=row.get("title")))
    return articles


def load_articles_dataset(path: str | Path, labels: Iterable[str] | None = None):
    """Read and validate `path` with `read_articles`, then build the `datasets.Dataset`."""
    return articles_to_dataset(read_articles(path, labels))
