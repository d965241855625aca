"""Model cards: `README.md` (a Hugging Face model card: YAML front matter, then Markdown) and
`model_card.json`, from what was recorded. Folders from older versions hold `MODEL_CARD.md`
instead; it is still read, and replaced by README.md when the card is written again.

A card is built only from the files of a model folder -- the manifest, `config.yaml`,
`metrics.json`, `data.json` and `evaluations/*.json` -- so it can be regenerated at any time
(`write_card`), and is regenerated whenever an evaluation is recorded (`record_evaluation`).

`build_card(folder)` returns the plain-JSON card (what `model_card.json` holds);
`render_markdown(card)` (model/cards/markdown.py) turns it into the Markdown file; the recorded
evaluations are model/cards/evaluations.py's.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

from newsroles.model.cards.evaluations import evaluation_path, load_evaluations, read_json
from newsroles.model.cards.extras import extra_card_fields
from newsroles.model.cards.markdown import render_markdown
from newsroles.model.errors import InputWarning, UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.store.folder import package_version, read_config, read_manifest
from newsroles.model.labels import load_mapping
from newsroles.model.store.registry import version_id
from newsroles.model.text.textio import Decoder, binary_error

CARD_MD = "README.md"  # the name a model hub shows and reads the metadata of
LEGACY_CARD_MD = "MODEL_CARD.md"  # what older folders hold
CARD_JSON = "model_card.json"
CARD_FORMAT = 1


def summarize_metrics(m: dict) -> dict:
    """The headline numbers of a `compute_metrics` result."""
    out = {k: m.get(k) for k in ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "n")}
    out["per_label"] = {
        label: {k: row.get(k) for k in ("precision", "recall", "f1", "support")}
        for label, row in (m.get("per_label") or {}).items()
    }
    return out


def _hub_datasets(manifest: dict, data: dict) -> list[str]:
    """Hub dataset ids: those the training data was read from (`hf:ORG/NAME:SPLIT`) and any named
    by `newsroles package --dataset`."""
    out = list(manifest.get("datasets") or [])
    for record in data.values():
        path = str((record or {}).get("path") or "")
        if path.startswith("hf:"):
            out.append(path[3:].split(":")[0])
    return list(dict.fromkeys(out))


def _label_mapping(config: dict, previous: dict | None) -> dict | None:
    name = (config.get("data") or {}).get("mapping")
    if not name:
        return None
    try:
        return load_mapping(name).to_dict()
    except Exception:  # the mapping file may be gone by now: keep what an earlier card recorded
        old = (previous or {}).get("label_mapping")
        return old if isinstance(old, dict) else {"name": str(name), "labels": None, "rules": None}


def _base_model(manifest: dict, config: dict) -> str | None:
    if manifest.get("kind") == "tfidf":
        return None
    return manifest.get("base_model") or (config.get("model") or {}).get("base")


def _training(manifest: dict, metrics: dict, config: dict) -> dict:
    history = metrics.get("history") or []
    out = {
        "seconds": manifest.get("training_seconds"),
        "steps": manifest.get("training_steps"),
        "epochs_run": len(history) or None,
        "best_epoch": metrics.get("best_epoch"),
        "hardware": manifest.get("hardware"),
        "seed": config.get("seed"),
    }
    if manifest.get("kind") == "tfidf":
        out["baseline"] = manifest.get("baseline")
    if "train_cv" in metrics:
        out["cross_validation"] = metrics["train_cv"]
    return out


def _splits(metrics: dict, data: dict, evaluations: list[dict]) -> list[dict]:
    """Metrics per split: the dev scores recorded at training time, then each recorded evaluation."""
    rows = []
    dev_sha = ((data.get("dev") or {}).get("sha256")) or None
    if isinstance(metrics.get("dev"), dict):
        rows.append(
            {
                "split": "dev",
                "source": "training",
                "data": {"path": (data.get("dev") or {}).get("path"), "sha256": dev_sha},
                "metrics": summarize_metrics(metrics["dev"]),
            }
        )
    for ev in evaluations:
        d = ev["data"]
        sha = d.get("sha256")
        split = "dev" if sha and sha == dev_sha else Path(str(d.get("path", "data"))).stem
        rows.append(
            {
                "split": split,
                "source": "evaluation",
                "recorded": ev.get("recorded"),
                "data": {k: d.get(k) for k in ("path", "sha256", "articles", "sentences")},
                "metrics": summarize_metrics(ev),
            }
        )
    return rows


def _intended_use(labels: list[str]) -> str:
    return (
        "Tagging every sentence of an English news article with its role in the story "
        f"({', '.join(labels)}), to help editors and researchers see at a glance what an article "
        "reports, quotes, explains or argues. The output is a per-sentence label with a probability; "
        "it is meant to support a human reader, not to publish or judge articles on its own."
    )


def _limitations(manifest: dict, metrics: dict, data: dict, splits: list[dict]) -> list[str]:
    out = [
        "Trained on the data named under Training data only; scores on other outlets, genres, time "
        "periods or languages are unknown and likely lower.",
        "A label describes a sentence's role in the article, not whether it is true: `fact` means the "
        "sentence reports a main event, not that the claim was verified.",
        "Sentences are labeled one by one from the article's text; mistakes of the sentence splitter "
        "carry over into the labels.",
    ]
    if metrics.get("best_epoch"):
        out.append(
            "The dev split chose the best epoch, so dev scores are slightly optimistic; an evaluation on "
            "data never used during training is the fairer measure."
        )
    weak = []
    for row in splits[:1]:
        for label, m in row["metrics"]["per_label"].items():
            if m.get("f1") is not None and m["f1"] < 0.5:
                weak.append(f"{label} (F1 {m['f1']:.2f})")
    if weak:
        out.append(f"Weak roles on {splits[0]['split']}: {', '.join(weak)}; treat these labels with extra care.")
    if not splits:
        out.append("No evaluation has been recorded for this model yet.")
    return out


def _export_summary(manifest: dict) -> dict | None:
    """For a copy written by `newsroles export`: what it is and what it was measured to cost."""
    export = manifest.get("export")
    if not export:
        return None
    out = {
        "description": export.get("description"),
        "exported_from": (manifest.get("exported_from") or {}).get("id"),
        "window_overlap": export.get("window_overlap"),
        "label_bias_tuned_on": (export.get("label_bias") or {}).get("data"),
    }
    check = export.get("check") or {}
    for key in ("data", "fp32_macro_f1", "exported_macro_f1", "macro_f1_drop_points", "label_agreement"):
        if key in check:
            out[key] = check[key]
    return out


def build_card(folder: str | Path) -> dict:
    """The model card of a model folder, as plain JSON, from the files it holds."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    config = read_config(folder)
    metrics = read_json(folder / "metrics.json", {}) or {}
    data = read_json(folder / "data.json", {}) or {}
    previous = read_json(folder / CARD_JSON)
    evaluations = load_evaluations(folder)
    labels = list(manifest["labels"])
    splits = _splits(metrics, data, evaluations)
    kind = manifest.get("kind")
    return {
        "card_format": CARD_FORMAT,
        "id": version_id(folder, manifest),
        "name": manifest.get("name") or folder.name,
        "parent": manifest.get("parent"),
        "parent_path": manifest.get("parent_path"),
        "created": manifest.get("created"),
        "kind": kind,
        "model_type": manifest.get("model_type") or ("tfidf" if kind == "tfidf" else (config.get("model") or {}).get("type")),
        "base_model": _base_model(manifest, config),
        "license": manifest.get("license"),  # set by `newsroles package --license`
        "datasets": _hub_datasets(manifest, data),
        "package": manifest.get("package"),  # name, version, module and wheel, in a copy `newsroles package` made
        "labels": labels,
        "label_mapping": _label_mapping(config, previous),
        "aux_labels": manifest.get("aux_labels") or [],
        "data": data,
        "config": config,
        "training": _training(manifest, metrics, config),
        "metrics": splits,
        "runtime": manifest.get("runtime") or "fp32",
        "export": _export_summary(manifest),
        "intended_use": _intended_use(labels),
        "limitations": _limitations(manifest, metrics, data, splits),
        **extra_card_fields(metrics),  # hook: calibration, final fit (model/cards/extras.py)
        "software": {
            "newsroles": manifest.get("newsroles_version"),
            "python": manifest.get("python"),
            "torch": manifest.get("torch"),
        },
    }


