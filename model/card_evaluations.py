"""Evaluations recorded in a model folder: `evaluations/<data fingerprint>.json`, one per test set.

`newsroles evaluate` and `newsroles compare` record what they measured here; the model card
(model/card.py) lists them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from newsroles.model.fileio import atomic_file
from newsroles.model.folder import package_version, read_manifest
from newsroles.model.registry import version_id

EVALUATIONS = "evaluations"
FINGERPRINT_PREFIX = 12


def evaluation_path(folder: str | Path, sha256: str) -> Path:
    """Where the evaluation on data with this fingerprint lives: one file per distinct test set."""
    return Path(folder) / EVALUATIONS / f"{sha256[:FINGERPRINT_PREFIX]}.json"


def record_evaluation(folder: str | Path, result: dict, refresh_card: bool = True) -> Path:
    """Save an `evaluate_model` result in the model's `evaluations/` folder, atomically.

    The data fingerprint decides whether it is the same test: evaluating again on the same bytes
    replaces that record; other data adds one. The model card is regenerated to include it. A
    packaged copy (`newsroles package`) is never changed: PermissionError, which callers report.
    """
    folder = Path(folder)
    data = result.get("data") or {}
    sha = data.get("sha256")
    if not sha:
        raise ValueError("evaluation result has no data fingerprint (data.sha256)")
    manifest = read_manifest(folder)
    if manifest.get("package"):  # an installed copy: pip owns its files (and may have them read-only)
        raise PermissionError(f"it is the model package {manifest['package'].get('name')}, kept as installed")
    record = {
        "recorded": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "model_id": version_id(folder, manifest),
        "newsroles_version": package_version(),
        **{k: v for k, v in result.items() if k != "model"},
    }
    dest = evaluation_path(folder, sha)
    with atomic_file(dest) as fh:
        json.dump(record, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    if refresh_card:
        from newsroles.model.card import write_card  # the card lists the evaluations: built after them

        write_card(folder)
    return dest


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
