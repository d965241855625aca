"""An archive run's shards, as plain functions (no Ray): the plan, the files, resume.

The input (JSONL and Parquet files, local paths or object-store URIs pyarrow understands) is cut
into shards of `shard_size` articles by input order, so the same input and size always give the
same shards. Shard `k` is written to `OUT/shard-0000k.jsonl` (or `.parquet`) through a temporary
file renamed into place, then marked done by `OUT/shard-0000k.done` (its counts, JSON). A rerun
labels only the shards without a marker: a worker killed mid-shard leaves no marker, so that shard
is labeled again from its start, and a shard labeled twice (a task retried after its marker was
written) is found done and not rewritten. `OUT/_manifest.json` holds what the shards were cut from,
so a rerun with other inputs or settings is refused instead of mixing two runs; `OUT/_SUCCESS`
appears when every shard is done.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from newsroles.inference.io.inputs import JSONL_SUFFIXES, jsonl_range, parquet_range
from newsroles.inference.io.parquet import PARQUET_SUFFIXES, READ_ERRORS, open_input, row_count
from newsroles.inference.io.writers import ArticleWriter
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

SHARD_FORMATS = {"jsonl": ".jsonl", "parquet": ".parquet"}
MANIFEST = "_manifest.json"
SUCCESS = "_SUCCESS"
_SCAN_CHUNK = 1 << 20


@dataclass(frozen=True)
class Piece:
    """Consecutive records of one input file: JSONL bytes `start`..`stop` beginning at line
    `first_line`, or Parquet rows `start`..`stop` (0-based, end excluded)."""

    uri: str
    kind: str  # "jsonl" or "parquet"
    start: int
    stop: int
    first_line: int = 0


@dataclass(frozen=True)
class Shard:
    index: int
    records: int
    pieces: tuple[Piece, ...]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Shard":
        d = json.loads(text)
        return cls(d["index"], d["records"], tuple(Piece(**p) for p in d["pieces"]))


# --- the plan -------------------------------------------------------------------------------------


def input_files(inputs: Iterable[str]) -> list[tuple[str, str]]:
    """(uri, kind) of every input file, in the order given; a local folder gives its JSONL and
    Parquet files in sorted path order. Other inputs (text, CSV, stdin) are for the local engine."""
    files = []
    for item in inputs:
        item = os.fspath(item)
        local = "://" not in item
        if local and not Path(item).exists():
            raise UserError("no such file or directory", item)
        if local and Path(item).is_dir():
            found = sorted(
                p for p in Path(item).rglob("*")
                if p.is_file() and _kind(p.name) and not any(part.startswith(".") for part in p.relative_to(item).parts)
            )
            if not found:
                raise UserError("directory holds no JSONL or Parquet files", item)
            files.extend((str(p), _kind(p.name)) for p in found)
            continue
        kind = _kind(item)
        if kind is None and not local:
            found = _store_folder(item)
            if found:
                files.extend(found)
                continue
        if kind is None:
            raise UserError("the ray engine reads JSONL (.jsonl) or Parquet (.parquet) files, or folders of them", item)
        files.append((item, kind))
    if not files:
        raise UserError("no input given (JSONL or Parquet files, or folders of them)")
    return files


def _store_folder(uri: str) -> list[tuple[str, str]]:
    """The JSONL and Parquet files under an object-store prefix, in sorted order ([] when none)."""
    from pyarrow import fs

    try:
        filesystem, path = fs.FileSystem.from_uri(uri)
        infos = filesystem.get_file_info(fs.FileSelector(path.rstrip("/"), recursive=True, allow_not_found=True))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot list: {exc}", uri) from None
    scheme = uri.split("://", 1)[0]
    return sorted(
        (f"{scheme}://{info.path}", _kind(info.path))
        for info in infos
        if info.type == fs.FileType.File and _kind(info.path) and not os.path.basename(info.path).startswith(".")
    )


def _kind(name: str) -> str | None:
    suffix = os.path.splitext(name)[1].lower()
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    return None


def plan_shards(files: list[tuple[str, str]], shard_size: int) -> list[Shard]:
    """Cut the records of `files` into shards of `shard_size` by input order. Reads JSONL files
    once to find where records begin (no parsing) and only the footers of Parquet files."""
    if shard_size < 1:
        raise UserError(f"shard size must be at least 1, not {shard_size}")
    shards: list[Shard] = []
    pieces: list[Piece] = []
    count = 0

    def close_shard() -> None:
        nonlocal pieces, count
        if count:
            shards.append(Shard(len(shards), count, tuple(pieces)))
        pieces, count = [], 0

    for uri, kind in files:
        if kind == "parquet":
            try:
                rows = row_count(uri)
            except READ_ERRORS as exc:
                raise UserError(f"cannot read as Parquet: {exc}", uri) from None
            if rows == 0:
                raise UserError("empty file (no Parquet rows)", uri)
            row = 0
            while row < rows:
                take = min(shard_size - count, rows - row)
                pieces.append(Piece(uri, kind, row, row + take))
                row, count = row + take, count + take
                if count == shard_size:
                    close_shard()
            continue
        starts = list(jsonl_record_starts(uri))
        if len(starts) == 1:
            raise UserError("empty file (no JSONL records)", uri)
        i = 0
        while i < len(starts) - 1:
            take = min(shard_size - count, len(starts) - 1 - i)
            (begin, line), (end, _) = starts[i], starts[i + take]
            pieces.append(Piece(uri, kind, begin, end, line))
            i, count = i + take, count + take
            if count == shard_size:
                close_shard()
    close_shard()
    return shards


def jsonl_record_starts(uri: str) -> Iterator[tuple[int, int]]:
    """(byte offset, line number) of every non-blank line of a JSONL file, then (file size, -1)."""
    try:
        fh = open_input(uri)
    except OSError as exc:
        raise UserError(f"cannot read: {exc}", uri) from None
    with fh:
        offset, line, carry = 0, 1, b""
        while True:
            chunk = fh.read(_SCAN_CHUNK)
            if not chunk:
                break
            data = carry + chunk
            lines = data.split(b"\n")
            carry = lines.pop()  # unfinished: wait for the next chunk
            for raw in lines:
                if raw.strip():
                    yield offset, line
                offset, line = offset + len(raw) + 1, line + 1
        if carry.strip():
            yield offset, line
        yield offset + len(carry), -1


# --- the output folder ----------------------------------------------------------------------------


def shard_path(out: Path, index: int, fmt: str) -> Path:
    return Path(out) / f"shard-{index:05d}{SHARD_FORMATS[fmt]}"


def marker_path(out: Path, index: int) -> Path:
    return Path(out) / f"shard-{index:05d}.done"


def check_manifest(out: Path, manifest: dict) -> None:
    """Write `OUT/_manifest.json` on a first run; on a rerun, refuse another run's folder."""
    path = Path(out) / MANIFEST
    if path.exists():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old != manifest:
            changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
            raise UserError(
                f"holds a run with other settings ({', '.join(changed)}); resume it with the same ones, or use a new folder",
                out,
            )
        return
    if Path(out).exists() and any(Path(out).glob("shard-*")):
        raise UserError("holds shards but no _manifest.json; use a new folder", out)
    with atomic_file(path) as fh:
        json.dump(manifest, fh, indent=2)


