"""Parquet in and out for labeling: one row per article, local paths or object-store URIs.

Output rows hold exactly the JSONL record (`Article.to_dict`, what `newsroles label --format jsonl`
writes) in a fixed schema, so that every file of a run, and every shard of an archive run, has the
same columns whatever its articles carry:

    id: string, title: string, meta: string (the JSON of `meta`, null when empty),
    sentences: list<struct<text, label, source_labels: list<string>, paragraph: int64,
                           confidence: float64, scores: map<string, float64>, start: int64, end: int64>>,
    offsets_into: string, extracted_text: string (null unless the article came from an HTML page)

`record_of_row` turns such a row back into that JSONL record. Input rows (`iter_rows`) are the
records `newsroles.inference.io.inputs` reads: columns `id` and `text` (optional `title`), or `id` and
`sentences` (a list of strings or of structs with `text` and optional `paragraph`); other columns
go to `Article.meta`. pyarrow comes with `datasets`, a dependency already.
"""

from __future__ import annotations

import datetime
import decimal
import json
from typing import Any, Iterator

from newsroles.model.article import Article

PARQUET_SUFFIXES = (".parquet", ".pq")
ROW_BATCH = 1024  # rows read at a time: memory stays bounded on a file of millions of articles

# What reading a file that is missing, unreadable or not Parquet raises (pyarrow's ArrowInvalid
# is a ValueError, not an OSError).
READ_ERRORS = (OSError, ValueError)

_SENTENCE_FIELDS = ("text", "label", "source_labels", "paragraph", "confidence", "scores", "start", "end")
_ARTICLE_EXTRAS = ("offsets_into", "extracted_text")  # after `sentences`, as in the JSONL record


def article_schema():
    import pyarrow as pa

    sentence = pa.struct(
        [
            ("text", pa.string()),
            ("label", pa.string()),
            ("source_labels", pa.list_(pa.string())),
            ("paragraph", pa.int64()),
            ("confidence", pa.float64()),
            ("scores", pa.map_(pa.string(), pa.float64())),
            ("start", pa.int64()),
            ("end", pa.int64()),
        ]
    )
    return pa.schema(
        [("id", pa.string()), ("title", pa.string()), ("meta", pa.string()), ("sentences", pa.list_(sentence))]
        + [(name, pa.string()) for name in _ARTICLE_EXTRAS]
    )


def row_of_article(article: Article) -> dict[str, Any]:
    """The JSONL record of a labeled article (`Article.to_dict`) as a row of `article_schema`."""
    record = article.to_dict()
    sentences = []
    for s in record["sentences"]:
        row = {name: s.get(name) for name in _SENTENCE_FIELDS}
        if row["scores"] is not None:
            row["scores"] = list(row["scores"].items())  # a map keeps the label order
        sentences.append(row)
    meta = record.get("meta")
    return {
        "id": record["id"],
        "title": record["title"],
        "meta": json.dumps(meta, ensure_ascii=False, default=str) if meta else None,
        "sentences": sentences,
        **{name: record.get(name) for name in _ARTICLE_EXTRAS},
    }


def record_of_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of `article_schema` as the JSONL record it was made from."""
    out: dict[str, Any] = {"id": row["id"], "title": row["title"]}
    if row.get("meta"):
        out["meta"] = json.loads(row["meta"])
    sentences = []
    for s in row["sentences"]:
        item: dict[str, Any] = {"text": s["text"], "label": s["label"]}
        for name in ("source_labels", "paragraph", "confidence"):
            if s.get(name) not in (None, []):
                item[name] = s[name]
        if s.get("scores") is not None:
            item["scores"] = dict(s["scores"])
        if s.get("start") is not None:
            item["start"], item["end"] = s["start"], s["end"]
        sentences.append(item)
    out["sentences"] = sentences
    out.update({name: row[name] for name in _ARTICLE_EXTRAS if row.get(name) is not None})
    return out


class ParquetArticleFile:
    """Write articles to one Parquet file, a row group per `ROW_BATCH` articles (memory stays bounded)."""

    def __init__(self, fh):
        import pyarrow.parquet as pq

        self._schema = article_schema()
        self._writer = pq.ParquetWriter(fh, self._schema, compression="zstd")
        self._rows: list[dict[str, Any]] = []

    def write(self, article: Article) -> None:
        self._rows.append(row_of_article(article))
        if len(self._rows) >= ROW_BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def abandon(self) -> None:
        """Close without the buffered rows (the file is being thrown away), while its file is open."""
        self._rows = []
        self._writer.close()


def read_records(path: str) -> list[dict[str, Any]]:
    """The JSONL records of a labeled Parquet output (for checks and tests; loads the whole file)."""
    return [record_of_row(row) for row in iter_rows(path)]


def open_input(uri: str):
    """A seekable binary file for a local path or an object-store URI (s3://, gs://, hdfs:// ...)."""
    from pyarrow import fs

    filesystem, path = fs.FileSystem.from_uri(uri) if "://" in uri else (fs.LocalFileSystem(), uri)
    return filesystem.open_input_file(path)


def row_count(uri: str) -> int:
    import pyarrow.parquet as pq

    with open_input(uri) as fh:
        return pq.ParquetFile(fh).metadata.num_rows


def iter_rows(uri: str, start: int = 0, stop: int | None = None) -> Iterator[dict[str, Any]]:
    """The rows `start` to `stop` (0-based, end excluded) of a Parquet file as plain Python dicts,
    read a batch at a time; values JSON cannot hold (dates, decimals, bytes) become strings."""
    import pyarrow.parquet as pq

    with open_input(uri) as fh:
        pf = pq.ParquetFile(fh)
        stop = pf.metadata.num_rows if stop is None else stop
        # Skip whole row groups before `start` without decoding them.
        first, groups, seen = start, [], 0
        for g in range(pf.metadata.num_row_groups):
            n = pf.metadata.row_group(g).num_rows
            if seen + n > start and seen < stop:
                if not groups:
                    first = start - seen
                groups.append(g)
            seen += n
        if not groups:
            return
        position = start - first
        for batch in pf.iter_batches(batch_size=ROW_BATCH, row_groups=groups):
            for row in batch.to_pylist():
                if position >= stop:
                    return
                if position >= start:
                    yield {k: _plain(v) for k, v in row.items()}
                position += 1


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value
