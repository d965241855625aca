"""The paper's label set: configs/content-types.yaml trains, evaluates and labels with eight types."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.labels import load_mapping
from conftest import BRAT_MINIATURE

runner = CliRunner()
CONTENT_TYPES = list(load_mapping("content-types").labels)


def test_the_config_names_the_mapping_and_data_converted_with_it():
    config = yaml.safe_load(open("configs/content-types.yaml", encoding="utf-8"))
    assert config["data"]["mapping"] == "content-types"
    assert "content-types" in config["data"]["train"] and "content-types" in config["data"]["dev"]
    assert len(CONTENT_TYPES) == 8 and "Speech" not in CONTENT_TYPES and "NA" not in CONTENT_TYPES


def test_train_evaluate_and_label_with_the_eight_content_types(tiny_base_model, tmp_path):
    data = tmp_path / "data"
    converted = runner.invoke(app, ["data", "convert", str(BRAT_MINIATURE), str(data), "--mapping", "content-types"])
    assert converted.exit_code == 0, converted.output
    trained = runner.invoke(app, [
        "train", "--config", "configs/content-types.yaml", "--output", str(tmp_path / "model"), "--quiet",
        "--data.train", str(data / "train.jsonl"), "--data.dev", str(data / "validation.jsonl"),
        "--model.base", str(tiny_base_model), "--model.encoder_layers", "null", "--model.max_length", "128",
        "--model.context_hidden", "16", "--train.epochs", "1", "--train.batch_size", "2",
    ])
    assert trained.exit_code == 0, trained.output
    manifest = json.loads((tmp_path / "model" / "newsroles.json").read_text())
    assert manifest["labels"] == CONTENT_TYPES
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert set(metrics["dev"]["per_label"]) == set(CONTENT_TYPES) and len(metrics["dev"]["confusion_matrix"]) == 8

    out = tmp_path / "eval.json"
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "model"), str(data / "validation.jsonl"), "-o", str(out)])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(out.read_text())["n"] == 4  # five validation sentences, one NA

    story = tmp_path / "story.txt"
    story.write_text("A storm killed 12 people on Monday. The region was hit by a similar storm in 1998.\n", encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labeled = runner.invoke(app, ["label", str(story), "--model", str(tmp_path / "model"), "-o", str(labels), "--quiet"])
    assert labeled.exit_code == 0, labeled.output
    for s in json.loads(labels.read_text())["sentences"]:
        assert s["label"] in CONTENT_TYPES and set(s["scores"]) == set(CONTENT_TYPES)
