"""Model cards: front matter and sections from what was recorded, evaluation records, `evaluate` with several models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from newsroles.model.cards.card import CARD_JSON, CARD_MD, build_card, write_card
from newsroles.model.cards.card import record_evaluation
from newsroles.model.cards.evaluations import evaluation_path, load_evaluations
from newsroles.model.cards.markdown import render_markdown
from newsroles.model.store.folder import write_common_files
from newsroles.training.evaluation.metrics import compute_metrics

LABELS = ["stance", "quote", "background", "fact"]
GOLD = ["stance", "quote", "quote", "background", "fact", "fact"]
PRED = ["stance", "quote", "background", "background", "fact", "quote"]
DEV_SHA = "d" * 64


def transformer_folder(root: Path, **extra) -> Path:
    """A transformer model folder with placeholder weights: enough for read_manifest and the card."""
    folder = root / "default" / "20261129-120000"
    folder.mkdir(parents=True)
    config = {"seed": 13, "name": "default", "data": {"train": "train.jsonl", "dev": "dev.jsonl", "mapping": "roles"},
              "model": {"type": "article", "base": "all-MiniLM-L6-v2"}, "train": {"epochs": 3}}
    metrics = {"history": [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}], "best_epoch": 2, "dev": compute_metrics(GOLD, PRED, LABELS)}
    data = {"train": {"path": "train.jsonl", "sha256": "t" * 64}, "dev": {"path": "dev.jsonl", "sha256": DEV_SHA}}
    write_common_files(
        folder, kind="transformer", labels=LABELS, config=config, metrics=metrics, data=data,
        extra={"aux_labels": ["Main"], "model_type": "article", "base_model": "all-MiniLM-L6-v2", "training_seconds": 3725.0,
               "training_steps": 342, "hardware": "NVIDIA H200", "torch": "2.13.0", "id": "c0ffee01", "name": "default",
               "parent": None, "parent_path": None, **extra},
    )
    for name in ("model.safetensors", "encoder/config.json", "tokenizer_config.json"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    return folder


def split_card(markdown: str) -> tuple[dict, str]:
    assert markdown.startswith("---\n")
    head, body = markdown[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_card_front_matter_follows_hugging_face_conventions(tmp_path):
    folder = transformer_folder(tmp_path)
    meta, _ = split_card(render_markdown(build_card(folder)))
    assert meta["library_name"] == "newsroles"
    assert meta["pipeline_tag"] == "text-classification"
    assert meta["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"  # the bundled alias, as a hub id
    assert meta["newsroles"] == {"id": "c0ffee01", "name": "default", "parent": None, "kind": "transformer", "labels": LABELS}
    (entry,) = meta["model-index"]
    assert entry["name"] == "default-c0ffee01"
    (result,) = entry["results"]
    assert result["dataset"]["split"] == "dev" and result["dataset"]["revision"] == DEV_SHA[:12]
    by_name = {m["name"]: m["value"] for m in result["metrics"]}
    # stance 1.0, quote 0.5 (tp 1, fp 1, fn 1), background 2/3, fact 2/3 -> macro 17/24; accuracy 4/6
    assert by_name["macro F1"] == pytest.approx(17 / 24, abs=1e-4)
    assert by_name["accuracy"] == pytest.approx(0.6667, abs=1e-4)
    assert by_name["F1 (stance)"] == 1.0


def test_card_body_holds_what_was_recorded(tmp_path):
    folder = transformer_folder(tmp_path)
    card = write_card(folder)
    _, body = split_card((folder / CARD_MD).read_text(encoding="utf-8"))
    for section in ("## Model details", "## Intended use", "## Limitations", "## Labels", "## Training data",
                    "## Training procedure", "## Evaluation", "## How to use"):
        assert section in body
    assert "| training time | 1 h 02 min |" in body  # 3725 s
    assert "| hardware | NVIDIA H200 |" in body
    assert "| best epoch (on dev) | 2 |" in body
    assert DEV_SHA in body and "t" * 64 in body  # data fingerprints
    assert "| 1 | `quote` | Speech |" in body  # label index and the corpus labels it maps from
    assert "Sentences labeled NA are left out" in body
    assert "learning_rate" not in body and "epochs: 3" in body  # the config as recorded
    assert "dev scores are slightly optimistic" in body  # the dev split chose the epoch
    # model_card.json is the same card.
    assert json.loads((folder / CARD_JSON).read_text(encoding="utf-8")) == json.loads(json.dumps(card))
    assert card["training"]["steps"] == 342 and card["label_mapping"]["name"] == "roles"
    assert card["metrics"][0]["metrics"]["macro_f1"] == pytest.approx(17 / 24)


def test_card_names_the_parent_version(tmp_path):
    parent = "/models/default/20261101-000000"
    folder = transformer_folder(tmp_path, parent="abcd1234", parent_path=parent, base_model=parent)
    card = build_card(folder)
    meta, body = split_card(render_markdown(card))
    assert meta["newsroles"]["parent"] == "abcd1234"
    assert "base_model" not in meta  # a local folder is not a hub id; the body names it
    assert "| parent version | `abcd1234` (/models/default/20261101-000000) |" in body


def evaluation(path: str, sha: str, gold=GOLD, pred=PRED) -> dict:
    return {"model": "x", "data": {"path": path, "sha256": sha, "articles": 2, "sentences": len(gold)}, "seconds": 0.1,
            **compute_metrics(gold, pred, LABELS)}


def test_record_evaluation_one_file_per_data_fingerprint_and_card_refreshed(tmp_path):
    folder = transformer_folder(tmp_path)
    write_card(folder)
    first = record_evaluation(folder, evaluation("test.jsonl", "e" * 64))
    assert first == evaluation_path(folder, "e" * 64) == folder / "evaluations" / ("e" * 12 + ".json")
    again = record_evaluation(folder, evaluation("copy-of-test.jsonl", "e" * 64, pred=GOLD))  # same bytes: same test
    assert again == first
    record_evaluation(folder, evaluation("dev.jsonl", DEV_SHA))
    records = load_evaluations(folder)
    assert len(records) == 2
    assert {r["data"]["sha256"] for r in records} == {"e" * 64, DEV_SHA}
    replaced = json.loads(first.read_text(encoding="utf-8"))
    assert replaced["macro_f1"] == 1.0 and replaced["model_id"] == "c0ffee01" and "recorded" in replaced
    card = json.loads((folder / CARD_JSON).read_text(encoding="utf-8"))
    splits = [(row["split"], row["source"]) for row in card["metrics"]]
    assert ("dev", "training") in splits and ("copy-of-test", "evaluation") in splits
    assert ("dev", "evaluation") in splits  # the fingerprint says it is the dev data
    assert "copy-of-test.jsonl" in (folder / CARD_MD).read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        record_evaluation(folder, {"data": {}})


def test_evaluate_cli_takes_several_models_and_records_each(tmp_path):
    from newsroles.inference.cli import app
    from newsroles.training.baseline import train_baseline
    from newsroles.training.data.readers import read_articles

    from test_registry import write_tiny_data

    data = write_tiny_data(tmp_path / "data.jsonl", n=6)
    articles = read_articles(data, LABELS)
    folders = []
    for i, c in enumerate((1.0, 0.1)):
        folder = train_baseline(articles, None, LABELS, {"C": c}, tmp_path / "models" / "tiny" / f"v{i}", {}, {})
        folders.append(folder)
    out = tmp_path / "eval.json"
    result = CliRunner().invoke(app, ["evaluate", str(folders[0]), "tiny/v1", str(data), "-o", str(out),
                                      "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(written, list) and len(written) == 2
    for folder in folders:
        (record,) = load_evaluations(folder)
        assert record["data"]["path"] == str(data)
        assert "data.jsonl" in (folder / CARD_MD).read_text(encoding="utf-8")
    bad = CliRunner().invoke(app, ["evaluate", "nope", str(data), "--models-dir", str(tmp_path / "models")])
    assert bad.exit_code == 2 and "error:" in bad.output
