"""Knowledge distillation: train on a teacher's soft labels alongside the gold ones.

`train.distill_targets` names a teacher-targets file (training/recipes/teacher_targets.py); each training
sentence gets the teacher's probabilities by article id and sentence index. The role loss becomes
(1 - w) * gold loss + w * distill_loss at temperature T (`train.distill_weight`,
`train.distill_temperature`), on the same sentences as the gold loss (unlabeled ones are context).

The targets must cover every training article, split into the same sentences, with the model's
label order: anything else is an error. A training file whose sha256 differs from the one the
targets were computed on is only a warning when all of that matches (the same articles written
again, e.g. converted anew, give different bytes); the model's metrics record whether it matched.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from newsroles.model.errors import InputWarning, UserError
from newsroles.model.store.folder import file_fingerprint
from newsroles.training.losses import distill_loss
from newsroles.training.recipes.teacher_targets import TeacherTargets, aligned_targets, read_targets


def targets_path(value: str | Path) -> Path:
    """The path as given (relative to the working directory, like data paths); a `configs/...`
    path missing there is looked up in the installed package's configs (a shipped targets file)."""
    path = Path(value)
    if path.exists() or path.parts[:1] != ("configs",):
        return path
    packaged = resources.files("newsroles.configs").joinpath(*path.parts[1:])
    return Path(str(packaged)) if packaged.is_file() else path


def load_teacher(config) -> TeacherTargets | None:
    """The configured targets file, read and checked; None when distillation is off."""
    value = config.train.distill_targets
    if not value:
        return None
    path = targets_path(value)
    if not path.is_file():
        raise UserError(
            "teacher targets file not found (train.distill_targets); write it with "
            "`newsroles distill-targets TEACHER_MODEL TRAIN.jsonl -o FILE` or set --train.distill_targets null", value,
        )
    return read_targets(path)


@dataclass
class Distillation:
    """A distilling run's teacher targets, read and checked once: what metrics.json and the model
    card say about them, and per training article the teacher's (sentences, labels) probabilities."""

    record: dict
    soft: list[np.ndarray]
    targets: TeacherTargets  # the whole file: unlabeled stories' rows are matched later (training/recipes/semi_supervised.py)


def prepare_distillation(config, articles: list, labels: list[str]) -> Distillation | None:
    """Read the targets and check them against the training data (early, before any model is
    built); None when distillation is off."""
    targets = load_teacher(config)
    if targets is None:
        return None
    soft = aligned_targets(targets, articles, labels)
    train_sha = file_fingerprint(config.data.train)
    seen = [d.get("sha256") for d in targets.header.get("data") or [] if isinstance(d, dict)]
    if train_sha not in seen:
        warnings.warn(
            InputWarning(
                f"{targets.path}: teacher targets were computed on other data files than {config.data.train} (sha256 differs); "
                "every article id and sentence count matches, so training goes on"
            ),
            stacklevel=2,
        )
    record = {
        "teacher": targets.header.get("teacher"),
        "targets": {"path": str(config.train.distill_targets), "sha256": file_fingerprint(targets.path)},
        "teacher_command": targets.header.get("command"),
        "weight": config.train.distill_weight,
        "temperature": config.train.distill_temperature,
        "train_data_matches": train_sha in seen,
    }
    return Distillation(record, soft, targets)


def blend_distillation(gold_loss: torch.Tensor, logits: torch.Tensor, gold: torch.Tensor, soft: list[np.ndarray], tc) -> torch.Tensor:
    """(1 - w) * the gold loss + w * the distillation loss on the batch's labeled sentences.
    `gold` is the batch's (windows, sentences) label tensor, `soft` each window's teacher rows."""
    padded = torch.zeros(gold.shape + (logits.size(-1),))
    for b, rows in enumerate(soft):
        padded[b, : len(rows)] = torch.from_numpy(np.asarray(rows, dtype=np.float32))
    kd = distill_loss(logits, padded.to(logits.device), gold != -100, tc.distill_temperature)
    return (1.0 - tc.distill_weight) * gold_loss + tc.distill_weight * kd
