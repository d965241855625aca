"""Model cards: `MODEL_CARD.md` (Hugging Face conventions) and `model_card.json`, from what was recorded.

A card is built only from the files of a model folder -- the manifest, `config.yaml`,
`metrics.json`, `data.json` and `evaluations/*.json` -- so it can be regenerated at any time
(`write_card`), and is regenerated whenever an evaluation is recorded (`record_evaluation`).

`build_card(folder)` returns the plain-JSON card (what `model_card.json` holds);
`render_markdown(card)` turns it into the Markdown file (through huggingface_hub's `ModelCard`,
`ModelCardData` and `EvalResult`): YAML front matter (`library_name`,
`pipeline_tag`, `tags`, `base_model`, `metrics`, `model-index` with one result per evaluated
split) followed by the sections of a Hugging Face card: model details, intended use,
limitations, labels, training data, training procedure, evaluation, how to use.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from newsroles.model.base import hub_id
from newsroles.model.card_extras import extra_card_fields, extra_sections
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file
from newsroles.model.folder import package_version, read_config, read_manifest
from newsroles.model.registry import version_id

CARD_MD = "MODEL_CARD.md"
CARD_JSON = "model_card.json"
EVALUATIONS = "evaluations"
CARD_FORMAT = 1
FINGERPRINT_PREFIX = 12


# ---------------------------------------------------------------------------------------------
# Evaluations recorded in a model folder


def evaluation_path(folder: str | Path, sha256: str) -> Path:
    """Where the evaluation on data with this fingerprint lives: one file per distinct test set."""
    return Path(folder) / EVALUATIONS / f"{sha256[:FINGERPRINT_PREFIX]}.json"


def record_evaluation(folder: str | Path, result: dict, refresh_card: bool = True) -> Path:
    """Save an `evaluate_model` result in the model's `evaluations/` folder, atomically.

    The data fingerprint decides whether it is the same test: evaluating again on the same bytes
    replaces that record; other data adds one. The model card is regenerated to include it.
    """
    folder = Path(folder)
    data = result.get("data") or {}
    sha = data.get("sha256")
    if not sha:
        raise ValueError("evaluation result has no data fingerprint (data.sha256)")
    manifest = read_manifest(folder)
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
        write_card(folder)
    return dest


def load_evaluations(folder: str | Path) -> list[dict]:
    """The recorded evaluations, oldest first; unreadable files are skipped."""
    out = []
    evals = Path(folder) / EVALUATIONS
    if evals.is_dir():
        for path in sorted(evals.glob("*.json")):
            record = _read_json(path)
            if isinstance(record, dict) and isinstance(record.get("data"), dict):
                out.append(record)
    return sorted(out, key=lambda r: str(r.get("recorded", "")))


# ---------------------------------------------------------------------------------------------
# Building the card


def _read_json(path: Path, default: Any = None) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def summarize_metrics(m: dict) -> dict:
    """The headline numbers of a `compute_metrics` result."""
    out = {k: m.get(k) for k in ("macro_f1", "micro_f1", "weighted_f1", "accuracy", "n")}
    out["per_label"] = {
        label: {k: row.get(k) for k in ("precision", "recall", "f1", "support")}
        for label, row in (m.get("per_label") or {}).items()
    }
    return out


def _label_mapping(config: dict, previous: dict | None) -> dict | None:
    name = (config.get("data") or {}).get("mapping")
    if not name:
        return None
    try:
        from newsroles.model.labels import load_mapping

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
    metrics = _read_json(folder / "metrics.json", {}) or {}
    data = _read_json(folder / "data.json", {}) or {}
    previous = _read_json(folder / CARD_JSON)
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
        **extra_card_fields(metrics),  # hook: calibration, final fit (model/card_extras.py)
        "software": {
            "newsroles": manifest.get("newsroles_version"),
            "python": manifest.get("python"),
            "torch": manifest.get("torch"),
        },
    }


# ---------------------------------------------------------------------------------------------
# Markdown


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not recorded"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _cell(x: Any) -> str:
    return _fmt(x).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[Any]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" if a == "r" else ":---" for a in align) + "|"]
    lines += ["| " + " | ".join(_cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


def card_data(card: dict) -> ModelCardData:
    """The YAML metadata (Hugging Face model-card keys, plus a `newsroles` section), built with
    huggingface_hub so that `model-index` is exactly what a model hub reads."""
    base = card.get("base_model")
    hub = hub_id(base) if base and not card.get("parent") else None
    # Only a hub id belongs here; a local folder is named in the card body instead.
    if hub and (hub.startswith((".", "/", "~")) or "\\" in hub):
        hub = None
    results = []
    for row in card["metrics"]:
        m = row["metrics"]
        sha = (row["data"].get("sha256") or "")[:FINGERPRINT_PREFIX] or None
        dataset = {
            "task_type": "text-classification",
            "task_name": "Sentence role tagging",
            "dataset_type": "newsroles-jsonl",
            "dataset_name": Path(str(row["data"].get("path") or row["split"])).name,
            "dataset_split": row["split"],
            "dataset_revision": sha,
        }
        results.append(EvalResult(**dataset, metric_type="f1", metric_value=_round(m.get("macro_f1")), metric_name="macro F1", metric_args={"average": "macro"}))
        results.append(EvalResult(**dataset, metric_type="accuracy", metric_value=_round(m.get("accuracy")), metric_name="accuracy"))
        results += [
            EvalResult(**dataset, metric_type="f1", metric_value=_round(v.get("f1")), metric_name=f"F1 ({label})")
            for label, v in m["per_label"].items()
        ]
    return ModelCardData(
        library_name="newsroles",
        language=["en"],
        pipeline_tag="text-classification",
        tags=["newsroles", "news", "discourse", "sentence-classification", card["kind"] or "model"],
        base_model=hub,
        metrics=["f1", "accuracy"],
        model_name=f"{card['name']}-{card['id']}",
        eval_results=results or None,
        newsroles={"id": card["id"], "name": card["name"], "parent": card.get("parent"), "kind": card["kind"], "labels": card["labels"]},
    )


def front_matter(card: dict) -> dict:
    """The card's YAML metadata as a dict."""
    return card_data(card).to_dict()


