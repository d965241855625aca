"""Unlabeled stories, ``{"id", "text"}`` per JSONL line or Parquet row, split into Articles without labels.

The text is a plain-text story (paragraphs separated by newlines, headline first), split by our
splitter (model/text/splitter.py: `article_from_text`, the same code `newsroles label` uses), so its
sentences are the ones a model trained on them would later be asked to label. A story with no text,
or with fewer than `min_words` words, is skipped and counted (`ReadReport.skipped`, one line naming
the file and line or row). Other keys of a record are kept in the Article's `meta`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.text.splitter import article_from_text
from newsroles.training.data.readers import _check_input_file, _read_lines
from newsroles.training.data.report import ReadReport

SUFFIXES = (".jsonl", ".parquet")
MIN_WORDS = 50


def _records_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, record) of each line; a line that is not JSON comes as its UserError, so that the
    reading can go on past it."""
    for lineno, line in _read_lines(path):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            yield lineno, UserError(f"not valid JSON ({exc.msg} at column {exc.colno})", path, lineno)


def _records_parquet(path: Path) -> Iterator[tuple[int, Any]]:
    """(row number from 1, record) of each row; the error's "line" is the row."""
    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow's ArrowInvalid and OSError: not a Parquet file
        raise UserError(f"cannot read as Parquet ({str(exc).splitlines()[0]})", path) from None
    names = pf.schema_arrow.names
    missing = [c for c in ("id", "text") if c not in names]
    if missing:
        raise UserError(f"no column(s) {', '.join(missing)}; the table has: {', '.join(names[:20])}", path)
    row = 0
    for batch in pf.iter_batches(batch_size=512):
        for record in batch.to_pylist():
            row += 1
            yield row, record


def _article(record: Any, path: Path, line: int, seen: dict[str, int], min_words: int) -> Article | str:
    """The record's Article, or why it is skipped (a str); a malformed record is a UserError."""
    if not isinstance(record, dict):
        raise UserError('expected a JSON object {"id": ..., "text": ...}', path, line)
    art_id, text = record.get("id"), record.get("text")
    if isinstance(art_id, bool) or not isinstance(art_id, (str, int)) or not str(art_id).strip():
        raise UserError("record has no `id` (a non-empty string or integer)", path, line)
    art_id = str(art_id)
    if art_id in seen:
        raise UserError(f"duplicate id '{art_id}' (first on line {seen[art_id]})", path, line)
    seen[art_id] = line
    if text is not None and not isinstance(text, str):
        raise UserError(f"story '{art_id}': `text` must be a string", path, line)
    words = len(text.split()) if text else 0
    if words == 0:
        return f"{path}:{line}: story '{art_id}' has no text: skipped"
    if words < min_words:
        return f"{path}:{line}: story '{art_id}' has {words} words, fewer than {min_words}: skipped"
    article = article_from_text(text, art_id)
    if not article.sentences:
        return f"{path}:{line}: story '{art_id}' has no sentence besides its headline: skipped"
    article.meta = {k: v for k, v in record.items() if k not in ("id", "text")}
    return article


def iter_unlabeled(
    path: str | Path, report: ReadReport, skip_bad: bool = False, min_words: int = MIN_WORDS
) -> Iterator[Article]:
    """The stories of a .jsonl or .parquet file as Articles with no labels, counted in `report`.

    Empty and short stories are skipped and counted; a malformed record raises its UserError, or
    with `skip_bad` is listed in `report.skipped` too.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise UserError(f"unsupported format '{path.suffix or '(no suffix)'}' for stories; use .jsonl or .parquet", path)
    if path.suffix.lower() == ".jsonl":
        _check_input_file(path)
        records = _records_jsonl(path)
    else:
        if not path.is_file():
            raise UserError("input file not found", path)
        records = _records_parquet(path)
    seen: dict[str, int] = {}
    for line, record in records:
        try:
            if isinstance(record, UserError):
                raise record
            result = _article(record, path, line, seen, min_words)
        except UserError as err:
            if not skip_bad:
                raise
            report.skip(err)
            continue
        if isinstance(result, str):
            report.skip(result)
        else:
            yield report.add(result)
