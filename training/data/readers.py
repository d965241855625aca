"""Read labeled (or unlabeled) articles from JSONL, CSV or TSV, with line-accurate errors.

Formats
-------
``.jsonl``: one article per line::

    {"id": "a1", "title": "...", "sentences": [{"text": "...", "label": "quote",
     "source_labels": ["Speech"], "paragraph": 0}, ...]}

``id`` (string or integer) and ``sentences`` (a non-empty list) are required; ``title``, ``meta``
(an object) are optional. A sentence needs a non-empty ``text``; ``label`` may be missing or null
(an unlabeled sentence, kept as context), ``source_labels`` (list of strings) and ``paragraph``
(integer >= 0) are optional, as are ``confidence`` and ``scores`` (what `newsroles label --format
jsonl` writes, so its output reads back), and ``targets`` (an object of auxiliary target name ->
number from 0 to 1, what the readers of training/data/ give PolNeAR and Webis sentences). A sentence
may also be given as a bare string. Blank lines are skipped; other keys are ignored.

``.csv`` / ``.tsv``: one sentence per row, a header naming the columns ``article_id`` and ``text``
(required), ``label`` (optional; an empty cell is an unlabeled sentence), ``title`` and
``paragraph`` (optional); other columns are ignored. Sentence order is row order and the rows of
one article must be contiguous.

Every problem is a `UserError` naming the file and the line (for CSV, the line the row starts on).
A binary file is refused; bytes that are not UTF-8 are replaced (U+FFFD) with an `InputWarning`
naming the line of the first (model/text/textio.py).
``.parquet`` / ``.arrow`` files and hub datasets (``hf:ORG/NAME:SPLIT``) are sentence tables like
CSV, read through Hugging Face `datasets` (training/data/sentence_tables.py). The column names of every
sentence table (CSV/TSV too) can be changed with `columns` (the config's data.columns).
"""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path
from typing import Any, Iterable, Iterator

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.text.textio import SAMPLE, Decoder, binary_error
from newsroles.training.data.sentence_tables import is_dataset_source, read_sentence_table

SUFFIXES = (".jsonl", ".csv", ".tsv")
CSV_REQUIRED = ("article_id", "text")
CSV_OPTIONAL = ("label", "title", "paragraph")


# ---------------------------------------------------------------------------------------------
# Entry point


def read_articles(
    path: str | Path, labels: Iterable[str] | None = None, labels_name: str = "the labels", columns=None
) -> list[Article]:
    """Read and validate every article of a .jsonl, .csv, .tsv, .parquet or .arrow file or an
    `hf:ORG/NAME:SPLIT` hub dataset.

    `labels`, when given, is the allowed label set: any other label is an error naming the line of
    the first one and listing every label of the file outside the set. `labels_name` says whose
    labels they are in that message ("the model's labels"). `columns` (a ColumnsConfig) names the
    columns of a sentence table.
    """
    if is_dataset_source(path):
        return read_sentence_table(path, labels, labels_name, columns)
    path = Path(path)
    _check_input_file(path)
    allowed = None if labels is None else tuple(labels)
    try:
        articles = list(_read_any(path, allowed, labels_name, columns=columns))
    except _StrayLabel as first:
        raise _stray_labels_error(path, allowed, first) from None
    if not articles:
        raise UserError("file holds no articles (only blank lines)", path)
    return articles


def iter_articles(path: str | Path, on_bad_row=None) -> Iterator[Article]:
    """Stream the articles of a .jsonl, .csv or .tsv file, validated but with any labels allowed.

    For CSV/TSV, `on_bad_row(error)`, when given, is called for each bad row, which is left out.
    """
    path = Path(path)
    _check_input_file(path)
    yield from _read_any(path, None, on_bad_row=on_bad_row)


def _read_any(path: Path, allowed, labels_name: str = "the labels", on_bad_row=None, columns=None) -> Iterator[Article]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _read_jsonl(path, allowed, labels_name)
    delimiter = "\t" if suffix == ".tsv" else ","
    return _read_table(path, allowed, delimiter, labels_name=labels_name, on_bad_row=on_bad_row, columns=columns)


