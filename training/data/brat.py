"""Convert the NewsDiscourse corpus (brat standoff) into newsroles JSONL.

Each article is a pair ``NAME.txt`` + ``NAME.ann``:

* ``NAME.txt``: ``URL ...``, ``DATE/ AUTHOR <date>\\tAUTHORS: ...``, ``H  headline`` and sentences as
  ``S<n>  text`` (one or more spaces after the id); blank lines separate paragraphs.
* ``NAME.ann``: ``T<k>\\t<Label> <start> <end>\\tS<n>`` gives sentence ``S<n>`` a corpus label (the
  offsets are ignored); ``E<k>`` lines repeat the T lines and are skipped. Known quirks handled:
  T lines without the ``S`` before the sentence number, trailing spaces, CRLF line ends.

A sentence's corpus labels become `Sentence.source_labels` (content type first, ``Speech`` last) and
the label mapping (configs/mappings/*.yaml) turns them into `Sentence.label` (None for ``NA``: kept
as context, left out of training and scoring).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.labels import LabelMapping, load_mapping
from newsroles.model.text.textio import Decoder, binary_error

# Sub-folders that make a source folder "split": each becomes its own JSONL file.
SPLIT_NAMES = ("train", "validation", "test")
SPEECH = "Speech"
log = logging.getLogger(__name__)

_S_LINE = re.compile(r"^S(\d+)(?:\s+(.*))?$")
_H_LINE = re.compile(r"^H(?:\s+(.*))?$")
_URL_LINE = re.compile(r"^URL(?:\s+(.*))?$")
_DATE_LINE = re.compile(r"^DATE/\s*AUTHOR(?:\s+(.*))?$")
_T_TARGET = re.compile(r"^S(\d+)$")


# ---------------------------------------------------------------------------------------------
# Reading one article


def decode_file(path: Path) -> str:
    """The whole file decoded as UTF-8 (a leading BOM dropped); a binary file is an error, other
    bytes that are not UTF-8 are replaced with a warning naming the line of the first."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read file ({exc.strerror})", path) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    err = binary_error(data, str(path), whole=True)
    if err is not None:
        raise err
    # Bytes that are not UTF-8 are replaced, with a warning naming the line of the first.
    return Decoder(str(path))(data)


def _decode(path: Path) -> list[tuple[str, int]]:
    """The file's lines (no line ends), decoded as UTF-8; a binary file is an error."""
    text = decode_file(path)
    # Split on \n only: str.splitlines would also split on \x0b, \x1c, U+2028 ... and shift line numbers.
    # Each line comes with its length in characters including its line end, to follow brat offsets.
    return [(line.rstrip("\r"), len(line) + 1) for line in text.split("\n")]


@dataclass
class _TxtSentence:
    number: int
    text: str
    paragraph: int
    line: int
    start: int  # character offsets of the whole `S<n> text` line in the file, as brat counts them
    end: int


