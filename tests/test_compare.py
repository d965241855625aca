"""Comparing versions: paired bootstrap and McNemar against hand-computed cases, changed sentences, report, CLI."""

from __future__ import annotations

import json
import math
import random
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from newsroles.inference.evaluation.compare_report import write_report
from newsroles.model.article import Article, Sentence
from newsroles.model.store.folder import write_common_files
from newsroles.training.evaluation.compare import changed_sentences, compare_predictions, flatten, to_json
from newsroles.training.evaluation.metrics import compute_metrics
from newsroles.training.evaluation.significance import macro_f1_from_confusion, mcnemar, mcnemar_counts, paired_bootstrap

# ------------------------------------------------------------------------------ macro-F1


def test_macro_f1_from_confusion_matches_compute_metrics():
    rng = random.Random(3)
    labels = ["a", "b", "c", "d"]
    for _ in range(20):
        n = rng.randint(0, 30)
        gold = [rng.choice(labels[:3]) for _ in range(n)]  # d never gold: zero-support label counts 0
        pred = [rng.choice(labels) for _ in range(n)]
        m = compute_metrics(gold, pred, labels)
        assert float(macro_f1_from_confusion(np.array(m["confusion_matrix"]))) == pytest.approx(m["macro_f1"], abs=1e-12)


# ------------------------------------------------------------------------------ paired bootstrap

# Two articles, labels [x, y]; A is perfect on article 1, B on article 2:
#   article 1: gold x y, A x y, B x x     article 2: gold x y, A y y, B x y
# Article 1 alone: A macro-F1 1; B: x F1 2/3, y 0 -> 1/3; delta -2/3.
# Article 2 alone: A 1/3, B 1; delta +2/3.
# Both: A pred x y y y: x 2/3, y 4/5 -> 11/15; B pred x x x y: x 4/5, y 2/3 -> 11/15; delta 0.
# A resample draws two articles: (1, 1) with p 1/4 -> -2/3 (F1 does not change when an article is
# doubled), (1, 2) with p 1/2 -> 0, (2, 2) with p 1/4 -> +2/3. The 2.5th and 97.5th percentiles are
# therefore -2/3 and +2/3, and B wins in a quarter of the resamples.
GOLD2 = ["x", "y", "x", "y"]
A2 = ["x", "y", "y", "y"]
B2 = ["x", "x", "x", "y"]
GROUPS2 = ["art1", "art1", "art2", "art2"]


def test_bootstrap_hand_computed_two_articles():
    r = paired_bootstrap(GOLD2, A2, B2, GROUPS2, ["x", "y"], samples=4000, seed=1)
    assert r["a"] == pytest.approx(11 / 15) and r["b"] == pytest.approx(11 / 15)
    assert r["delta"] == pytest.approx(0.0, abs=1e-12)
    assert r["low"] == pytest.approx(-2 / 3) and r["high"] == pytest.approx(2 / 3)
    assert set(np.round(r["deltas"], 9)) == {round(-2 / 3, 9), 0.0, round(2 / 3, 9)}
    assert r["b_better_share"] == pytest.approx(0.25, abs=0.03)
    assert r["articles"] == 2 and r["samples"] == 4000 and r["seed"] == 1


def test_bootstrap_resamples_articles_not_sentences():
    # Three identical articles: any resample of whole articles scales one confusion matrix, so
    # macro-F1 never moves and the interval is a point; a sentence-level bootstrap would spread.
    gold = ["x", "y", "y", "x"] * 3
    a = ["x", "y", "x", "x"] * 3
    b = ["x", "x", "y", "x"] * 3
    groups = [g for g in ("p", "q", "r") for _ in range(4)]
    r = paired_bootstrap(gold, a, b, groups, ["x", "y"], samples=300, seed=5)
    expected = compute_metrics(gold, b, ["x", "y"])["macro_f1"] - compute_metrics(gold, a, ["x", "y"])["macro_f1"]
    assert r["delta"] == pytest.approx(expected)
    assert r["low"] == pytest.approx(expected) and r["high"] == pytest.approx(expected)


