"""The teacher-targets file: a teacher model's per-sentence label probabilities on labeled data,
the soft labels a student learns from (training/recipes/distill.py). `newsroles distill-targets` writes it
(inference/distill_targets.py).

It holds no corpus text, only numbers keyed by article id and sentence index, so it can ship with
the project. Gzipped JSON (plain JSON when the name does not end in .gz):

    {"format": "newsroles-teacher-targets", "version": 1,
     "labels": [...],                      # the order of every probability vector
     "teacher": {"id", "name", "base", "path", "dev_macro_f1", "dev_accuracy"},
     "data": [{"path", "sha256", "articles", "sentences"}, ...],   # the files it was computed on
     "command": "...", "created": "...", "decimals": 4,
     "articles": {"<article id>": [[p per label] per sentence, in the article's order], ...}}
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

FORMAT = "newsroles-teacher-targets"
VERSION = 1
HEADER_KEYS = ("labels", "teacher", "data", "command", "created", "decimals")


@dataclass
class TeacherTargets:
    path: Path
    header: dict  # everything but the probabilities
    articles: dict[str, np.ndarray]  # article id -> (sentences, labels)

    @property
    def labels(self) -> list[str]:
        return list(self.header["labels"])


def write_targets(path: str | Path, header: dict, probs: dict[str, np.ndarray], decimals: int = 4) -> Path:
    """Write the file atomically: `header` (HEADER_KEYS but decimals) and per-article probabilities."""
    body = {
        "format": FORMAT,
        "version": VERSION,
        **header,
        "decimals": decimals,
        "articles": {aid: np.round(np.asarray(p, dtype=float), decimals).tolist() for aid, p in probs.items()},
    }
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    path = Path(path)
    with atomic_file(path, "wb") as fh:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:  # mtime 0: same input, same bytes
                gz.write(data)
        else:
            fh.write(data)
    return path


def read_targets(path: str | Path) -> TeacherTargets:
    """Read and check a targets file; every problem is one UserError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError("teacher targets file not found (write one with `newsroles distill-targets TEACHER DATA -o FILE`)", path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise UserError(f"not a readable gzip file ({exc}); write it again with `newsroles distill-targets`", path) from None
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"not a teacher targets file: not valid JSON ({exc})", path) from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise UserError(f"not a teacher targets file (no \"format\": \"{FORMAT}\"); write one with `newsroles distill-targets`", path)
    if body.get("version") != VERSION:
        raise UserError(f"teacher targets format version {body.get('version')!r}; this newsroles reads version {VERSION}", path)
    labels, articles = body.get("labels"), body.get("articles")
    if not (isinstance(labels, list) and labels and all(isinstance(x, str) for x in labels)):
        raise UserError("teacher targets file: 'labels' must be a list of label names", path)
    if not isinstance(articles, dict):
        raise UserError("teacher targets file: 'articles' must map article ids to probability lists", path)
    header = {key: body.get(key) for key in HEADER_KEYS}
    return TeacherTargets(path, header, {aid: _vectors(rows, len(labels), aid, path) for aid, rows in articles.items()})


def _vectors(rows, n_labels: int, article_id: str, path: Path) -> np.ndarray:
    try:
        array = np.asarray(rows, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is None or array.ndim != 2 or array.shape[1] != n_labels:
        raise UserError(f"teacher targets of article '{article_id}' are not one list of {n_labels} probabilities per sentence", path)
    if not np.isfinite(array).all() or (array < 0).any() or (array > 1).any():
        raise UserError(f"teacher targets of article '{article_id}' hold values outside [0, 1]", path)
    return array


def aligned_targets(targets: TeacherTargets, articles: list, labels: list[str]) -> list[np.ndarray]:
    """The teacher's (sentences, labels) array for each article, matched by article id and
    sentence index; a different label order, or a missing or differently split article, is an error."""
    if targets.labels != list(labels):
        raise UserError(f"teacher targets are over labels {targets.labels}, the model's are {list(labels)} (same names, same order)", targets.path)
    out = []
    for article in articles:
        probs = targets.articles.get(article.id)
        if probs is None:
            raise UserError(
                f"no teacher targets for article '{article.id}' of the training data; write targets for this data "
                "with `newsroles distill-targets`", targets.path,
            )
        if len(probs) != len(article.sentences):
            raise UserError(
                f"article '{article.id}' has {len(article.sentences)} sentences in the training data, "
                f"{len(probs)} in the teacher targets: they were computed on other data", targets.path,
            )
        out.append(probs)
    return out
