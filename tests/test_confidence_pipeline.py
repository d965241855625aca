"""Calibration and withholding end to end on a tiny trained model: training fits and stores the
temperature, older folders still load, labeling withholds boilerplate and low-confidence
sentences, evaluation reports them, exported copies carry both."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.inference.predictor import Labeler, load_labeler
from newsroles.model.article import Article, Sentence
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from synthetic import synthetic_articles, write_jsonl


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    return write_jsonl(synthetic_articles(30, seed=11), folder / "train.jsonl"), write_jsonl(synthetic_articles(10, seed=12), folder / "dev.jsonl")


@pytest.fixture(scope="module")
def model(tiny_base_model, data, tmp_path_factory):
    train, dev = data
    config = load_config("configs/tiny.yaml", {"model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev), "train.epochs": "3"})
    return train_from_config(config, output=tmp_path_factory.mktemp("models") / "m", progress=False)


def test_training_fits_a_temperature_stores_it_in_the_weights_and_reports_ece(model):
    metrics = json.loads((model / "metrics.json").read_text())
    calibration = metrics["calibration"]
    assert calibration["temperature"] > 0 and calibration["ece_bins"] == 15
    assert calibration["ece_after"] <= calibration["ece_before"] + 1e-6
    assert calibration["n"] == metrics["dev"]["n"]
    labeler = load_labeler(model, "cpu")
    assert float(labeler.runner.model.temperature) == pytest.approx(calibration["temperature"], rel=1e-5)
    card = (model / "README.md").read_text()
    assert "## Calibration" in card and f"{calibration['temperature']:.3f}" in card


def test_a_folder_saved_before_calibration_loads_with_temperature_one(model, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    old = tmp_path / "old"
    shutil.copytree(model, old)
    tensors = load_file(str(old / "model.safetensors"))
    temperature = float(tensors.pop("temperature"))
    save_file(tensors, str(old / "model.safetensors"))
    articles = synthetic_articles(3, seed=3)
    new_probs = load_labeler(model, "cpu").predict(articles)
    old_probs = load_labeler(old, "cpu").predict(articles)
    for p_new, p_old in zip(new_probs, old_probs):
        # Without the temperature the logits are T times the calibrated ones.
        expected = np.exp(np.log(p_new) * temperature)
        np.testing.assert_allclose(p_old, expected / expected.sum(1, keepdims=True), atol=1e-4)


def test_labeling_withholds_boilerplate_and_low_confidence_keeping_scores(model):
    labeler = load_labeler(model, "cpu")
    article = Article("x", [Sentence("police killed people in an attack on monday"), Sentence("(Yonhap)"), Sentence("he said")])
    probs, na = labeler.predict_with_na([article])
    assert na is not None and na[0].shape == (3,) and ((na[0] >= 0) & (na[0] <= 1)).all()
    labeler.label([article])
    yonhap = article.sentences[1]
    assert yonhap.label is None and yonhap.reason == "boilerplate" and set(yonhap.scores) == set(labeler.labels)
    confidences = sorted(s.confidence for s in article.sentences if s.reason is None)
    above_all = Labeler(labeler.loaded, min_confidence=float(np.nextafter(confidences[-1], 2.0)))
    above_all.label([article])
    assert all(s.label is None for s in article.sentences)
    assert [s.reason for s in article.sentences] == ["low confidence", "boilerplate", "low confidence"]
    assert all(s.scores for s in article.sentences)
    Labeler(labeler.loaded, min_confidence=0.0).label([article])
    assert [s.reason for s in article.sentences] == [None, "boilerplate", None]


def test_label_cli_min_confidence_writes_null_labels_with_a_reason(model, tmp_path):
    story = tmp_path / "story.txt"
    story.write_text("Police killed people in an attack on Monday. He said it. (Yonhap)\n", encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    result = CliRunner().invoke(app, ["label", str(story), "--model", str(model), "-o", str(out), "--quiet", "--min-confidence", "0.999"])
    assert result.exit_code == 0, result.output
    sentences = json.loads(out.read_text())["sentences"]
    assert sentences[-1]["text"] == "(Yonhap)" and sentences[-1]["label"] is None and sentences[-1]["reason"] == "boilerplate"
    for s in sentences[:-1]:  # below the threshold: no label, a reason, the scores kept
        assert s["scores"] and (s["confidence"] >= 0.999 if s["label"] else s["reason"] == "low confidence")
    bad = CliRunner().invoke(app, ["label", str(story), "--model", str(model), "--min-confidence", "1.5"])
    assert bad.exit_code == 2


def test_evaluate_reports_calibration_boilerplate_and_writes_a_reliability_plot(model, data, tmp_path):
    _, dev = data
    out, plot = tmp_path / "eval.json", tmp_path / "reliability.png"
    result = CliRunner().invoke(app, ["evaluate", str(model), str(dev), "-o", str(out), "--plot", str(plot), "--no-record"])
    assert result.exit_code == 0, result.output
    assert "expected calibration error" in result.output
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics["calibration"]["ece"] <= 1.0
    assert sum(b["n"] for b in metrics["calibration"]["reliability"]) == metrics["n"]
    # The synthetic articles end with an NA line ("reuters"): boilerplate detection is scored.
    assert metrics["boilerplate"]["gold"] == 10
    assert metrics["withheld"]["n"] == sum(metrics["withheld"]["per_label"].values())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wrong = CliRunner().invoke(app, ["evaluate", str(model), str(dev), "--plot", str(tmp_path / "plot.txt"), "--no-record"])
    assert wrong.exit_code == 2 and "png" in wrong.output


def test_a_withheld_gold_role_sentence_counts_as_a_miss_for_its_role():
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions
    from newsroles.training.evaluation.withheld import WITHHELD, mark_withheld, withheld_report

    labels = ["quote", "fact"]
    article = Article("a", [Sentence("a", "quote"), Sentence("b", "fact"), Sentence("c", None, ["NA"]), Sentence("d", "fact")])
    probs = [np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.1, 0.9]])]
    masks = [np.array([False, False, True, True])]  # the NA line and the last fact withheld
    gold, pred = gold_and_predictions([article], probs, labels)
    pred = mark_withheld(pred, [article], masks)
    assert pred == ["quote", "fact", WITHHELD]
    metrics = compute_metrics(gold, pred, labels)
    assert metrics["per_label"]["fact"]["recall"] == 0.5 and metrics["per_label"]["fact"]["precision"] == 1.0
    assert metrics["accuracy"] == pytest.approx(2 / 3)
    report = withheld_report([article], masks, labels)
    assert report["withheld"] == {"n": 1, "per_label": {"quote": 0, "fact": 1}}
    assert report["boilerplate"]["precision"] == 0.5 and report["boilerplate"]["recall"] == 1.0


@pytest.mark.filterwarnings("ignore:.*does not compute bf16 natively")
@pytest.mark.parametrize("runtime", ["onnx", "bf16"])
def test_exported_copies_apply_the_temperature_and_give_p_na(tiny_base_model, tmp_path, runtime):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from transformers import AutoModel, AutoTokenizer

    from newsroles.inference.export.exporter import export_model
    from newsroles.model.network.classifier import SentenceRoleModel
    from newsroles.model.network.saved import save_transformer
    from newsroles.model.spec import ModelSpec

    torch.manual_seed(0)
    spec = ModelSpec(base=str(tiny_base_model), max_length=64, max_sentence_tokens=24, max_title_tokens=8, context_hidden=16)
    net = SentenceRoleModel(AutoModel.from_pretrained(tiny_base_model), spec, 2, 2)
    with torch.no_grad():
        net.head.weight.mul_(20.0)
        net.temperature.fill_(3.0)
    folder = tmp_path / "fp32"
    folder.mkdir()
    save_transformer(folder, net.eval(), AutoTokenizer.from_pretrained(tiny_base_model), labels=["quote", "fact"],
                     aux_labels=["Main", "NA"], config={"model": asdict(spec)}, metrics={}, data={}, extra={"name": "t"})
    articles = synthetic_articles(3, seed=5)
    reference, reference_na = load_labeler(folder, "cpu").predict_with_na(articles)
    copy = load_labeler(export_model(folder, tmp_path / runtime, runtime=runtime).folder)
    probs, na = copy.predict_with_na(articles)
    for a, b, c, d in zip(reference, probs, reference_na, na):
        np.testing.assert_allclose(b, a, atol=0.05)
        np.testing.assert_allclose(d, c, atol=0.05)
    # Calibrated: softer than the same head without its temperature.
    untempered = [np.exp(np.log(p) * 3.0) / np.exp(np.log(p) * 3.0).sum(1, keepdims=True) for p in reference]
    assert np.mean([p.max(1).mean() for p in probs]) < np.mean([p.max(1).mean() for p in untempered])


def test_label_report_counts_the_sentences_left_unlabeled_per_reason(model, tmp_path):
    from newsroles.inference.label import label_inputs

    story = tmp_path / "story.txt"
    story.write_text("Police killed people in an attack on Monday. (Yonhap)\n\nReporting by Jane Doe; Editing by John Roe\n", encoding="utf-8")
    report = label_inputs([str(story)], model, output=str(tmp_path / "out.jsonl"), progress=False)
    assert report.unlabeled.get("boilerplate", 0) >= 2 and report.sentences == 3


def test_fine_tuning_a_calibrated_model_starts_again_at_temperature_one(model, data):
    from newsroles.training.run import build_model

    train, dev = data
    assert float(load_labeler(model, "cpu").runner.model.temperature) != 1.0
    config = load_config("configs/tiny.yaml", {"model.base": str(model), "data.train": str(train), "data.dev": str(dev)})
    parent, _, _ = build_model(config, ["stance", "quote", "background", "fact"], [])
    assert float(parent.temperature) == 1.0