def test_bootstrap_is_seeded_and_identical_models_give_zero():
    rng = random.Random(0)
    labels = ["a", "b", "c"]
    gold = [rng.choice(labels) for _ in range(200)]
    a = [g if rng.random() < 0.7 else rng.choice(labels) for g in gold]
    b = [g if rng.random() < 0.8 else rng.choice(labels) for g in gold]
    groups = [i // 10 for i in range(200)]
    r1 = paired_bootstrap(gold, a, b, groups, labels, samples=500, seed=7)
    r2 = paired_bootstrap(gold, a, b, groups, labels, samples=500, seed=7)
    assert (r1["low"], r1["high"]) == (r2["low"], r2["high"])
    assert r1["low"] <= r1["delta"] <= r1["high"]
    same = paired_bootstrap(gold, a, a, groups, labels, samples=200, seed=7)
    assert same["delta"] == same["low"] == same["high"] == 0.0 and same["b_better_share"] == 0.0
    with pytest.raises(ValueError):
        paired_bootstrap(gold, a, b[:-1], groups, labels)


# ------------------------------------------------------------------------------ McNemar


def test_mcnemar_exact_binomial_small_counts():
    # b = 1, c = 5: n = 6, P[X <= 1] = (1 + 6) / 64, two-sided 14/64.
    r = mcnemar_counts(1, 5)
    assert r["method"] == "exact binomial" and r["p_value"] == pytest.approx(14 / 64)
    assert mcnemar_counts(0, 6)["p_value"] == pytest.approx(2 / 64)
    assert mcnemar_counts(3, 3)["p_value"] == 1.0  # 2 * 42/64 capped at 1
    assert mcnemar_counts(12, 12)["method"] == "exact binomial"  # 24 < 25
    assert mcnemar_counts(0, 0) == {"method": "none (no discordant sentences)", "statistic": 0.0, "p_value": 1.0, "discordant": 0}


def test_mcnemar_chi_square_with_continuity_correction():
    # b = 10, c = 30: (|10 - 30| - 1)^2 / 40 = 9.025; with 1 dof, p = erfc(sqrt(9.025 / 2)).
    r = mcnemar_counts(10, 30)
    assert r["method"].startswith("chi-square")
    assert r["statistic"] == pytest.approx(9.025)
    assert r["p_value"] == pytest.approx(math.erfc(math.sqrt(9.025 / 2)), rel=1e-9)
    r = mcnemar_counts(5, 20)  # 25: the first count that uses chi-square; (15 - 1)^2 / 25 = 7.84
    assert r["method"].startswith("chi-square") and r["statistic"] == pytest.approx(7.84)


def test_mcnemar_from_predictions_counts_the_table():
    gold = ["x", "x", "y", "y", "x", "y"]
    a = ["x", "y", "y", "x", "x", "x"]  # right: 1, 3, 5
    b = ["x", "x", "x", "y", "y", "x"]  # right: 1, 2, 4
    r = mcnemar(gold, a, b)
    assert (r["both_correct"], r["a_only_correct"], r["b_only_correct"], r["both_wrong"]) == (1, 2, 2, 1)
    assert r["p_value"] == 1.0 and r["n"] == 6


# ------------------------------------------------------------------------------ changed sentences and the dict

LABELS = ["stance", "quote", "background", "fact"]


def article(aid, labels, texts=None):
    texts = texts or [f"{aid} sentence {i}" for i in range(len(labels))]
    return Article(id=aid, sentences=[Sentence(t, label=lab) for t, lab in zip(texts, labels)])


def onehot(rows):
    """Probabilities from (label, confidence) rows; the rest spread evenly."""
    out = []
    for label, p in rows:
        row = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
        row[LABELS.index(label)] = p
        out.append(row)
    return np.array(out)


ARTICLES = [
    article("a1", ["quote", "fact", None, "stance"], ["He said <b>no</b>.", "It fell.", "Unlabeled.", "It is bad."]),
    article("a2", ["background", "quote"]),
]
PROBS_A = [
    onehot([("quote", 0.9), ("fact", 0.6), ("quote", 0.5), ("fact", 0.5)]),
    onehot([("background", 0.7), ("stance", 0.4)]),
]
PROBS_B = [
    onehot([("stance", 0.8), ("fact", 0.7), ("fact", 0.5), ("background", 0.6)]),
    onehot([("fact", 0.4), ("quote", 0.9)]),
]


def test_changed_sentences_worst_first():
    scored = flatten(ARTICLES, [PROBS_A, PROBS_B], LABELS)
    assert scored.gold == ["quote", "fact", "stance", "background", "quote"]  # the unlabeled one is left out
    changes = changed_sentences(scored)
    # a1:1 quote 0.9 -> stance: regression, p(gold) 0.9 -> 0.2/3; a2:1 background 0.7 -> fact: regression,
    # 0.7 -> 0.2; a1:4 stance wrong both times (fact -> background); a2:2 fixed.
    assert [(c["article"], c["sentence"], c["change"]) for c in changes] == [
        ("a1", 1, "regression"), ("a2", 1, "regression"), ("a1", 4, "still wrong"), ("a2", 2, "fix")]
    first = changes[0]
    assert first["a"] == {"label": "quote", "confidence": 0.9} and first["b"]["label"] == "stance"
    assert first["p_gold_a"] == 0.9 and first["p_gold_b"] == pytest.approx(0.0667, abs=1e-4)


def test_compare_predictions_against_the_first_model():
    infos = [{"id": f"id{i}", "name": "m", "path": f"/m/{i}", "kind": "tfidf", "ref": f"r{i}"} for i in range(3)]
    result = compare_predictions(ARTICLES, LABELS, infos, [PROBS_A, PROBS_B, PROBS_A], samples=50, seed=1)
    assert [(c["a"], c["b"]) for c in result["comparisons"]] == [(0, 1), (0, 2)]
    first, same = result["comparisons"]
    gold = ["quote", "fact", "stance", "background", "quote"]
    m_a = compute_metrics(gold, ["quote", "fact", "fact", "background", "stance"], LABELS)
    m_b = compute_metrics(gold, ["stance", "fact", "background", "fact", "quote"], LABELS)
    assert first["delta"]["macro_f1"] == pytest.approx(m_b["macro_f1"] - m_a["macro_f1"])
    assert first["delta"]["per_label_f1"]["quote"] == pytest.approx(m_b["per_label"]["quote"]["f1"] - m_a["per_label"]["quote"]["f1"])
    assert first["changed_counts"] == {"regression": 2, "still wrong": 1, "fix": 1}
    assert same["changed"] == [] and same["delta"]["macro_f1"] == 0.0
    assert result["data"]["labeled_sentences"] == 5
    json.dumps(to_json(result))  # plain JSON once the bootstrap distributions are dropped


def test_report_is_self_contained_html(tmp_path):
    infos = [{"id": "id0", "name": "m", "path": "/m/0", "kind": "tfidf", "ref": "r0"},
             {"id": "id1", "name": "m", "path": "/m/1", "kind": "tfidf", "ref": "r1"}]
    result = compare_predictions(ARTICLES, LABELS, infos, [PROBS_A, PROBS_B], samples=50, seed=1, data={"path": "d.jsonl"})
    page = write_report(result, tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    images = re.findall(r"src='([^']*)'", page)
    assert len(images) >= 3 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
    assert "He said &lt;b&gt;no&lt;/b&gt;." in page  # sentence text escaped
    assert "McNemar" in page and "Changed sentences" in page and "regression" in page


# ------------------------------------------------------------------------------ CLI on two tiny versions


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    from newsroles.training.baseline import train_baseline
    from newsroles.training.data.readers import read_articles

    from test_registry import write_tiny_data

    root = tmp_path_factory.mktemp("cmp")
    data = write_tiny_data(root / "data.jsonl", n=10, seed=2)
    train = read_articles(write_tiny_data(root / "train.jsonl", n=6, seed=9), LABELS)
    for name, c in (("v1", 1.0), ("v2", 0.05)):
        train_baseline(train, None, LABELS, {"C": c}, root / "models" / "tiny" / name, {}, {})
    return root, data


def test_cli_compare_prints_side_by_side_and_writes_json_and_report(two_versions):
    from newsroles.inference.cli import app
    from newsroles.model.cards.evaluations import load_evaluations

    root, data = two_versions
    models = root / "models"
    out, report = root / "cmp.json", root / "cmp.html"
    result = CliRunner().invoke(
        app,
        ["compare", "tiny/v1", str(models / "tiny" / "v2"), "--data", str(data), "--models-dir", str(models),
         "--samples", "200", "-o", str(out), "--report", str(report)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    text = result.output
    for needle in ("macro-F1", "accuracy", "F1 stance", "Δ (B − A)", "paired bootstrap over 10 articles", "95% CI",
                   "McNemar", "changed label"):
        assert needle in text
    written = json.loads(out.read_text(encoding="utf-8"))
    (c,) = written["comparisons"]
    assert "deltas" not in c["bootstrap"] and c["bootstrap"]["samples"] == 200
    assert written["models"][0]["path"].endswith("v1")
    assert report.read_text(encoding="utf-8").count("data:image/png;base64,") >= 3
    for name in ("v1", "v2"):
        (record,) = load_evaluations(models / "tiny" / name)
        assert record["data"]["sha256"] == written["data"]["sha256"]


def test_run_comparison_records_each_evaluation_and_writes_json_and_report(two_versions, tmp_path):
    """What `newsroles compare` does, as one function: names looked up in the models directory, the
    result handed over before anything is written, each evaluation recorded in its model's folder."""
    from newsroles.inference.evaluation.compare import run_comparison
    from newsroles.model.cards.evaluations import load_evaluations

    root, data = two_versions
    models = root / "models"
    out, report = tmp_path / "cmp.json", tmp_path / "cmp.html"
    seen = []
    compared = run_comparison(["tiny/v1", "tiny/v2"], data, models_dir=models, samples=50, output=out, report=report,
                              on_result=lambda result: seen.append(out.exists() or report.exists()))
    assert seen == [False] and compared.warnings == []
    written = json.loads(out.read_text(encoding="utf-8"))
    assert [row["path"] for row in written["models"]] == [str(models / "tiny" / "v1"), str(models / "tiny" / "v2")]
    assert "<html" in report.read_text(encoding="utf-8").lower()
    for name in ("v1", "v2"):
        assert [r["data"]["sha256"] for r in load_evaluations(models / "tiny" / name)] == [written["data"]["sha256"]]


def test_cli_compare_three_models_and_errors(two_versions):
    from newsroles.inference.cli import app

    root, data = two_versions
    models = root / "models"
    args = ["--data", str(data), "--models-dir", str(models), "--samples", "50", "--no-record"]
    result = CliRunner().invoke(app, ["compare", "tiny/v1", "tiny/v2", "tiny/v1", *args], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "reference" in result.output and "95% CI of Δ" in result.output
    one = CliRunner().invoke(app, ["compare", "tiny/v1", *args])
    assert one.exit_code == 2 and "at least two" in one.output
    missing = CliRunner().invoke(app, ["compare", "tiny/v1", "nope", *args])
    assert missing.exit_code == 2 and "no model version 'nope'" in missing.output
    other = models / "other" / "v1"
    other.mkdir(parents=True)
    write_common_files(other, kind="tfidf", labels=["a", "b"], config={}, metrics={}, data={})
    for weights in ("baseline.safetensors", "baseline.json"):
        (other / weights).write_bytes(b"")
    mismatch = CliRunner().invoke(app, ["compare", "tiny/v1", "other", *args])
    assert mismatch.exit_code == 2 and "label sets differ" in mismatch.output


def test_significantly_worse_means_the_whole_interval_below_zero():
    from newsroles.training.evaluation.compare import significantly_worse

    def result(*intervals):
        return {"comparisons": [{"b": i + 1, "bootstrap": {"low": lo, "high": hi}} for i, (lo, hi) in enumerate(intervals)]}

    assert significantly_worse(result((-0.05, 0.01), (0.01, 0.04))) == []
    assert [c["b"] for c in significantly_worse(result((-0.05, 0.01), (-0.06, -0.01)))] == [2]


def test_cli_compare_fail_if_worse_exits_1_exactly_when_a_model_is_worse(two_versions, tmp_path):
    from newsroles.inference.cli import app
    from newsroles.training.evaluation.compare import significantly_worse

    from newsroles.training.baseline import train_baseline
    from newsroles.training.data.readers import read_articles

    from test_registry import write_tiny_data

    root, data = two_versions
    # A model taught the wrong roles (each gold label replaced by the next one): clearly worse.
    train = read_articles(write_tiny_data(tmp_path / "train.jsonl", n=6, seed=9), LABELS)
    for sentence in (s for a in train for s in a.sentences if s.label):
        sentence.label = LABELS[(LABELS.index(sentence.label) + 1) % len(LABELS)]
    train_baseline(train, None, LABELS, {"C": 1.0}, tmp_path / "wrong", {}, {})
    args = ["--data", str(data), "--models-dir", str(root / "models"), "--samples", "200", "--no-record", "--fail-if-worse"]
    for a, b, code in (("tiny/v1", "tiny/v1", 0), ("tiny/v1", str(tmp_path / "wrong"), 1), (str(tmp_path / "wrong"), "tiny/v1", 0)):
        out = tmp_path / "cmp.json"
        result = CliRunner().invoke(app, ["compare", a, b, *args, "-o", str(out)])
        assert result.exit_code == code, result.output
        assert bool(significantly_worse(json.loads(out.read_text(encoding="utf-8")))) == bool(code)
        assert ("worse than tiny/v1 by the bootstrap interval" in result.output) == bool(code)


def test_version_option_prints_the_installed_version():
    from importlib import metadata

    from newsroles.inference.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"newsroles {metadata.version('newsroles')}"
