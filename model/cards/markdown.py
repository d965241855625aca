"""A model card as Markdown: huggingface_hub's `ModelCard`, `ModelCardData` and `EvalResult`.

YAML front matter (`library_name`, `license`, `language`, `pipeline_tag`, `tags`, `base_model`,
`datasets`, `metrics`, `model-index` with one result per evaluated split) followed by the sections
of a Hugging Face card: model details, intended use, limitations, labels, training data, training
procedure, evaluation, how to use. The card itself (plain JSON) is model/cards/card.py's `build_card`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from newsroles.model.network.base import hub_id
from newsroles.model.cards.evaluations import FINGERPRINT_PREFIX
from newsroles.model.cards.extras import extra_sections


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
        license=card.get("license") or "unknown",
        language=["en"],
        pipeline_tag="text-classification",
        tags=["newsroles", "news", "discourse", "sentence-classification", card["kind"] or "model"],
        base_model=hub,
        datasets=card.get("datasets") or None,
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
    """The card file (README.md) for a card dict."""
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
        ["base model", _base_text(card)],
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
    parts.extend(extra_sections(card))  # hook: model/cards/extras.py

    parts.append("## How to use\n")
    package = card.get("package")
    if package:
        parts.append(
            f"Installed as a Python package (`pip install {package['wheel']}`), the model is found by its name:\n\n"
            f"```bash\nnewsroles label story.txt --model {package['name']}\n```\n\n"
            f"```python\nimport {package['module']}\nlabeler = {package['module']}.load()\n```\n\nFrom its folder:\n"
        )
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


def _base_text(card: dict) -> str | None:
    """The base encoder, and how many of its layers the model keeps when model.encoder_layers cut it."""
    if card["kind"] == "tfidf":
        return card.get("base_model") or "none (trained from scratch on TF-IDF features)"
    layers = ((card.get("config") or {}).get("model") or {}).get("encoder_layers")
    base = card.get("base_model")
    return f"{base} (its first {layers} layers: model.encoder_layers)" if base and layers else base