def _round(x: Any) -> Any:
    return round(float(x), 4) if isinstance(x, (int, float)) else x


def _runtime_text(card: dict) -> str:
    export = card.get("export")
    if not export:
        return card.get("runtime") or "fp32"
    text = f"{card['runtime']}: {export.get('description')}, exported from `{export.get('exported_from')}`"
    if export.get("exported_macro_f1") is not None:
        text += (
            f"; macro-F1 {export['exported_macro_f1']:.4f} vs {export['fp32_macro_f1']:.4f} for the original on "
            f"{export.get('data')} ({round(-export['macro_f1_drop_points'], 2) + 0.0:+.2f} points, same label for "
            f"{100 * export['label_agreement']:.1f}% of sentences)"
        )
    if export.get("label_bias_tuned_on"):
        text += f"; label biases tuned again for this copy on {export['label_bias_tuned_on']}"
    return text


def render_markdown(card: dict) -> str:
    """MODEL_CARD.md for a card dict."""
    t = card["training"]
    parts = [f"# {card['name']} `{card['id']}`\n"]
    kind_text = (
        "TF-IDF + logistic regression baseline"
        if card["kind"] == "tfidf"
        else f"fine-tuned transformer ({card.get('model_type') or 'article'} model)"
    )
    parts.append(
        f"A newsroles sentence-role tagger: a {kind_text} that labels every sentence of a news article as "
        f"{', '.join(f'`{x}`' for x in card['labels'])}.\n"
    )

    parts.append("## Model details\n")
    parent = card.get("parent")
    details = [
        ["id", f"`{card['id']}`"],
        ["name", card["name"]],
        ["created", card.get("created")],
        ["kind", card["kind"]],
        ["base model", card.get("base_model") or ("none (trained from scratch on TF-IDF features)" if card["kind"] == "tfidf" else None)],
        ["parent version", f"`{parent}` ({card.get('parent_path')})" if parent else "none"],
        ["runtime", _runtime_text(card)],
        ["newsroles", card["software"].get("newsroles")],
    ]
    parts.append(_table(["", ""], details, "ll") + "\n")

    parts.append("## Intended use\n")
    parts.append(card["intended_use"] + "\n")
    parts.append("## Limitations\n")
    parts.append("\n".join(f"- {x}" for x in card["limitations"]) + "\n")

    parts.append("## Labels\n")
    mapping = card.get("label_mapping")
    sources: dict[str, list[str]] = {}
    dropped: list[str] = []
    if mapping and mapping.get("rules"):
        for rule in mapping["rules"]:
            (sources.setdefault(rule["label"], []) if rule["label"] is not None else dropped).extend(rule["when"])
    rows = [[i, f"`{label}`", ", ".join(sources.get(label, [])) or "–"] for i, label in enumerate(card["labels"])]
    parts.append(_table(["index", "label", "from corpus labels"], rows, "rll") + "\n")
    if mapping:
        note = f"Label mapping: `{mapping.get('name')}`."
        if dropped:
            note += f" Sentences labeled {', '.join(dropped)} are left out of training and scoring."
        parts.append(note + "\n")
    else:
        parts.append("No label mapping: the label set is the labels found in the training data.\n")

    parts.append("## Training data\n")
    rows = [[split, rec.get("path"), f"`{rec.get('sha256')}`"] for split, rec in (card.get("data") or {}).items()]
    parts.append((_table(["split", "file", "sha256"], rows, "lll") if rows else "Not recorded.") + "\n")

    parts.append("## Training procedure\n")
    rows = [
        ["training time", _duration(t.get("seconds"))],
        ["hardware", t.get("hardware") or "not recorded"],
        ["steps", t.get("steps")],
        ["epochs run", t.get("epochs_run")],
        ["best epoch (on dev)", t.get("best_epoch")],
        ["seed", t.get("seed")],
    ]
    if t.get("baseline"):
        b = t["baseline"]
        rows += [["C", f"{b.get('C'):g}" if isinstance(b.get("C"), (int, float)) else b.get("C")],
                 ["class weight", b.get("class_weight") or "none"], ["n-grams", f"1-{b.get('ngram_max')}"]]
    parts.append(_table(["", ""], [r for r in rows if r[1] is not None], "ll") + "\n")
    config_yaml = yaml.safe_dump(card.get("config") or {}, sort_keys=False, allow_unicode=True).rstrip()
    parts.append("Configuration (`config.yaml`):\n\n```yaml\n" + config_yaml + "\n```\n")

    parts.append("## Evaluation\n")
    if card["metrics"]:
        rows = [
            [
                row["split"],
                Path(str(row["data"].get("path"))).name if row["data"].get("path") else "–",
                f"`{(row['data'].get('sha256') or '')[:FINGERPRINT_PREFIX]}`",
                row["metrics"].get("macro_f1"),
                row["metrics"].get("accuracy"),
                row["metrics"].get("n"),
                row.get("recorded") or "at training",
            ]
            for row in card["metrics"]
        ]
        parts.append(_table(["split", "data", "sha256", "macro-F1", "accuracy", "sentences", "recorded"], rows, "lllrrrl") + "\n")
        header = ["label"] + [
            f"F1 {row['split']}" + (" (re-evaluated)" if row["source"] == "evaluation" and row["split"] == "dev" else "")
            for row in card["metrics"]
        ] + ["support (first)"]
        first = card["metrics"][0]["metrics"]["per_label"]
        rows = [
            [f"`{label}`"] + [row["metrics"]["per_label"].get(label, {}).get("f1") for row in card["metrics"]] + [first.get(label, {}).get("support")]
            for label in card["labels"]
        ]
        parts.append("F1 per role:\n\n" + _table(header, rows) + "\n")
    else:
        parts.append("No metrics recorded yet: run `newsroles evaluate` on held-out data.\n")
    parts.extend(extra_sections(card))  # hook: model/card_extras.py

    parts.append("## How to use\n")
    parts.append(
        "```bash\n"
        "newsroles label story.txt --model path/to/this/folder\n"
        f"newsroles evaluate {card['id']} test.jsonl          # by id, from the models directory\n"
        f"newsroles compare {card['id']} <other id> --data test.jsonl\n"
        "```\n\n"
        "```python\n"
        "from newsroles.inference.predictor import load_labeler\n"
        "labeler = load_labeler(\"path/to/this/folder\")\n"
        "article = labeler.label_text(\"WASHINGTON -- ...\")\n"
        "```\n"
    )
    sw = card["software"]
    parts.append("## Framework versions\n")
    parts.append("\n".join(f"- {k}: {v}" for k, v in sw.items() if v) + "\n")
    return str(ModelCard(f"---\n{card_data(card).to_yaml()}\n---\n" + "\n".join(parts)))


