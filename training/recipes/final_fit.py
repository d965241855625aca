"""Final fit on all labeled data: retrain the selected settings on train + dev.

Settings are chosen on dev (the selection run); the model a user should ship then learns from dev
too. `newsroles train --final SELECTION_MODEL` repeats the selection run's settings (the config must
match it in `model`, the label mapping and what shapes training), trains for the selection run's
best epoch count with no dev scoring (keeping raw or averaged weights as the selection run did at
that epoch), and takes the selection run's label biases and temperature, which dev alone can set. Its dev figures are the selection run's, and its card says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file

from newsroles.model.errors import UserError
from newsroles.model.store.folder import read_config, read_manifest
from newsroles.model.spec import SETTINGS_ADDED_LATER
from newsroles.training.config import without_idle_settings

# What a selection run saved before a train setting existed means by its absence: the behaviour
# before it (model settings: model/spec.py's SETTINGS_ADDED_LATER).
TRAIN_SETTINGS_ADDED_LATER = {"grad_accumulation": 1, "layer_decay": 1.0}

# Train settings that do not change what is learned (or that the final fit sets itself).
UNCOMPARED_TRAIN_KEYS = {
    "epochs", "max_steps", "checkpoint_steps", "device", "precision", "eval_batch_size", "tune_label_bias", "report_to", "tracking_dir",
}


@dataclass
class Selection:
    path: Path
    id: str | None
    labels: list[str]
    config: dict
    metrics: dict
    best_epoch: int
    label_bias: torch.Tensor
    temperature: float


def read_selection(folder: str | Path) -> Selection:
    """What a final fit takes from the selection run's model folder; a UserError when it cannot."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest.get("kind") != "transformer" or (manifest.get("runtime") or "fp32") != "fp32":
        raise UserError("--final needs the fp32 transformer model folder of the selection run (not a baseline or an exported copy)", folder)
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    if not metrics.get("dev") or not metrics.get("best_epoch"):
        raise UserError("the selection run was trained without a dev set: it has no best epoch or dev-tuned biases to take", folder)
    tensors = load_file(str(folder / "model.safetensors"))
    return Selection(
        path=folder,
        id=manifest.get("id"),
        labels=list(manifest["labels"]),
        config=read_config(folder),
        metrics=metrics,
        best_epoch=int(metrics["best_epoch"]),
        label_bias=tensors["label_bias"].float(),
        temperature=float(tensors["temperature"]) if "temperature" in tensors else 1.0,
    )


def setting_differences(config: dict, selected: dict) -> list[str]:
    """Dotted keys where the run's config differs from the selection run's in what shapes the model."""
    config = without_idle_settings(_without_idle_distillation(config))
    selected = without_idle_settings(_without_idle_distillation(_with_later_settings(selected)))
    keys = [f"model.{k}" for k in sorted(set(config.get("model") or {}) | set(selected.get("model") or {}))]
    keys += [f"train.{k}" for k in sorted(set(config.get("train") or {}) | set(selected.get("train") or {})) if k not in UNCOMPARED_TRAIN_KEYS]
    keys += ["data.mapping", "data.unlabeled", "data.auxiliary"]
    out = []
    for key in keys:
        section, name = key.split(".")
        if (config.get(section) or {}).get(name) != (selected.get(section) or {}).get(name):
            out.append(key)
    return out


def _with_later_settings(selected: dict) -> dict:
    """The selection run's config with the settings added since it was saved, as their absence meant."""
    return {
        **selected,
        "model": {**SETTINGS_ADDED_LATER, **(selected.get("model") or {})},
        "train": {**TRAIN_SETTINGS_ADDED_LATER, **(selected.get("train") or {})},
    }


def _without_idle_distillation(config: dict) -> dict:
    """The config without its distillation settings when it does not distill (the weight and the
    temperature then change nothing; runs from before distillation existed have none)."""
    train = config.get("train") or {}
    if train.get("distill_targets"):
        return config
    return {**config, "train": {k: v for k, v in train.items() if not k.startswith("distill_")}}


def prepare_final_fit(config, folder: str | Path) -> Selection:
    """Check `config` repeats the selection run's settings, then set its epochs to the selection's
    best epoch and its name to `<name>-final` (its own versions and checkpoint)."""
    selection = read_selection(folder)
    differ = setting_differences(config.to_dict(), selection.config)
    if differ:
        shown = ", ".join(
            f"{k} ({_get(config.to_dict(), k)!r} here, {_get(selection.config, k)!r} there)" for k in differ[:3]
        )
        raise UserError(
            f"the config differs from the selection run's in {shown}{' and more' if len(differ) > 3 else ''}; "
            "a final fit repeats the selected settings: use the selection run's config",
            selection.path / "config.yaml",
        )
    config.train.epochs = selection.best_epoch
    config.name = f"{config.name or 'model'}-final"
    if selection_weights(selection) == "raw":
        # The selection kept its raw weights over their average: without dev to choose, keep the same.
        config.train.ema_decay = 0.0
    return selection


def selection_weights(selection: Selection) -> str | None:
    """Which weights the selection run kept at its best epoch: "raw", "average", or None (no average)."""
    for record in selection.metrics.get("history") or []:
        if record.get("epoch") == selection.best_epoch:
            return record.get("weights")
    return None


def _get(config: dict, dotted: str):
    section, name = dotted.split(".")
    return (config.get(section) or {}).get(name)


def merge_train_and_dev(train: list, dev: list | None, labels: list[str], selection: Selection) -> list:
    """All labeled data for the final fit; the label set must be the selection run's."""
    if not dev:
        raise UserError("a final fit trains on train + dev: set data.dev (or --data.dev PATH)")
    if list(labels) != selection.labels:
        raise UserError(f"the data's labels {list(labels)} differ from the selection run's {selection.labels}", selection.path)
    return list(train) + list(dev)


def finish_final_fit(model, selection: Selection, n_articles: int) -> dict:
    """Install the selection run's label biases and temperature; the metrics.json entries that say
    what this model saw and where its dev figures come from."""
    with torch.no_grad():
        model.label_bias.copy_(selection.label_bias.to(model.label_bias.dtype))
        model.temperature.fill_(selection.temperature)
    chosen = selection.metrics
    out = {
        "final_fit": {
            "selection_model": str(selection.path),
            "selection_id": selection.id,
            "epochs": selection.best_epoch,
            "weights": selection_weights(selection) or "raw",
            "trained_on": ["train", "dev"],
            "articles": n_articles,
            "dev_figures": "from the selection run (this model has seen dev)",
        },
        "dev": chosen["dev"],
    }
    for key in ("dev_before_bias", "label_bias", "calibration"):
        if key in chosen:
            out[key] = chosen[key]
    return out