def write_card(folder: str | Path) -> dict:
    """(Re)generate README.md and model_card.json in a model folder; returns the card."""
    folder = Path(folder)
    card = build_card(folder)
    with atomic_file(folder / CARD_JSON) as fh:
        json.dump(card, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    with atomic_file(folder / CARD_MD) as fh:
        fh.write(render_markdown(card))
    (folder / LEGACY_CARD_MD).unlink(missing_ok=True)  # an older folder's card, now out of date
    return card


def read_card_markdown(folder: str | Path) -> str:
    """The folder's README.md (MODEL_CARD.md in an older folder), or one generated on the fly (not
    written) when it has neither."""
    for name in (CARD_MD, LEGACY_CARD_MD):
        path = Path(folder) / name
        if path.is_file():
            text = read_card_text(path)
            return text if text is not None else render_markdown(build_card(folder))
    return render_markdown(build_card(folder))


def read_card_text(path: Path) -> str | None:
    """A card file's text (bytes that are not UTF-8 replaced, with a warning), or None, with a
    warning, when it is not text at all (the caller then generates the card from the folder)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the model card ({exc.strerror or exc})", path) from None
    if binary_error(data, str(path), whole=True) is not None:
        warnings.warn(f"{path}: corrupt model card (not text); showing one generated from the folder", InputWarning, stacklevel=2)
        return None
    return Decoder(str(path))(data)


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
        write_card(folder)  # the card lists the evaluations: built after them
    return dest


def finish_version(folder: str | Path, extra: dict) -> dict:
    """Add `extra` (version id, name, parent, training time...) to a written folder's manifest and write its card.

    For model kinds whose writer takes no `extra=` (the TF-IDF baseline): each file is replaced
    atomically, and a folder interrupted between the two steps still loads, lists (with an id
    derived from its manifest) and can have its card regenerated with `write_card`.
    """
    folder = Path(folder)
    manifest = {**read_manifest(folder), **extra}
    with atomic_file(folder / "newsroles.json") as fh:
        json.dump(manifest, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return write_card(folder)