def write_card(folder: str | Path) -> dict:
    """(Re)generate MODEL_CARD.md and model_card.json in a model folder; returns the card."""
    folder = Path(folder)
    card = build_card(folder)
    with atomic_file(folder / CARD_JSON) as fh:
        json.dump(card, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    with atomic_file(folder / CARD_MD) as fh:
        fh.write(render_markdown(card))
    return card


def read_card_markdown(folder: str | Path) -> str:
    """The folder's MODEL_CARD.md, or one generated on the fly (not written) when it has none."""
    path = Path(folder) / CARD_MD
    if path.is_file():
        text = read_card_text(path)
        if text is not None:
            return text
    return render_markdown(build_card(folder))


def read_card_text(path: Path) -> str | None:
    """A card file's text (bytes that are not UTF-8 replaced, with a warning), or None, with a
    warning, when it is not text at all (the caller then generates the card from the folder)."""
    import warnings

    from newsroles.model.errors import InputWarning
    from newsroles.model.textio import Decoder, binary_error

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the model card ({exc.strerror or exc})", path) from None
    if binary_error(data, str(path), whole=True) is not None:
        warnings.warn(f"{path}: corrupt model card (not text); showing one generated from the folder", InputWarning, stacklevel=2)
        return None
    return Decoder(str(path))(data)


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
