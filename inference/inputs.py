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
- a directory: every `*.txt`, `*.text`, `*.md`, `*.jsonl` inside, recursively, in sorted path order
  (hidden files and folders are passed over); the id of a text file there is its path relative to
  the directory, without the suffix (`2019/story`);
- `-`: stdin, one plain-text article with id `stdin`, or JSONL when its first non-space character
  is `{`.

Problems a user can fix raise `UserError` naming the file (and line): a missing path, a directory
without inputs, a JSONL line that is not a JSON object or lacks `id` / `text`, an empty article, a
binary file. With `skip_bad=True` the bad records (and binary files) are skipped and described in
`.skipped` instead; a missing path or an empty directory still raises. Bytes that are not UTF-8 are
replaced (U+FFFD) with a warning (`InputWarning`) naming the file.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from newsroles.inference.splitter import article_from_text, split_article
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError

__all__ = ["InputWarning", "LabelInputs", "iter_label_inputs", "TEXT_SUFFIXES", "JSONL_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".text", ".md")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
# What a directory contributes (the brief: *.txt, *.text, *.md, *.jsonl).
DIR_SUFFIXES = TEXT_SUFFIXES + (".jsonl",)
STDIN = "-"
STDIN_ID = "stdin"


class InputWarning(UserWarning):
    """Input that was read, but not as written (undecodable bytes replaced)."""


class _Skip(Exception):
    """A bad record: raised as UserError, or recorded and skipped under skip_bad."""

    def __init__(self, error: UserError, rest_of_file: bool = False):
        self.error = error
        self.rest_of_file = rest_of_file  # a binary file: nothing more to read from it
        super().__init__(str(error))


# --- decoding -------------------------------------------------------------------------------------


class _Decoder:
    """UTF-8 decoding that replaces bad bytes and warns once per file."""

    def __init__(self, where: str):
        self.where = where
        self.warned = False

    def __call__(self, data: bytes, line: int | None = None) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if not self.warned:
                self.warned = True
                at = f"{self.where}:{line}" if line is not None else self.where
                warnings.warn(
                    f"{at}: not valid UTF-8 (byte {exc.start}); undecodable bytes replaced with U+FFFD",
                    InputWarning,
                    stacklevel=2,
                )
            return data.decode("utf-8", errors="replace")


def _binary(where: str, line: int | None = None) -> _Skip:
    return _Skip(UserError("binary file (NUL bytes), not text", where, line), rest_of_file=True)


# --- records --------------------------------------------------------------------------------------


def _text_article(text: str, article_id: str, where: str) -> Article:
    if not text.strip():
        raise _Skip(UserError("empty article (no text)", where))
    return article_from_text(text, article_id)


def _record_article(line: str, where: str, lineno: int) -> Article:
    """One JSONL record as an Article."""
    def bad(msg: str) -> _Skip:
        return _Skip(UserError(msg, where, lineno))

    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise bad(f"not valid JSON ({exc.msg}, column {exc.colno})") from None
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
        if title is None:
            article = article_from_text(text, rid)
        else:
            sents = [Sentence(text=s, paragraph=p) for p, s in split_article(text)]
            article = Article(id=rid, sentences=sents, title=title or None)
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
        return Article(id=rid, sentences=sents, title=title or None, meta=meta)

    raise bad(f"record {rid!r} lacks 'text' (or 'sentences')")


# --- sources --------------------------------------------------------------------------------------


def _iter_jsonl_lines(lines: Iterable[bytes | str], where: str, first_lineno: int = 1) -> Iterator[Article]:
    decode = _Decoder(where)
    for lineno, raw in enumerate(lines, start=first_lineno):
        if isinstance(raw, bytes):
            if b"\x00" in raw:
                raise _binary(where, lineno)
            line = decode(raw, lineno)
        else:
            if "\x00" in raw:
                raise _binary(where, lineno)
            line = raw
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            continue
        try:
            yield _record_article(line, where, lineno)
        except _Skip as skip:
            yield skip  # a bad line: the next ones are still read


def _read_text_file(path: Path, where: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _Skip(UserError(f"cannot read: {exc.strerror or exc}", where)) from None
    if b"\x00" in data:
        raise _binary(where)
    text = _Decoder(where)(data)
    return text.lstrip("\ufeff")


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
        else:
            yield from self._guard(_one(lambda: _text_article(_read_text_file(path, where), article_id, where)))

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
                    data = b"".join(chunks)
                    if b"\x00" in data:
                        raise _binary("<stdin>")
                    text = _Decoder("<stdin>")(data)
                else:
                    text = "".join(chunks)
                    if "\x00" in text:
                        raise _binary("<stdin>")
                return _text_article(text.lstrip("\ufeff"), STDIN_ID, "<stdin>")

            yield from self._guard(_one(read))


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