class _StrayLabel(UserError):
    """A label outside the allowed set (the first one found)."""


def _stray_labels_error(path: Path, allowed: tuple[str, ...], first: _StrayLabel) -> UserError:
    """The first stray label's error, naming every label of the file that is outside the set."""
    stray: dict[str, None] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # already said on the first reading
            for article in _read_any(path, None):
                for s in article.sentences:
                    if s.label is not None and s.label not in allowed:
                        stray.setdefault(s.label, None)
    except UserError:
        pass  # a later problem: the label error comes first
    if len(stray) <= 1:
        return UserError(first.message, first.path, first.line)
    names = ", ".join(f"'{x}'" for x in sorted(stray))
    return UserError(f"{first.message}; the file has {len(stray)} labels outside that set: {names}", first.path, first.line)


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
    try:
        with open(path, "rb") as fh:
            head = fh.read(SAMPLE)
    except OSError as exc:
        raise UserError(f"cannot read the file ({exc.strerror or exc})", path) from None
    err = binary_error(head, str(path))
    if err is not None:
        raise err


# ---------------------------------------------------------------------------------------------
# JSONL


def _open(path: Path, **kwargs):
    try:
        return open(path, **kwargs)
    except OSError as exc:
        raise UserError(f"cannot read the file ({exc.strerror or exc})", path) from None


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded line by line so that problems keep their line.

    A NUL byte is a binary file (an error); other bytes that are not UTF-8 are replaced, with a
    warning naming the line of the first.
    """
    decode = Decoder(str(path))
    with _open(path, mode="rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if b"\x00" in raw:
                raise UserError("binary file (NUL bytes), not text", path, lineno)
            yield lineno, decode(raw, lineno)


def _not_json_hint(line: str) -> str:
    stripped = line.lstrip()
    if stripped.startswith("<"):
        return "; the line looks like HTML or XML, and a .jsonl file holds one JSON object per line"
    if not stripped.startswith(("{", "[", '"')):
        return "; a .jsonl file holds one JSON object per line"
    return ""


def _read_jsonl(path: Path, allowed: tuple[str, ...] | None, labels_name: str = "the labels") -> Iterator[Article]:
    seen: dict[str, int] = {}
    for lineno, line in _read_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc.msg} at column {exc.colno}){_not_json_hint(line)}", path, lineno) from None
        except RecursionError:
            raise UserError("JSON nested too deeply", path, lineno) from None
        article = parse_article(obj, allowed, path, lineno, labels_name)
        if article.id in seen:
            raise UserError(f"duplicate article id '{article.id}' (first on line {seen[article.id]})", path, lineno)
        seen[article.id] = lineno
        yield article


def parse_article(
    obj: Any,
    allowed: tuple[str, ...] | None = None,
    path: str | Path | None = None,
    line: int | None = None,
    labels_name: str = "the labels",
) -> Article:
    """Validate one JSON article object (as in a JSONL line) and build the Article."""

    def fail(msg: str, cls=UserError) -> UserError:
        return cls(msg, path, line)

    fail.labels_name = labels_name  # type: ignore[attr-defined]

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
    targets = raw.get("targets")
    if targets is not None:
        if not isinstance(targets, dict) or not all(_is_number(v) and 0 <= v <= 1 for v in targets.values()):
            raise fail(f"{where}: `targets` must be an object of target name -> number from 0 to 1")
        targets = {str(k): float(v) for k, v in targets.items()}
    return Sentence(
        text=text,
        label=label,
        source_labels=list(source_labels),
        paragraph=paragraph,
        confidence=None if confidence is None else float(confidence),
        scores=scores,
        targets=targets,
    )


def _check_label(label: str, allowed: tuple[str, ...] | None, where: str, fail) -> None:
    if allowed is not None and label not in allowed:
        name = getattr(fail, "labels_name", "the labels")
        raise fail(f"{where}: label '{label}' is not one of {name} {list(allowed)}", _StrayLabel)


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


def _table_renames(columns) -> dict[str, str]:
    """Our CSV column -> its name in the file (data.columns; sentence order is row order in CSV)."""
    if columns is None:
        return {c: c for c in CSV_REQUIRED + CSV_OPTIONAL}
    return {c: getattr(columns, c) for c in CSV_REQUIRED + CSV_OPTIONAL}


def _read_table(
    path: Path,
    allowed: tuple[str, ...] | None,
    delimiter: str,
    labels_name: str = "the labels",
    on_bad_row=None,
    columns=None,
) -> Iterator[Article]:
    """The articles of a CSV/TSV file, streamed. `on_bad_row(error)`, when given, is called for a
    bad row, which is then left out (the header and the file as a whole must still be sound).
    `columns` (a ColumnsConfig) renames the header's columns to ours."""
    kind = "TSV" if delimiter == "\t" else "CSV"
    # surrogateescape: undecodable bytes survive decoding as lone surrogates, replaced (and warned
    # about, with their line) by `_table_lines`.
    fh = _open(path, mode="r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    with fh:
        yield from _parse_table(_table_lines(fh, path), path, allowed, delimiter, kind, labels_name, on_bad_row, columns)


def _table_lines(fh, path: Path) -> Iterator[str]:
    decode = Decoder(str(path))
    for lineno, line in enumerate(fh, start=1):
        if "\x00" in line:
            raise UserError("binary file (NUL bytes), not text", path, lineno)
        yield decode.text_line(line, lineno)


def _parse_table(
    lines, path: Path, allowed, delimiter: str, kind: str, labels_name: str = "the labels", on_bad_row=None, columns=None
) -> Iterator[Article]:
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise UserError("file is empty (no header row)", path)
        header_line = reader.line_num
        theirs = [c.strip() for c in header]
        renamed = _table_renames(columns)
        for ours, name in renamed.items():
            if name != ours and name not in theirs:  # asked for by name, so it must be there
                raise UserError(f"no column '{name}' (data.columns.{ours}); the header has: {', '.join(theirs[:20])}", path, header_line)
        back = {name: ours for ours, name in renamed.items()}
        # The header in our names; a column that merely bears one of our names while that role is
        # mapped to another column is set aside (parenthesised), not read.
        columns = [back.get(c, c if c not in CSV_REQUIRED + CSV_OPTIONAL else f"({c})") for c in theirs]
        missing = [c for c in CSV_REQUIRED if c not in columns]
        if missing:
            hint = ""
            if kind == "CSV" and len(columns) == 1 and "\t" in header[0]:
                hint = " (the file looks tab-separated: name it .tsv)"
            elif kind == "TSV" and len(columns) == 1 and "," in header[0]:
                hint = " (the file looks comma-separated: name it .csv)"
            elif header[0].lstrip().startswith("<"):
                hint = " (the file looks like HTML or XML, not a table)"
            shown = ", ".join(c[:40] for c in columns[:20]) or "(none)"
            raise UserError(
                f"{kind} header lacks column(s) {', '.join(missing)}; it has: {shown}{hint}",
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

            def fail(msg: str, cls=UserError, _start: int = start) -> UserError:
                return cls(msg, path, _start)

            fail.labels_name = labels_name  # type: ignore[attr-defined]
            try:
                if len(row) != len(columns):
                    raise fail(f"row has {len(row)} fields, the header has {len(columns)}")
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
                if (current is None or current.id != art_id) and art_id in seen:
                    raise fail(
                        f"rows of article '{art_id}' are not contiguous (its first row is on line {seen[art_id]}); "
                        "keep each article's rows together"
                    )
            except UserError as err:
                if on_bad_row is None:
                    raise
                on_bad_row(err)
                continue

            if current is None or current.id != art_id:
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