def read_marker(out: Path, index: int, fmt: str) -> dict | None:
    """The counts of a finished shard; None when it is not done (no marker, or its file is gone)."""
    marker = marker_path(out, index)
    if not marker.exists() or not shard_path(out, index, fmt).exists():
        return None
    return json.loads(marker.read_text(encoding="utf-8"))


def pending_shards(out: Path, shards: list[Shard], fmt: str) -> list[Shard]:
    return [s for s in shards if read_marker(out, s.index, fmt) is None]


def shard_articles(shard: Shard, skip_bad: bool = False):
    """The articles of a shard, parsed as `newsroles label` parses whole files: one iterator of
    articles per piece, each with the `.skipped` messages of its bad records (skip_bad)."""
    for piece in shard.pieces:
        if piece.kind == "parquet":
            yield parquet_range(piece.uri, piece.start, piece.stop, skip_bad)
        else:
            with open_input(piece.uri) as fh:
                fh.seek(piece.start)
                data = fh.read(piece.stop - piece.start)
            yield jsonl_range(data, piece.uri, piece.first_line, skip_bad)


def label_shard(
    labeler,
    shard: Shard,
    out: Path,
    fmt: str,
    batch_size: int | None = None,
    skip_bad: bool = False,
    after_write: Callable[[int], None] | None = None,
) -> dict:
    """Label one shard and write it (atomically), then its marker; returns the marker's counts.

    A shard already marked done is not labeled again (a retried task). `after_write(n)` is called
    after each article written (n so far): fault injection for the tests of retries.
    """
    done = read_marker(out, shard.index, fmt)
    if done is not None:
        return done
    started = time.perf_counter()
    _clear_unfinished(out, shard.index, fmt)
    parts = list(shard_articles(shard, skip_bad))
    stats = {"shard": shard.index, "articles": 0, "sentences": 0, "skipped": [], "seconds": 0.0}
    with ArticleWriter(shard_path(out, shard.index, fmt), fmt, labels=labeler.labels) as writer:
        for article in labeler.label_stream((a for part in parts for a in part), batch_size=batch_size):
            if not writer.write(article):
                continue  # an id seen before in this shard: dropped, as `newsroles label` drops it
            stats["articles"] += 1
            stats["sentences"] += len(article.sentences)
            if after_write is not None:
                after_write(stats["articles"])
    stats["skipped"] = [message for part in parts for message in part.skipped]
    stats["seconds"] = round(time.perf_counter() - started, 3)  # reading, labeling, writing: a worker's busy time
    with atomic_file(marker_path(out, shard.index)) as fh:
        json.dump(stats, fh)
    return stats


def _clear_unfinished(out: Path, index: int, fmt: str) -> None:
    """Remove what a killed attempt at this shard left: its `.partial` or hidden temporary file."""
    name = shard_path(out, index, fmt).name
    for leftover in [*Path(out).glob(f".{name}.*.part"), Path(out) / f"{name}.partial"]:
        leftover.unlink(missing_ok=True)


def write_success(out: Path, totals: dict) -> None:
    with atomic_file(Path(out) / SUCCESS) as fh:
        json.dump(totals, fh)