@dataclass(frozen=True)
class BratWarning:
    """Something odd but harmless in the corpus, with where it is."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


def _parse_txt(path: Path) -> tuple[str | None, dict[str, str], list[_TxtSentence]]:
    title: str | None = None
    meta: dict[str, str] = {}
    sentences: list[_TxtSentence] = []
    by_number: dict[int, int] = {}
    paragraph = -1
    in_paragraph = False
    offset = 0
    for lineno, (raw, size) in enumerate(_decode(path), start=1):
        line_start, offset = offset, offset + size
        line = raw.strip()
        if not line:
            in_paragraph = False
            continue
        m = _S_LINE.match(line)
        if m:
            number = int(m.group(1))
            text = (m.group(2) or "").strip()
            if not text:
                raise UserError(f"sentence S{number} has no text", path, lineno)
            if number in by_number:
                raise UserError(f"sentence S{number} appears twice (first on line {by_number[number]})", path, lineno)
            if not in_paragraph:
                paragraph += 1
                in_paragraph = True
            by_number[number] = lineno
            sentences.append(_TxtSentence(number, text, paragraph, lineno, line_start, line_start + len(raw)))
            continue
        in_paragraph = False  # a header line also ends a paragraph
        if m := _H_LINE.match(line):
            title = (m.group(1) or "").strip() or None
        elif m := _URL_LINE.match(line):
            if m.group(1) and m.group(1).strip():
                meta["url"] = m.group(1).strip()
        elif m := _DATE_LINE.match(line):
            date, _, authors = (m.group(1) or "").partition("\t")
            date = date.strip()
            authors = authors.strip()
            if authors.upper().startswith("AUTHORS:"):
                authors = authors[len("AUTHORS:"):].strip()
            if date and date != "None":
                meta["date"] = date
            if authors:
                meta["authors"] = authors
        else:
            shown = line if len(line) <= 40 else line[:40] + "..."
            hint = " (the file looks like HTML, not a NewsDiscourse brat .txt)" if line.startswith("<") else ""
            raise UserError(
                f"unexpected line {shown!r}: expected 'S<n> sentence', 'H headline', 'URL ...', "
                f"'DATE/ AUTHOR ...' or a blank line{hint}",
                path,
                lineno,
            )
    if not sentences:
        raise UserError("article has no sentences (no 'S<n> ...' lines)", path)
    return title, meta, sentences


def _parse_ann(
    path: Path, sentences: list[_TxtSentence], txt_name: str, warn: Callable[[BratWarning], None]
) -> dict[int, list[tuple[str, int]]]:
    """Sentence number -> [(corpus label, line)], in file order, each label once."""
    numbers = {s.number for s in sentences}
    found: dict[int, list[tuple[str, int]]] = {}
    for lineno, (raw, _) in enumerate(_decode(path), start=1):
        line = raw.strip()
        if not line or line[0] in "E#AMNR*":  # E repeats its T; other brat records carry nothing we use
            continue
        if line[0] != "T":
            raise UserError(f"unexpected annotation line '{line[:40]}': expected 'T<k>\\t<Label> ...'", path, lineno)
        parts = [p.strip() for p in line.split("\t")]
        fields = parts[1].split() if len(parts) >= 2 else []
        if len(parts) < 3 or not fields or not parts[2]:
            raise UserError(
                f"cannot read annotation '{line[:60]}': expected 'T<k><TAB><Label> <start> <end><TAB>S<n>'",
                path,
                lineno,
            )
        label, target = fields[0], parts[2]
        m = _T_TARGET.match(target)
        if m is None:
            warn(_stray_annotation(path, lineno, parts[0], label, target, fields, sentences))
            continue
        number = int(m.group(1))
        if number not in numbers:
            raise UserError(
                f"annotation {parts[0]} ({label}) refers to sentence S{number}, which {txt_name} does not have",
                path,
                lineno,
            )
        entries = found.setdefault(number, [])
        if label not in (x for x, _ in entries):
            entries.append((label, lineno))
    return found


def _stray_annotation(
    path: Path, lineno: int, tid: str, label: str, target: str, fields: list[str], sentences: list[_TxtSentence]
) -> BratWarning:
    """A T line whose covered text is not a sentence id (e.g. `11` instead of `S11`).

    brat's third column is the text the annotator selected; the corpus marks a sentence by selecting
    its `S<n>` id. A bare number is a stray selection (its offsets fall inside some other text), and
    the corpus authors' own reader never matches it to a sentence, so it is ignored: this keeps the
    labels identical to the published ones (the README's counts).
    """
    where = ""
    if len(fields) >= 3 and fields[1].isdigit():
        start = int(fields[1])
        hit = next((s for s in sentences if s.start <= start < s.end), None)
        if hit is not None:
            where = f"; its offsets fall in the line of S{hit.number}"
    return BratWarning(
        str(path),
        lineno,
        f"annotation {tid} ({label}) covers '{target}', not a sentence id S<n>: ignored{where}",
    )


def read_brat_article(
    txt: Path,
    article_id: str,
    mapping: LabelMapping,
    domain: str | None = None,
    on_warning: Callable[[BratWarning], None] | None = None,
) -> Article:
    """One article from `NAME.txt` and the `NAME.ann` beside it."""
    ann = txt.with_suffix(".ann")
    if not ann.is_file():
        raise UserError(f"no annotation file {ann.name} beside it", txt)
    title, meta, txt_sentences = _parse_txt(txt)
    pending: list[BratWarning] = []
    annotations = _parse_ann(ann, txt_sentences, txt.name, pending.append)
    sentences = []
    for s in txt_sentences:
        entries = annotations.get(s.number)
        if not entries:
            raise UserError(f"sentence S{s.number} has no label in {ann.name}", txt, s.line)
        # Content type(s) first, Speech last, so source_labels read e.g. ["Distant_Evaluation", "Speech"].
        entries = sorted(entries, key=lambda e: e[0] == SPEECH)
        source_labels = [lab for lab, _ in entries]
        try:
            label = mapping.map(source_labels)
        except UserError:
            raise UserError(
                f"no rule in label mapping '{mapping.name}' ({mapping.source}) covers the label(s) "
                f"{source_labels} of sentence S{s.number}",
                ann,
                entries[0][1],
            ) from None
        sentences.append(Sentence(text=s.text, label=label, source_labels=source_labels, paragraph=s.paragraph))
    # Warnings only for an article that converts: a skipped one is reported as skipped.
    for w in pending:
        if on_warning is not None:
            on_warning(w)
        else:
            log.warning("%s", w)
    full_meta: dict[str, Any] = {}
    if domain:
        full_meta["domain"] = domain
    full_meta.update(meta)
    return Article(id=article_id, sentences=sentences, title=title, meta=full_meta)


# ---------------------------------------------------------------------------------------------
# Folders


def _visible(rel: Path) -> bool:
    return not any(part.startswith(".") for part in rel.parts)


def iter_brat_articles(
    folder: str | Path,
    mapping: LabelMapping,
    on_error: Callable[[Path, UserError], None] | None = None,
    on_warning: Callable[[BratWarning], None] | None = None,
) -> Iterator[Article]:
    """Every article under `folder` (recursively, sorted by path).

    The article id is the path relative to `folder` without its suffix (``Business/Reuters_22``);
    meta holds the domain (the sub-folder, when there is one), url, date and authors.
    A bad article raises its UserError, unless `on_error` is given: then it is called with the
    article's .txt (or orphan .ann) path and the error, and the article is skipped.
    Harmless oddities (a T line that marks no sentence) go to `on_warning`, or to the log.
    """
    folder = Path(folder)
    if not folder.exists():
        raise UserError("brat folder not found", folder)
    if not folder.is_dir():
        raise UserError("not a folder; give the folder that holds the .txt/.ann pairs", folder)
    txts = sorted(
        (p for p in folder.rglob("*.txt") if _visible(p.relative_to(folder)) and p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    orphans = sorted(
        p
        for p in folder.rglob("*.ann")
        if _visible(p.relative_to(folder)) and not p.with_suffix(".txt").exists()
    )
    if not txts and not orphans:
        raise UserError("no brat articles (.txt + .ann pairs) in folder", folder)
    for ann in orphans:
        err = UserError(f"annotation file without its text {ann.with_suffix('.txt').name}", ann)
        if on_error is None:
            raise err
        on_error(ann, err)
    for txt in txts:
        rel = txt.relative_to(folder).with_suffix("")
        domain = rel.parent.as_posix() if rel.parent != Path(".") else None
        try:
            article = read_brat_article(txt, rel.as_posix(), mapping, domain, on_warning)
        except UserError as err:
            if on_error is None:
                raise
            on_error(txt, err)
            continue
        yield article


# ---------------------------------------------------------------------------------------------
# Conversion


@dataclass
class SkippedArticle:
    path: str
    reason: str


@dataclass
class SplitReport:
    name: str | None  # the split folder's name; None when the whole source went into one file
    output: str
    articles: int = 0
    sentences: int = 0
    unlabeled: int = 0  # sentences the mapping leaves out (label None, e.g. NA)
    labels: Counter = field(default_factory=Counter)
    source_labels: Counter = field(default_factory=Counter)
    skipped: list[SkippedArticle] = field(default_factory=list)
    warnings: list[BratWarning] = field(default_factory=list)

    def add(self, article: Article) -> None:
        self.articles += 1
        for s in article.sentences:
            self.sentences += 1
            if s.label is None:
                self.unlabeled += 1
            else:
                self.labels[s.label] += 1
            self.source_labels.update(s.source_labels)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "output": self.output,
            "articles": self.articles,
            "sentences": self.sentences,
            "labeled": self.sentences - self.unlabeled,
            "unlabeled": self.unlabeled,
            "labels": dict(self.labels),
            "source_labels": dict(sorted(self.source_labels.items())),
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.skipped],
            "warnings": [str(w) for w in self.warnings],
        }


@dataclass
class ConvertReport:
    source: str
    mapping: str
    labels: tuple[str, ...]
    splits: list[SplitReport]
    # Corpus labels that no rule of the mapping names (e.g. Speech under content-types): ignored.
    ignored_source_labels: dict[str, int] = field(default_factory=dict)

    @property
    def articles(self) -> int:
        return sum(s.articles for s in self.splits)

    @property
    def sentences(self) -> int:
        return sum(s.sentences for s in self.splits)

    @property
    def skipped(self) -> list[SkippedArticle]:
        return [k for s in self.splits for k in s.skipped]

    @property
    def warnings(self) -> list[BratWarning]:
        return [w for s in self.splits for w in s.warnings]

    def split(self, name: str | None) -> SplitReport:
        for s in self.splits:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mapping": self.mapping,
            "labels": list(self.labels),
            "articles": self.articles,
            "sentences": self.sentences,
            "skipped": len(self.skipped),
            "warnings": len(self.warnings),
            "ignored_source_labels": self.ignored_source_labels,
            "splits": [s.to_dict() for s in self.splits],
        }


def find_splits(src: Path) -> list[str]:
    """The split sub-folders of `src` (train, validation, test) when it has train/ and validation/."""
    present = [name for name in SPLIT_NAMES if (src / name).is_dir()]
    return present if {"train", "validation"} <= set(present) else []


def convert_brat(
    src: str | Path,
    dest: str | Path,
    mapping_name_or_path: str | Path = "roles",
    skip_bad: bool = False,
) -> ConvertReport:
    """Convert a brat folder into newsroles JSONL, written atomically.

    If `src` holds `train/` and `validation/` (and maybe `test/`) and `dest` is a folder (an existing
    one, or a path without the .jsonl suffix), each split goes to `dest/<split>.jsonl` with ids
    relative to its split folder. Otherwise every article under `src` goes to the one file `dest`
    (into `dest/<src name>.jsonl` when `dest` is an existing folder).
    With `skip_bad`, a bad article is skipped and listed in the report instead of stopping the run;
    nothing is written unless every output completes.
    """
    src = Path(src)
    dest = Path(dest)
    mapping = load_mapping(mapping_name_or_path)
    if not src.exists():
        raise UserError("brat folder not found", src)
    if not src.is_dir():
        raise UserError("not a folder; give the folder that holds the .txt/.ann pairs", src)
    if dest.exists() and not dest.is_dir() and dest.suffix.lower() != ".jsonl":
        raise UserError("output must be a .jsonl file or a folder", dest)

    dest_is_dir = dest.is_dir() or (not dest.exists() and dest.suffix.lower() != ".jsonl")
    splits = find_splits(src)
    if splits and dest_is_dir:
        jobs = [(name, src / name, dest / f"{name}.jsonl") for name in splits]
    elif dest.is_dir():
        jobs = [(None, src, dest / f"{src.resolve().name}.jsonl")]
    elif dest.suffix.lower() == ".jsonl":
        jobs = [(None, src, dest)]
    else:
        raise UserError(
            f"{src} has no train/ and validation/ sub-folders, so the output must be a .jsonl file", dest
        )

    named = set().union(*(rule.when for rule in mapping.rules)) if mapping.rules else set()
    reports = []
    with contextlib.ExitStack() as stack:
        # All outputs are temporary files until every split has been converted.
        for name, folder, out in jobs:
            report = SplitReport(name=name, output=str(out))
            reports.append(report)

            def on_error(path: Path, err: UserError, _report: SplitReport = report) -> None:
                _report.skipped.append(SkippedArticle(path=str(path), reason=str(err)))

            articles = iter_brat_articles(folder, mapping, on_error if skip_bad else None, report.warnings.append)
            fh = stack.enter_context(atomic_file(out))
            for article in articles:
                fh.write(json.dumps(article.to_dict(), ensure_ascii=False) + "\n")
                report.add(article)
            if report.articles == 0:
                raise UserError("no article could be converted (all were skipped)", folder)

    ignored: Counter = Counter()
    for r in reports:
        for lab, n in r.source_labels.items():
            if lab not in named:
                ignored[lab] += n
    return ConvertReport(
        source=str(src),
        mapping=mapping.name,
        labels=mapping.labels,
        splits=reports,
        ignored_source_labels=dict(sorted(ignored.items())),
    )
