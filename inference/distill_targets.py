"""`newsroles distill-targets`: a teacher model's per-sentence probabilities on labeled data, the
soft labels a student trains on (`train.distill_targets`; file format: training/recipes/teacher_targets.py)."""

from __future__ import annotations

import datetime as dt
import json
import shlex
from pathlib import Path

import numpy as np

from newsroles.inference.predictor import load_labeler
from newsroles.inference.io.progress import sentence_bar
from newsroles.model.article import labeled_sentences
from newsroles.model.errors import UserError
from newsroles.model.store.folder import file_fingerprint, read_config
from newsroles.training.data.readers import read_articles
from newsroles.training.recipes.teacher_targets import write_targets


def teacher_summary(folder: Path, manifest: dict) -> dict:
    """Who the teacher is and how good it was on dev (its metrics.json, what its card reports)."""
    metrics_file = folder / "metrics.json"
    metrics = json.loads(metrics_file.read_text(encoding="utf-8")) if metrics_file.is_file() else {}
    dev = metrics.get("dev") or {}
    return {
        "id": manifest.get("id"),
        "name": manifest.get("name"),
        "base": manifest.get("base_model") or (read_config(folder).get("model") or {}).get("base"),
        "path": str(folder),
        "dev_macro_f1": dev.get("macro_f1"),
        "dev_accuracy": dev.get("accuracy"),
    }


def write_teacher_targets(
    teacher: str | Path,
    data: list[str | Path],
    output: str | Path,
    device: str = "auto",
    batch_size: int | None = None,
    decimals: int = 4,
    command: str | None = None,
    progress: bool = False,
    unlabeled: list[str | Path] = (),
    models_dir: str | Path = "models",
) -> Path:
    """Predict every sentence of the labeled `data` files, and of the `unlabeled` story files (for a
    semi-supervised student, training/recipes/semi_supervised.py: their labels, if any, are not read), with the
    `teacher` model (a folder, or any reference `newsroles label --model` takes, looked up in
    `models_dir`) and write its probabilities (no text) to `output`, atomically. Returns `output`.
    `progress`: a bar per file on stderr (a large teacher on a CPU takes many minutes)."""
    labeler = load_labeler(teacher, device, models_dir=models_dir)
    probs: dict[str, np.ndarray] = {}
    files = []
    for path, gold in [(p, True) for p in data] + [(p, False) for p in unlabeled]:
        articles = read_articles(path, labeler.labels if gold else None, labels_name="the teacher's labels")
        if gold and next(labeled_sentences(articles), None) is None:
            raise UserError(
                "no labeled sentences: teacher targets are for the labeled data a student trains on (stories without "
                "labels go after --unlabeled)", path,
            )
        bar = sentence_bar(progress, f"teacher on {Path(path).name}", sum(len(a.sentences) for a in articles))
        predicted = labeler.predict(articles, batch_size, bar.update if bar is not None else None)
        if bar is not None:
            bar.close()
        for article, p in zip(articles, predicted):
            if article.id in probs:
                raise UserError(f"article id '{article.id}' is in more than one data file; the targets are keyed by article id", path)
            probs[article.id] = p
        files.append({
            "path": str(path), "sha256": file_fingerprint(path), "articles": len(articles),
            "sentences": sum(len(a.sentences) for a in articles), "labeled": gold,
        })
    header = {
        "labels": labeler.labels,
        "teacher": teacher_summary(labeler.path, labeler.manifest),
        "data": files,
        "command": command or shlex.join(
            ["newsroles", "distill-targets", str(teacher), *map(str, data), *[a for p in unlabeled for a in ("--unlabeled", str(p))], "-o", str(output)]
        ),
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    return write_targets(output, header, probs, decimals)
