"""Experiment tracking (`train.report_to: [tensorboard, mlflow]`) through Accelerate's trackers.

A run logs its hyperparameters (the whole config, flattened: `train.learning_rate`), each step's
loss and learning rate (`train/loss`, `train/learning_rate`), each epoch's loss and dev scores
(`epoch/loss`, `dev/macro_f1`, `dev/accuracy`, `dev/f1/<label>`) and the kept model's final figures
(`final/...`: dev after the label biases, calibration, best epoch). Only the main process logs.

Where it goes (`train.tracking_dir`, default `<models_dir>/tracking`):
* TensorBoard: `<tracking_dir>/tensorboard/<name>/<run>` (`tensorboard --logdir <tracking_dir>/tensorboard`);
* MLflow: the experiment `<name>`, run `<run>`, in the local file store `<tracking_dir>/mlruns`
  (`mlflow ui --backend-store-uri <tracking_dir>/mlruns`), or wherever MLFLOW_TRACKING_URI points.
`<run>` is the time the run started (`20261206-101500`); the model folder's manifest records it.
The tracker packages are the `tracking` extra; a missing one is one clear line before training.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path

from accelerate.tracking import MLflowTracker, TensorBoardTracker

from newsroles.model.errors import UserError

TRACKERS = ("tensorboard", "mlflow")
EXTRA = "pip install 'newsroles[tracking]'"
_MODULES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}  # what each tracker imports


def check_trackers(report_to: list[str]) -> None:
    """Say in one line, before any work, which tracker's package is missing and how to install it."""
    for name in dict.fromkeys(report_to):
        if importlib.util.find_spec(_MODULES[name]) is None:
            raise UserError(f"train.report_to lists {name}, but the {_MODULES[name]} package is not installed: {EXTRA}")


def tracking_dir(config) -> Path:
    return Path(config.train.tracking_dir) if config.train.tracking_dir else Path(config.models_dir) / "tracking"


def make_trackers(config, name: str) -> tuple[list, dict]:
    """Accelerate trackers for `train.report_to` (none: empty), and what the manifest records about them."""
    report_to = list(dict.fromkeys(config.train.report_to))
    if not report_to:
        return [], {}
    check_trackers(report_to)
    root = tracking_dir(config)
    run = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    trackers, record = [], {"run": run}
    if "tensorboard" in report_to:
        trackers.append(TensorBoardTracker(f"{name}/{run}", root / "tensorboard"))
        record["tensorboard"] = str(root / "tensorboard" / name / run)
    if "mlflow" in report_to:
        uri, ours = mlflow_uri(root)
        tracker = MLflowTracker(experiment_name=name, run_name=run)
        tracker.unset_uri = ours  # close() puts MLflow's global URI back, so the next run in this process picks its own
        trackers.append(tracker)
        record["mlflow"] = {"tracking_uri": uri, "experiment": name}
    return trackers, record


def mlflow_uri(root: Path) -> tuple[str, bool]:
    """(MLFLOW_TRACKING_URI when set, else the local file store under `root`, made MLflow's
    tracking URI for this run; whether it was made so here)."""
    import mlflow  # optional: the tracking extra, checked by check_trackers before a run starts

    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri, False
    # MLflow 3 keeps its file store in maintenance mode behind this switch; it needs no database
    # package (the tracking extra is mlflow-skinny) and `mlflow ui` reads it.
    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    (root / "mlruns").mkdir(parents=True, exist_ok=True)
    uri = (root / "mlruns").resolve().as_uri()
    mlflow.set_tracking_uri(uri)  # (which also sets MLFLOW_TRACKING_URI, until close() unsets it)
    return uri, True


def hyperparameters(config_dict: dict, prefix: str = "") -> dict:
    """The config as flat `section.key` values that every tracker takes (lists and null as text)."""
    out = {}
    for key, value in config_dict.items():
        if isinstance(value, dict):
            out.update(hyperparameters(value, f"{prefix}{key}."))
        elif isinstance(value, (bool, int, float, str)):
            out[f"{prefix}{key}"] = value
        else:
            out[f"{prefix}{key}"] = "null" if value is None else str(value)
    return out


def epoch_values(record: dict, metrics: dict | None) -> dict:
    """An epoch's figures: its mean loss and, with a dev set, the dev scores (per label too)."""
    out = {"epoch/loss": record.get("loss"), "epoch/epoch": record["epoch"]}
    if metrics:
        out.update({"dev/macro_f1": metrics.get("macro_f1"), "dev/accuracy": metrics.get("accuracy")})
        out.update({f"dev/f1/{label}": row.get("f1") for label, row in (metrics.get("per_label") or {}).items()})
    return {k: v for k, v in out.items() if isinstance(v, (int, float))}


def final_values(metrics: dict, seconds: float) -> dict:
    """The kept model's figures, as metrics.json holds them once the biases and temperature are set."""
    dev = metrics.get("dev") or {}
    calibration = metrics.get("calibration") or {}
    out = {
        "final/best_epoch": metrics.get("best_epoch"),
        "final/dev_macro_f1": dev.get("macro_f1"),
        "final/dev_accuracy": dev.get("accuracy"),
        "final/ece_before": calibration.get("ece_before"),
        "final/ece_after": calibration.get("ece_after"),
        "final/temperature": calibration.get("temperature"),
        "final/training_seconds": seconds,
    }
    return {k: v for k, v in out.items() if isinstance(v, (int, float))}


def finish(accelerator, record: dict, values: dict, step: int) -> dict:
    """Log the final figures, close every tracker, and return the manifest's record (with the MLflow run id)."""
    if accelerator is None or not accelerator.trackers:
        return record
    accelerator.log(values, step=step)
    for tracker in accelerator.trackers:
        if tracker.name == "mlflow" and getattr(tracker, "active_run", None) is not None:
            record["mlflow"]["run_id"] = tracker.active_run.info.run_id
    close(accelerator)
    return record


def close(accelerator) -> None:
    """Close every tracker (on the main process). Not `accelerator.end_training()`, which also
    leaves the process group: training/distributed.py's end_processes still waits on it."""
    for tracker in accelerator.trackers:
        tracker.finish()
        if getattr(tracker, "unset_uri", False):
            import mlflow  # optional (the tracking extra); set only by an MLflow tracker

            mlflow.set_tracking_uri(None)
