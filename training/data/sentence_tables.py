"""Sentence tables read through Hugging Face `datasets`: Parquet and Arrow files and hub datasets.

A sentence table has one row per sentence: an article id, the text, and optionally a label, a
sentence order, a title and a paragraph index, under the column names of `data.columns`
(training/config.py, ColumnsConfig). `datasets` reads the file (memory-mapped Arrow, cached) and
maps the columns to ours; `dataset_to_articles` groups the rows into Articles, sentences in
`order` (or row order). Errors name the column or the row and the file.

Sources: a `.parquet` or `.arrow` path (an Arrow file as `datasets` writes it, e.g. by
`Dataset.save_to_disk`), or `hf:ORG/NAME:SPLIT` (`:SPLIT` defaults to train) for a hub dataset;
with HF_HUB_OFFLINE=1 only one already in the local cache loads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.store.folder import file_fingerprint
from newsroles.training.config import ColumnsConfig

HUB_PREFIX = "hf:"
TABLE_SUFFIXES = (".parquet", ".arrow")
REQUIRED = ("article_id", "text")
OPTIONAL = ("label", "order", "title", "paragraph")


def is_dataset_source(source: str | Path) -> bool:
    """Whether `source` is read through `datasets` (Parquet, Arrow, a hub id) rather than our line readers."""
    text = str(source)
    return text.startswith(HUB_PREFIX) or Path(text).suffix.lower() in TABLE_SUFFIXES


def column_names(columns=None) -> dict[str, str | None]:
    """Our column -> the table's column name (None: not configured), from a ColumnsConfig or defaults."""
    columns = columns if columns is not None else ColumnsConfig()
    return {ours: getattr(columns, ours) for ours in REQUIRED + OPTIONAL}


def load_articles_dataset(source: str | Path, columns=None):
    """The sentence table at `source` as a `datasets.Dataset` with our column names
    (article_id, text, and those of label, order, title, paragraph it has)."""
    ds = _load(str(source))
    names = column_names(columns)
    defaults = column_names()
    keep: dict[str, str] = {}
    for ours, theirs in names.items():
        if theirs is None:
            continue
        if theirs in ds.column_names:
            keep[theirs] = ours
        elif ours in REQUIRED or theirs != defaults[ours]:  # asked for by name, so it must be there
            shown = ", ".join(ds.column_names[:20]) or "(none)"
            raise UserError(f"no column '{theirs}' (data.columns.{ours}); the table has: {shown}", source)
    ds = ds.select_columns(list(keep))
    return ds.rename_columns({theirs: ours for theirs, ours in keep.items() if theirs != ours})


def _load(source: str):
    # Imported here: `datasets` takes seconds to import and only sentence tables need it; the JSONL and
    # CSV readers (the label command's input, the torch-free ONNX path included) stay without it.
    import datasets

    datasets.disable_progress_bars()
    if source.startswith(HUB_PREFIX):
        name, _, split = source[len(HUB_PREFIX) :].partition(":")
        if not name:
            raise UserError("a hub dataset is hf:ORG/NAME or hf:ORG/NAME:SPLIT", source)
        try:
            return datasets.load_dataset(name, split=split or "train")
        except Exception as exc:  # offline, unknown name, no such split: all one line for the user
            first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
            raise UserError(f"cannot load hub dataset '{name}' split '{split or 'train'}' ({first[:300]})", source) from None
    path = Path(source)
    if not path.is_file():
        raise UserError("input file not found" if not path.exists() else "is a folder; give a file", path)
    try:
        if path.suffix.lower() == ".arrow":
            return datasets.Dataset.from_file(str(path))
        return datasets.Dataset.from_parquet(str(path))
    except Exception as exc:  # pyarrow and datasets raise many types for a damaged or foreign file
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise UserError(f"cannot read as {path.suffix.lower()[1:]} ({first[:300]})", path) from None


def data_fingerprint(source: str | Path) -> str:
    """sha256 that says whether two runs saw the same data: of a file's bytes, or of a hub
    dataset's `datasets` fingerprint (its cached revision)."""
    if str(source).startswith(HUB_PREFIX):
        return hashlib.sha256(f"{source} {_load(str(source))._fingerprint}".encode()).hexdigest()
    return file_fingerprint(source)


def dataset_to_articles(
    ds, source: str | Path, labels: Iterable[str] | None = None, labels_name: str = "the labels"
) -> list[Article]:
    """Group a `load_articles_dataset` table's rows into Articles (first-appearance order of ids)."""
    allowed = None if labels is None else tuple(labels)
    data = ds.to_dict()
    n = len(data["article_id"])
    if n == 0:
        raise UserError("the table has no rows", source)
    rows: dict[str, list[tuple]] = {}
    titles: dict[str, str | None] = {}
    for i in range(n):
        row = {name: values[i] for name, values in data.items()}
        where = f"row {i + 1}"
        art_id = row["article_id"]
        if art_id is None or isinstance(art_id, bool) or not isinstance(art_id, (str, int)) or not str(art_id).strip():
            raise UserError(f"{where}: article id must be a non-empty string or an integer, got {art_id!r}", source)
        art_id = str(art_id)
        text = row["text"]
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{where}: article '{art_id}': text must be a non-empty string, got {text!r}", source)
        label = row.get("label")
        if label is not None and not isinstance(label, str):
            raise UserError(f"{where}: article '{art_id}': label must be a string or null, got {label!r}", source)
        label = label.strip() or None if label is not None else None
        if label is not None and allowed is not None and label not in allowed:
            raise UserError(f"{where}: article '{art_id}': label '{label}' is not one of {labels_name} {list(allowed)}", source)
        paragraph = row.get("paragraph")
        if paragraph is not None and (isinstance(paragraph, bool) or not isinstance(paragraph, int) or paragraph < 0):
            raise UserError(f"{where}: article '{art_id}': paragraph must be an integer >= 0 or null, got {paragraph!r}", source)
        order = row.get("order", i)
        if "order" in row and (order is None or isinstance(order, bool) or not isinstance(order, (int, float))):
            raise UserError(f"{where}: article '{art_id}': sentence order must be a number, got {order!r}", source)
        rows.setdefault(art_id, []).append((order, i, Sentence(text=text, label=label, paragraph=paragraph)))
        if titles.get(art_id) is None:
            titles[art_id] = row.get("title") or None
    return [
        Article(id=art_id, sentences=[s for _, _, s in sorted(items, key=lambda x: x[:2])], title=titles[art_id])
        for art_id, items in rows.items()
    ]


def read_sentence_table(
    source: str | Path, labels: Iterable[str] | None = None, labels_name: str = "the labels", columns=None
) -> list[Article]:
    return dataset_to_articles(load_articles_dataset(source, columns), source, labels, labels_name)
