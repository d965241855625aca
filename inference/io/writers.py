"""Output formats for labeled articles: JSONL, CSV/TSV, and a readable terminal view.

* JSONL: one article per line, the input format plus each sentence's `confidence` and `scores`
  (so an output file reads back with `newsroles.training.data.readers.read_articles`).
* CSV/TSV: one row per sentence: article_id, sentence_index (0-based), text, label, confidence,
  then one `score_<label>` column per label, then `start`, `end` and `offsets_into` (what the
  offsets index: newsroles.inference.io.inputs; empty for a sentence without offsets).
* terminal: per article its title and each sentence with a colored role tag and its confidence.
* HTML: one self-contained page of all the stories, sentences highlighted by role
  (newsroles.inference.views.pages).

`ArticleWriter` streams articles to a file that appears only once complete (model/fileio.atomic_file);
`completed_ids` reads the article ids an existing JSONL output already holds (for resuming).
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from newsroles.inference.io.parquet import ParquetArticleFile
from newsroles.inference.views.pages import DEFAULT_MIN_CONFIDENCE, HtmlStoryWriter
from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

FORMATS = ("jsonl", "csv", "tsv", "parquet", "html")
CSV_FIXED = ("article_id", "sentence_index", "text", "label", "confidence")
SCORE_PREFIX = "score_"
CSV_OFFSETS = ("start", "end", "offsets_into")  # after the score columns

# Colors of the default roles; any other label takes the next color of the palette.
ROLE_STYLES = {"stance": "magenta", "quote": "cyan", "background": "yellow", "fact": "green"}
PALETTE = ("blue", "red", "bright_green", "bright_magenta", "bright_cyan", "bright_yellow", "bright_blue", "bright_red")


# ---------------------------------------------------------------------------------------------
# JSONL


def article_json(article: Article) -> str:
    return json.dumps(article.to_dict(), ensure_ascii=False)


def write_jsonl(articles: Iterable[Article], fh: IO[str]) -> int:
    """Write one article per line; returns how many."""
    n = 0
    for article in articles:
        fh.write(article_json(article) + "\n")
        n += 1
    return n


def completed_ids(path: str | Path) -> set[str]:
    """Ids of the articles an existing JSONL output holds; empty when there is no file.

    A truncated last line (a run killed mid-write) is ignored; a bad line before the end means the
    file is not a newsroles output, which is an error naming that line.
    """
    path = Path(path)
    if not path.exists():
        return set()
    if path.is_dir():
        raise UserError("is a folder, not a JSONL output file", path)
    ids: set[str] = set()
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    # The last element is what follows the final newline: empty for a complete file.
    last = max((i for i, raw in enumerate(lines) if raw.strip()), default=-1)
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8"))
            if not isinstance(obj, dict) or "id" not in obj:
                raise ValueError("no id")
        except (ValueError, UnicodeDecodeError):
            if i == last and i == len(lines) - 1:  # the unfinished last line of a killed run
                continue
            raise UserError("not a newsroles JSONL output line (no JSON article with an `id`)", path, i + 1) from None
        ids.add(str(obj["id"]))
    return ids


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def score_labels(articles: Iterable[Article]) -> list[str]:
    """The labels of the first sentence that has scores, in its order ([] when none has)."""
    for article in articles:
        for s in article.sentences:
            if s.scores:
                return list(s.scores)
    return []


class _LineFeedRows:
    """A file adapter for csv.writer: rows end in "\n", yet fields holding a carriage return are
    quoted. (csv quotes only the characters of its line terminator, so with "\n" as the terminator a
    "\r" inside a sentence would be written bare and read back as a line break.)"""

    def __init__(self, fh: IO[str]):
        self.fh = fh

    def write(self, row: str) -> int:
        return self.fh.write(row[:-2] + "\n" if row.endswith("\r\n") else row)


def _csv_writer(fh: IO[str], delimiter: str = ","):
    """csv.writer for one row per line ("\n"), with every line break inside a field quoted."""
    return csv.writer(_LineFeedRows(fh), delimiter=delimiter, lineterminator="\r\n")


def _csv_header(labels: Sequence[str]) -> list[str]:
    return [*CSV_FIXED, *(SCORE_PREFIX + lab for lab in labels), *CSV_OFFSETS]


def _csv_rows(article: Article, labels: Sequence[str]) -> Iterable[list[Any]]:
    for i, s in enumerate(article.sentences):
        scores = s.scores or {}
        extra = set(scores) - set(labels)
        if extra:
            raise ValueError(f"article {article.id!r} sentence {i} has scores for {sorted(extra)}, not in {list(labels)}")
        yield [
            article.id,
            i,
            s.text,
            s.label or "",
            "" if s.confidence is None else round(s.confidence, 6),
            *("" if lab not in scores else round(scores[lab], 6) for lab in labels),
            *(("", "", "") if s.start is None else (s.start, s.end, article.offsets_into or "")),
        ]


def write_csv(
    articles: Iterable[Article], fh: IO[str], labels: Sequence[str] | None = None, delimiter: str = ","
) -> int:
    """One row per sentence; `labels` orders the score columns (default: the first scores seen).

    Open `fh` with newline="" (as the csv module asks). Returns how many articles were written.
    """
    articles = list(articles)
    labels = list(labels) if labels is not None else score_labels(articles)
    writer = _csv_writer(fh, delimiter)
    writer.writerow(_csv_header(labels))
    for article in articles:
        writer.writerows(_csv_rows(article, labels))
    return len(articles)


# ---------------------------------------------------------------------------------------------
# Terminal


def label_styles(labels: Iterable[str]) -> dict[str, str]:
    """A color per label: the fixed ones for the default roles, the palette for the rest."""
    styles: dict[str, str] = {}
    spare = iter(c for c in PALETTE if c not in ROLE_STYLES.values())
    for lab in labels:
        if lab not in styles:
            styles[lab] = ROLE_STYLES.get(lab) or next(spare, "white")
    return styles


def render_terminal(
    articles: Iterable[Article], console: Console, labels: Sequence[str] | None = None, offsets: bool = False
) -> None:
    """Print each article: its title (or id), then its sentences with a colored role tag and confidence
    (and with `offsets`, each sentence's `start-end` in the article's text).

    Blank lines separate paragraphs where the sentences carry paragraph indices. Article text is
    printed literally (never read as rich markup).
    """
    articles = list(articles)
    seen = list(labels or [])
    for article in articles:
        for s in article.sentences:
            for lab in [s.label, *(s.scores or {})]:
                if lab is not None and lab not in seen:
                    seen.append(lab)
    styles = label_styles(seen)
    for n, article in enumerate(articles):
        if n:
            console.print()
        heading = Text(article.title or article.id, style="bold underline")
        date = article.meta.get("date")  # the publication date an HTML page gave
        about = ([article.id] if article.title else []) + ([date] if isinstance(date, str) and date else [])
        if about:
            heading.append(f"  ({', '.join(about)})", style="dim")
        console.print(heading)
        # A grid, so that a long sentence wraps under its own column, not under the tag.
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)
        grid.add_column(no_wrap=True, justify="right")
        if offsets:
            grid.add_column(no_wrap=True, justify="right")
        grid.add_column(overflow="fold")
        previous = None
        for s in article.sentences:
            if previous is not None and s.paragraph is not None and s.paragraph != previous:
                grid.add_row(*[""] * len(grid.columns))
            previous = s.paragraph
            if s.label is None:
                tag = Text(s.reason or "-", style="dim")  # why a labeler left it unlabeled, if it did
            else:
                tag = Text(s.label, style=f"bold {styles.get(s.label, 'white')}")
            conf = Text("" if s.confidence is None else f"{s.confidence:.2f}", style="dim")
            span = [Text("" if s.start is None else f"{s.start}-{s.end}", style="dim")] if offsets else []
            grid.add_row(tag, conf, *span, Text(s.text, style="" if s.label is not None else "dim"))
        console.print(grid)


# ---------------------------------------------------------------------------------------------
# Streaming writer


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The output format: `fmt` if given, else from the file's suffix (.jsonl, .csv, .tsv, .parquet, .html)."""
    if fmt is None and Path(path).suffix.lower() == ".htm":
        return "html"
    if fmt is not None:
        fmt = fmt.lower().lstrip(".")
        if fmt not in FORMATS:
            raise UserError(f"unknown output format '{fmt}'; use one of: {', '.join(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UserError(
            f"cannot tell the output format from '{Path(path).suffix or '(no suffix)'}'; "
            f"name the file .jsonl, .csv, .tsv, .parquet or .html",
            path,
        )
    return suffix


