"""Evaluations recorded in a model folder: `evaluations/<data fingerprint>.json`, one per test set.

`newsroles evaluate` and `newsroles compare` record what they measured here, through
model/cards/card.py's `record_evaluation` (which refreshes the card that lists them); reading them is here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVALUATIONS = "evaluations"
FINGERPRINT_PREFIX = 12


def evaluation_path(folder: str | Path, sha256: str) -> Path:
    """Where the evaluation on data with this fingerprint lives: one file per distinct test set."""
    return Path(folder) / EVALUATIONS / f"{sha256[:FINGERPRINT_PREFIX]}.json"


def load_evaluations(folder: str | Path) -> list[dict]:
    """The recorded evaluations, oldest first; unreadable files are skipped."""
    out = []
    evals = Path(folder) / EVALUATIONS
    if evals.is_dir():
        for path in sorted(evals.glob("*.json")):
            record = read_json(path)
            if isinstance(record, dict) and isinstance(record.get("data"), dict):
                out.append(record)
    return sorted(out, key=lambda r: str(r.get("recorded", "")))


def read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
