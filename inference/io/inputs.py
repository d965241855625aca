"""What `newsroles label` reads: plain-text stories, folders of them, JSONL archives, stdin.

    inputs = iter_label_inputs(["story.txt", "archive.jsonl", "folder/", "-"], skip_bad=True)
    for article in inputs:      # a stream: one article in memory at a time
        ...
    inputs.skipped              # messages for the records that were left out

A path may be
- a plain-text file: one article, id = the file stem; a leading headline becomes the title
  (see `newsroles.inference.splitter.article_from_text`);
- a `.jsonl` (or `.ndjson`) file: one article per line, `{"id": ..., "text": ..., "title": ...}`
  (`title` optional; without it a headline opening `text` becomes the title) or already split,
  `{"id": ..., "sentences": [{"text": ...}, ...]}` (sentence items may also be plain strings and may
  carry `paragraph`); other fields go to `Article.meta`;
- an HTML page (`.html`, `.htm`, or any text file or JSONL `text` that holds markup): the main
  text, title and publication date are found by trafilatura (see `newsroles.inference.io.html`; the
  date goes to `Article.meta["date"]`), with an `InputWarning` saying so; a page with no main text
  is an error saying why; an .html file that is not UTF-8 is read in the encoding it declares;
- a `.csv` / `.tsv` file: one sentence per row, columns `article_id` and `text` (as
  `newsroles.training.data.readers` reads them; a `label` column is ignored);
- a `.parquet` file: one article per row, the JSONL record's fields as columns (`id` and `text`,
  or `id` and `sentences`; see `newsroles.inference.io.parquet`);
- a directory: every `*.txt`, `*.text`, `*.md`, `*.jsonl`, `*.html`, `*.htm`, `*.parquet` inside, recursively,
  in sorted path order (hidden files and folders are passed over); the id of a text file there is
  its path relative to the directory, without the suffix (`2019/story`);
- `-`: stdin, one plain-text article with id `stdin`, or JSONL when its first non-space character
  is `{`.

Every sentence gets `start` and `end` (Python str indices, end exclusive), and its article says
what they index in `offsets_into`: "text", the story as given (a text file's or stdin's text as
decoded, a leading byte-order mark removed; a JSONL `text`), headline line included; "extracted_text",
the text taken from an HTML page (its paragraphs joined with a blank line, kept in the article's
`extracted_text`); "joined_sentences", for inputs already split (JSONL or Parquet `sentences`,
CSV/TSV rows): the sentence texts, each stripped, joined with a newline (`SENTENCE_SEPARATOR`).

Problems a user can fix raise `UserError` naming the file (and line): a missing path, a directory
without inputs, a JSONL line that is not a JSON object or lacks `id` / `text`, an empty article or
file, a binary file (NUL bytes, a PDF, an image ...: see `newsroles.model.text.textio`), an HTML page
without article text. With `skip_bad=True` the bad records (and binary files) are skipped and
described in `.skipped` instead; a missing path or an empty directory still raises. Bytes that are
not UTF-8 are replaced (U+FFFD) with a warning (`InputWarning`) naming the file and line.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import warnings
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from newsroles.inference.io.html import HTML_SUFFIXES, decode_declared, extract_html, looks_like_html
from newsroles.inference.io.parquet import PARQUET_SUFFIXES, READ_ERRORS, iter_rows
from newsroles.inference.splitter import article_from_text, sentence_spans, text_sentences
from newsroles.model.article import OFFSETS_EXTRACTED, OFFSETS_TEXT, Article, Sentence
from newsroles.model.errors import InputWarning, UserError
from newsroles.model.text.textio import Decoder, binary_error
from newsroles.training.data.readers import iter_articles

__all__ = [
    "InputWarning", "LabelInputs", "iter_label_inputs", "jsonl_range", "parquet_range", "read_story",
    "TEXT_SUFFIXES", "JSONL_SUFFIXES", "TABLE_SUFFIXES", "PARQUET_SUFFIXES",
]

TEXT_SUFFIXES = (".txt", ".text", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TABLE_SUFFIXES = (".csv", ".tsv")
# What a directory contributes: *.txt, *.text, *.md, *.jsonl, HTML pages and *.parquet.
DIR_SUFFIXES = TEXT_SUFFIXES + (".jsonl",) + HTML_SUFFIXES[:2] + PARQUET_SUFFIXES[:1]
STDIN = "-"
STDIN_ID = "stdin"
PARAGRAPH_SEPARATOR = "\n\n"  # between an HTML page's paragraphs in its `extracted_text`


class _Skip(Exception):
    """A bad record: raised as UserError, or recorded and skipped under skip_bad."""

    def __init__(self, error: UserError, rest_of_file: bool = False):
        self.error = error
        self.rest_of_file = rest_of_file  # a binary file: nothing more to read from it
        super().__init__(str(error))


# --- decoding -------------------------------------------------------------------------------------

_Decoder = Decoder  # UTF-8, undecodable bytes replaced with a warning once per file (model/text/textio.py)


def _binary(where: str, line: int | None = None, data: bytes = b"\x00") -> _Skip:
    err = binary_error(data, where, line, whole=True) or UserError("binary file (NUL bytes), not text", where, line)
    return _Skip(err, rest_of_file=True)


# --- records --------------------------------------------------------------------------------------


def _text_article(text: str, article_id: str, where: str, html: bool = False, markdown: bool = False) -> Article:
    """A text file's article. Markup makes it an HTML page: any tag in a .html file; a document
    (<html>, <body> ...) in Markdown, which may hold inline HTML; a few block tags elsewhere."""
    if not text.strip():
        raise _Skip(UserError("empty article (no text)", where))
    if (html and _TAG.search(text)) or looks_like_html(text, document_only=markdown) or _MARKUP.fullmatch(text.strip()):
        return _html_article(text, article_id, where)
    return article_from_text(text, article_id)


def read_story(text: str, article_id: str, where: str, html: bool = False) -> Article:
    """One story as `newsroles label` reads a text file (`html`: an .html file); a bad one raises
    UserError (the service's requests are read this way)."""
    try:
        return _text_article(text, article_id, where, html=html)
    except _Skip as skip:
        raise skip.error from None


_MARKUP = re.compile(r"(?:<[^<>]*>\s*)+")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")


def _html_article(html: str, article_id: str, where: str, title: str | None = None, meta: dict | None = None) -> Article:
    """The article in an HTML page (see `newsroles.inference.io.html`): one paragraph a line of the
    extracted text; the page's title unless `title` is given, its date in `meta["date"]` unless the
    record has one; sentence offsets index the extracted text (`extracted_sentences`). A one-line
    warning says that markup was taken out."""
    page = extract_html(html)
    text, sentences = extracted_sentences(page.paragraphs)
    if not sentences:
        raise _Skip(UserError("HTML page with no article text: no main text found (only navigation, scripts, styles or empty elements)", where))
    meta = dict(meta or {})
    if page.date is not None:
        meta.setdefault("date", page.date)
    n = len(page.paragraphs)
    found = [f"title {_shorten(page.title)!r}"] if page.title else []
    found += [f"date {page.date}"] if page.date else []
    warnings.warn(
        f"{where}: HTML: took the main text of the page, {n} paragraph{'s' if n != 1 else ''}"
        + (f" ({', '.join(found)})" if found else ""),
        InputWarning,
        stacklevel=2,
    )
    return Article(id=article_id, sentences=sentences, title=title if title is not None else page.title, meta=meta,
                   offsets_into=OFFSETS_EXTRACTED, extracted_text=text)


def extracted_sentences(paragraphs: list[str]) -> tuple[str, list[Sentence]]:
    """(text, sentences) of an HTML page's extracted paragraphs: the text is the paragraphs joined
    with a blank line (PARAGRAPH_SEPARATOR), and each sentence's `start` and `end` index it."""
    sentences: list[Sentence] = []
    at = 0
    for p, para in enumerate(paragraphs):
        sentences.extend(Sentence(text=para[a:b], paragraph=p, start=at + a, end=at + b) for a, b in sentence_spans(para))
        at += len(para) + len(PARAGRAPH_SEPARATOR)
    return PARAGRAPH_SEPARATOR.join(paragraphs), sentences


def _shorten(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1].rstrip() + "…"


def _record_article(line: str, where: str, lineno: int) -> Article:
    """One JSONL record as an Article."""
    def bad(msg: str) -> _Skip:
        return _Skip(UserError(msg, where, lineno))

    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        hint = ""
        if line.lstrip().startswith("<"):
            hint = "; the line looks like HTML: give an HTML page as a .html file, or put it in a JSONL 'text'"
        raise bad(f"not valid JSON ({exc.msg}, column {exc.colno}){hint}") from None
    except RecursionError:
        raise bad("JSON nested too deeply") from None
    return _dict_article(rec, where, lineno)


def _dict_article(rec: Any, where: str, lineno: int) -> Article:
    """One record (a JSONL line's object, a Parquet row) as an Article."""
    def bad(msg: str) -> _Skip:
        return _Skip(UserError(msg, where, lineno))

    if not isinstance(rec, dict):
        raise bad(f"a JSON object is expected, not {type(rec).__name__}")
    if "id" not in rec:
        raise bad("record lacks 'id'")
    rid = rec["id"]
    if isinstance(rid, bool) or not isinstance(rid, (str, int)) or (isinstance(rid, str) and not rid.strip()):
        raise bad(f"'id' must be a non-empty string or an integer, not {rid!r}"[:200])
    rid = str(rid)
    title = rec.get("title")
    if title is not None and not isinstance(title, str):
        raise bad(f"record {rid!r}: 'title' must be a string")
    meta = {k: v for k, v in rec.items() if k not in ("id", "text", "title", "sentences")}

    if "text" in rec:
        text = rec["text"]
        if not isinstance(text, str):
            raise bad(f"record {rid!r}: 'text' must be a string")
        if not text.strip():
            raise bad(f"record {rid!r}: empty article (no text)")
        if looks_like_html(text):
            try:
                return _html_article(text, rid, f"{where}:{lineno}", title=title or None, meta=meta)
            except _Skip as skip:
                raise bad(f"record {rid!r}: {skip.error.message}") from None
        if title is None:
            article = article_from_text(text, rid)
        else:
            article = Article(id=rid, sentences=text_sentences(text), title=title or None, offsets_into=OFFSETS_TEXT)
        article.meta = meta
        return article

    if "sentences" in rec:
        items = rec["sentences"]
        if not isinstance(items, list):
            raise bad(f"record {rid!r}: 'sentences' must be a list")
        sents = []
        for k, item in enumerate(items):
            para = None
            if isinstance(item, dict):
                stext = item.get("text")
                para = item.get("paragraph")
                if para is not None and (isinstance(para, bool) or not isinstance(para, int)):
                    raise bad(f"record {rid!r}: sentence {k}: 'paragraph' must be an integer")
            else:
                stext = item
            if not isinstance(stext, str):
                raise bad(f"record {rid!r}: sentence {k} has no 'text' string")
            if not stext.strip():
                raise bad(f"record {rid!r}: sentence {k} is empty")
            sents.append(Sentence(text=stext.strip(), paragraph=para))
        if not sents:
            raise bad(f"record {rid!r}: empty article (no sentences)")
        article = Article(id=rid, sentences=sents, title=title or None, meta=meta)
        article.set_joined_offsets()
        return article

    raise bad(f"record {rid!r} lacks 'text' (or 'sentences')")


# --- sources --------------------------------------------------------------------------------------


def _iter_jsonl_lines(lines: Iterable[bytes | str], where: str, first_lineno: int = 1) -> Iterator[Article]:
    decode = _Decoder(where)
    records = 0
    for lineno, raw in enumerate(lines, start=first_lineno):
        if isinstance(raw, bytes):
            if b"\x00" in raw:
                raise _binary(where, lineno, raw)
            if lineno == first_lineno:
                err = binary_error(raw, where)  # a PDF, an archive, an image ...
                if err is not None:
                    raise _Skip(err, rest_of_file=True)
            line = decode(raw, lineno)
        else:
            if "\x00" in raw:
                raise _binary(where, lineno)
            line = raw
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        records += 1
        try:
            yield _record_article(line, where, lineno)
        except _Skip as skip:
            yield skip  # a bad line: the next ones are still read
    if records == 0:
        raise _Skip(UserError("empty file (no JSONL records)", where))


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _read_text_file(path: Path, where: str, html: bool = False) -> str:
    """A text file's text; an HTML page (`html`) that is not UTF-8 is read in the encoding its
    markup declares, when it declares one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Skip(UserError(f"cannot read: {exc.strerror or exc}", where)) from None
    declared = decode_declared(data) if html else None
    return declared if declared is not None else _decode_text(data, where)


def _decode_text(data: bytes, where: str) -> str:
    """A whole text file's bytes as text: UTF-8 (or UTF-16 with its byte-order mark), bad bytes
    replaced with a warning; a binary file is a bad record."""
    if data.startswith(_UTF16_BOMS) and len(data) % 2 == 0:
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            pass
        else:
            warnings.warn(f"{where}: UTF-16 text, decoded (UTF-8 is expected)", InputWarning, stacklevel=2)
            return text.lstrip("\ufeff")
    err = binary_error(data, where, whole=True)
    if err is not None:
        raise _Skip(err, rest_of_file=True)
    text = _Decoder(where)(data)
    return text.lstrip("\ufeff")


def _table_source(path: Path, where: str, skip_rows: bool) -> Iterator[Article | _Skip]:
    """The articles of a CSV/TSV file (one sentence per row, `article_id` and `text` columns), as
    `newsroles.training.data.readers` reads them; labels in it are ignored. Under skip_bad a bad row is
    a bad record of its own; a bad header or an unreadable file ends the file."""
    pending: list[UserError] = []
    try:
        for article in iter_articles(path, on_bad_row=pending.append if skip_rows else None):
            yield from (_Skip(e) for e in pending)
            pending.clear()
            for s in article.sentences:
                s.label = None
            article.set_joined_offsets()
            yield article
        yield from (_Skip(e) for e in pending)
    except UserError as err:
        raise _Skip(err, rest_of_file=True) from None


def _parquet_source(uri: str, start: int = 0, stop: int | None = None) -> Iterator[Article | _Skip]:
    """The articles of rows `start` to `stop` of a Parquet file (see `newsroles.inference.io.parquet`);
    a null cell counts as an absent field. Errors name the file and the row (1-based)."""
    try:
        rows = iter_rows(uri, start, stop)
        for n, row in enumerate(rows, start=start + 1):
            try:
                yield _dict_article({k: v for k, v in row.items() if v is not None}, f"{uri}, row {n}", None)
            except _Skip as skip:
                yield skip
    except READ_ERRORS as exc:
        raise _Skip(UserError(f"cannot read as Parquet: {exc}", uri), rest_of_file=True) from None


def _is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in JSONL_SUFFIXES


def _dir_files(root: Path) -> Iterator[Path]:
    """Input files under `root`, recursively, in sorted path order; hidden entries (a leading '.')
    are passed over, and symbolic links to folders are not followed."""
    try:
        with os.scandir(root) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        raise UserError(f"cannot read directory: {exc.strerror or exc}", root) from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _dir_files(Path(entry.path))
        elif os.path.splitext(entry.name)[1].lower() in DIR_SUFFIXES and entry.is_file():
            yield Path(entry.path)


def _dir_has_inputs(root: Path) -> bool:
    return next(_dir_files(root), None) is not None


class _Peeked:
    """A line iterator over a text or binary stream, with the lines read while sniffing put back."""

    def __init__(self, stream: IO):
        self.stream = stream
        self.head: list[bytes | str] = []

    def sniff_json(self) -> bool:
        """Read lines until a non-blank one; whether it starts with '{'."""
        for line in self.stream:
            self.head.append(line)
            s = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
            s = s.lstrip("\ufeff").strip()
            if s:
                return s.startswith("{")
        return False

    def __iter__(self) -> Iterator[bytes | str]:
        yield from self.head
        self.head = []
        yield from self.stream


# --- the public API -------------------------------------------------------------------------------


class LabelInputs:
    """The articles of the inputs, streamed; `.skipped` lists the records left out (skip_bad)."""

    def __init__(self, paths: list[str], stdin: IO | None = None, skip_bad: bool = False):
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        self.paths = [os.fspath(p) for p in paths]
        self.stdin = stdin
        self.skip_bad = skip_bad
        self.skipped: list[str] = []
        self.count = 0  # articles yielded so far
        self._gen: Iterator[Article] | None = None
        self._check_paths()

    def _check_paths(self) -> None:
        if not self.paths:
            raise UserError("no input given (a file, a folder, or '-' for stdin)")
        if self.paths.count(STDIN) > 1:
            raise UserError("stdin ('-') can be read only once")
        for p in self.paths:
            if p == STDIN:
                continue
            path = Path(p)
            if not path.exists():
                raise UserError("no such file or directory", p)
            if path.is_dir() and not _dir_has_inputs(path):
                raise UserError(f"directory holds no inputs ({', '.join('*' + s for s in DIR_SUFFIXES)})", p)

    def __iter__(self) -> Iterator[Article]:
        if self._gen is None:
            self._gen = self._articles()
        return self

    def __next__(self) -> Article:
        if self._gen is None:
            self._gen = self._articles()
        article = next(self._gen)
        self.count += 1
        return article

    # Each source runs under _guard. A source yields Articles, or a _Skip for a bad record and goes
    # on; a _Skip it raises ends that source (a binary or unreadable file). Either way the _Skip
    # raises its UserError, or under skip_bad is recorded in .skipped.
    def _guard(self, source: Iterator[Article | _Skip]) -> Iterator[Article]:
        while True:
            try:
                item = next(source)
            except StopIteration:
                return
            except _Skip as skip:
                self._bad(skip)
                return
            if isinstance(item, _Skip):
                self._bad(item)
                continue
            yield item

    def _bad(self, skip: _Skip) -> None:
        if not self.skip_bad:
            raise skip.error from None
        self.skipped.append(str(skip.error))

    def _articles(self) -> Iterator[Article]:
        for p in self.paths:
            if p == STDIN:
                yield from self._stdin()
                continue
            path = Path(p)
            if path.is_dir():
                for f in _dir_files(path):
                    rel = f.relative_to(path).with_suffix("").as_posix()
                    yield from self._file(f, article_id=rel)
            else:
                yield from self._file(path, article_id=path.stem)

    def _file(self, path: Path, article_id: str) -> Iterator[Article]:
        where = str(path)
        if _is_jsonl(path):
            try:
                fh = open(path, "rb")
            except OSError as exc:
                self._bad(_Skip(UserError(f"cannot read: {exc.strerror or exc}", where)))
                return
            with fh:
                yield from self._guard(_iter_jsonl_lines(fh, where))
        elif path.suffix.lower() in PARQUET_SUFFIXES:
            yield from self._guard(_parquet_source(where))
        elif path.suffix.lower() in TABLE_SUFFIXES:
            yield from self._guard(_table_source(path, where, self.skip_bad))
        else:
            html, markdown = path.suffix.lower() in HTML_SUFFIXES, path.suffix.lower() == ".md"
            yield from self._guard(
                _one(lambda: _text_article(_read_text_file(path, where, html), article_id, where, html, markdown))
            )

    def _stdin(self) -> Iterator[Article]:
        stream = self.stdin if self.stdin is not None else sys.stdin
        if stream is None:
            raise UserError("stdin is not available", STDIN)
        # Real stdin: read its bytes, so that bad UTF-8 is replaced with a warning, not a crash.
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream = buffer
        peek = _Peeked(stream)
        if peek.sniff_json():
            yield from self._guard(_iter_jsonl_lines(peek, "<stdin>"))
        else:
            def read() -> Article:
                chunks = list(peek)
                if chunks and isinstance(chunks[0], bytes):
                    text = _decode_text(b"".join(chunks), "<stdin>")
                else:
                    text = "".join(chunks)
                    if "\x00" in text:
                        raise _binary("<stdin>")
                return _text_article(text.lstrip("\ufeff"), STDIN_ID, "<stdin>")

            yield from self._guard(_one(read))


class RangeInputs(LabelInputs):
    """The articles of one part of a JSONL or Parquet file (a shard of an archive run), read with
    the same parsing and checks as a whole file; `.skipped` as for `LabelInputs`."""

    def __init__(self, source: Iterator[Article | _Skip], skip_bad: bool = False):
        self.paths, self.stdin, self.skip_bad = [], None, skip_bad
        self.skipped, self.count, self._gen = [], 0, None
        self._source = source

    def _articles(self) -> Iterator[Article]:
        yield from self._guard(self._source)


def jsonl_range(data: bytes, where: str, first_lineno: int, skip_bad: bool = False) -> RangeInputs:
    """The articles of `data`, whole lines of the JSONL file `where` starting at line `first_lineno`."""
    return RangeInputs(_iter_jsonl_lines(io.BytesIO(data), where, first_lineno), skip_bad)


def parquet_range(uri: str, start: int, stop: int, skip_bad: bool = False) -> RangeInputs:
    """The articles of rows `start` to `stop` (0-based, end excluded) of the Parquet file `uri`."""
    return RangeInputs(_parquet_source(uri, start, stop), skip_bad)


def _one(make) -> Iterator[Article]:
    yield make()


def iter_label_inputs(
    paths: list[str], stdin: IO | None = None, skip_bad: bool = False
) -> LabelInputs:
    """Stream the Articles of `paths` (files, folders, JSONL, '-' for stdin); see the module doc.

    Returns a `LabelInputs`: an iterator of Articles whose `.skipped` lists what `skip_bad` left out.
    A missing path, a folder with no inputs, or '-' given twice raises `UserError` at once.
    `stdin` defaults to `sys.stdin` as it is at iteration time.
    """
    return LabelInputs(paths, stdin=stdin, skip_bad=skip_bad)