class ArticleWriter:
    """Write labeled articles one by one to a JSONL/CSV/TSV file that appears only when complete.

    Usage::

        with ArticleWriter("out.jsonl") as writer:
            for article in predictions:
                writer.write(article)

    JSONL is written as it goes to `<path>.partial`, one flushed line per article, and renamed to
    `path` when the `with` block ends without an error; an interrupted or killed run leaves only
    the `.partial` file, never something that looks complete. With `resume=True` the articles of
    that partial file (or of a finished output at `path`) are kept, their ids are in
    `writer.completed`, and `write` skips them (returns False): no duplicates, no gaps. CSV/TSV and
    Parquet (`newsroles.inference.io.parquet`) and HTML are written to a temporary file and renamed into
    place (no resuming). `path` "-" writes to stdout. HTML marks sentences under `min_confidence` as
    low-confidence.
    For CSV/TSV the score columns come from `labels`, or from the first article written.
    """

    def __init__(
        self,
        path: str | Path,
        fmt: str | None = None,
        labels: Sequence[str] | None = None,
        resume: bool = False,
        min_confidence: float | None = None,
    ):
        self.path = path if str(path) == "-" else Path(path)
        if isinstance(self.path, Path) and self.path.is_dir():
            raise UserError("output is a folder; give a file name", self.path)
        self.format = format_of(path, fmt if fmt is not None or str(path) != "-" else "jsonl")
        self.labels = list(labels) if labels is not None else None
        self.resume = resume
        self.min_confidence = min_confidence
        if resume and self.format != "jsonl":
            raise UserError("resuming needs a JSONL output (.jsonl)", None if str(path) == "-" else path)
        if self.format == "parquet" and str(path) == "-":
            raise UserError("Parquet is written to a file, not the terminal; give --output FILE.parquet")
        if resume and str(path) == "-":
            raise UserError("resuming needs an output file, not stdout")
        self.completed: set[str] = set()
        self.written = 0
        self._ctx = None
        self._fh: IO[str] | None = None
        self._csv = None
        self._parquet = None
        self._html = None

    @property
    def partial_path(self) -> Path:
        return self.path.with_name(self.path.name + ".partial")  # type: ignore[union-attr]

    def __enter__(self) -> "ArticleWriter":
        if isinstance(self.path, Path) and self.path.is_dir():
            raise UserError("output is a folder; give a file name", self.path)
        if self.path == "-":
            self._fh = sys.stdout
        elif self.format == "jsonl":
            self._fh = self._open_partial()
        elif self.format == "parquet":
            self._ctx = atomic_file(self.path, "wb", encoding=None)
            self._fh = self._ctx.__enter__()
            self._parquet = ParquetArticleFile(self._fh)
        else:
            self._ctx = atomic_file(self.path, "w", encoding="utf-8")
            # newline="" would be ideal for csv; atomic_file opens in text mode, so rows end in "\n".
            self._fh = self._ctx.__enter__()
        if self.format == "html":
            self._html = _html_writer(self._fh, self.labels, self.min_confidence)
            self._html.start()
        return self

    def _open_partial(self) -> IO[str]:
        partial = self.partial_path
        partial.parent.mkdir(parents=True, exist_ok=True)
        if self.resume and partial.exists():
            _drop_unfinished_line(partial)
            self.completed = completed_ids(partial)
            return open(partial, "a", encoding="utf-8")
        fh = open(partial, "w", encoding="utf-8")
        if self.resume and self.path.exists():  # type: ignore[union-attr]
            self.completed = completed_ids(self.path)
            with open(self.path, "rb") as old:  # type: ignore[arg-type]
                _copy_complete_lines(old.read(), fh)
        return fh

    def write(self, article: Article) -> bool:
        """Write one article; False when it was skipped because a resumed output already has it."""
        if self._fh is None:
            raise RuntimeError("ArticleWriter.write() outside its `with` block")
        if article.id in self.completed:
            return False
        if self.format == "jsonl":
            self._fh.write(article_json(article) + "\n")
        elif self._parquet is not None:
            self._parquet.write(article)
        elif self._html is not None:
            self._html.add(article.to_dict())
        else:
            if self._csv is None:
                if self.labels is None:
                    self.labels = score_labels([article])
                self._csv = _csv_writer(self._fh, "\t" if self.format == "tsv" else ",")
                self._csv.writerow(_csv_header(self.labels))
            self._csv.writerows(_csv_rows(article, self.labels))
        self._fh.flush()
        self.completed.add(article.id)
        self.written += 1
        return True

    def write_all(self, articles: Iterable[Article]) -> int:
        return sum(self.write(a) for a in articles)

    def __exit__(self, exc_type, exc, tb) -> bool:
        fh, ctx = self._fh, self._ctx
        self._fh = self._ctx = None
        if fh is None:
            return False
        if self.path == "-":
            if exc_type is None and self._html is not None:
                self._html.finish()
            fh.flush()
            return False
        if self.format == "jsonl":
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            if exc_type is None:
                os.replace(self.partial_path, self.path)  # type: ignore[arg-type]
            elif self.partial_path.stat().st_size == 0:
                self.partial_path.unlink()  # nothing done, nothing to resume: leave nothing behind
            return False  # on an error the .partial file stays, for --resume
        if self._parquet is not None:
            parquet, self._parquet = self._parquet, None
            if exc_type is None:
                parquet.close()  # the footer; the file then appears complete (atomic_file)
            else:
                parquet.abandon()
            return bool(ctx.__exit__(exc_type, exc, tb))
        if exc_type is None and self._html is not None:
            self._html.finish()
        elif exc_type is None and self._csv is None:
            # No article at all: still write the header so the CSV is well-formed.
            _csv_writer(fh, "\t" if self.format == "tsv" else ",").writerow(
                _csv_header(self.labels or [])
            )
        return bool(ctx.__exit__(exc_type, exc, tb))


def _html_writer(fh: IO[str], labels: Sequence[str] | None, min_confidence: float | None):
    threshold = DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence
    return HtmlStoryWriter(fh, labels or [], min_confidence=threshold)


def _drop_unfinished_line(path: Path) -> None:
    """Cut a killed run's last, unfinished line so appending goes on from a whole article."""
    with open(path, "rb+") as fh:
        data = fh.read()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            fh.truncate(end)


def _copy_complete_lines(data: bytes, fh: IO[str]) -> None:
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        if i == len(lines) - 1:  # no newline after it: the unfinished line of a killed run
            try:
                json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                continue
        fh.write(raw.decode("utf-8").rstrip("\r") + "\n")
