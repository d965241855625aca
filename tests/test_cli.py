"""The command line end to end, and its answers to bad input: one line, exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from conftest import BRAT_MINIATURE
from synthetic import synthetic_articles, write_jsonl

runner = CliRunner()

STORY = """Storm hits coast

WASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.

The region was hit by a similar storm in 1998. Analysts expect rebuilding to take years.
"""


def invoke(*args, input=None):
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_base_model):
    """Convert the brat fixture, train a tiny article model and a baseline through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    converted = invoke("data", "convert", BRAT_MINIATURE, root / "data")
    assert converted.exit_code == 0, converted.output
    # The brat fixture is too small to learn from; train on synthetic articles, dev on the converted split.
    train = write_jsonl(synthetic_articles(24, seed=4), root / "train.jsonl")
    common = ["--config", "configs/tiny.yaml", "--data.train", train, "--data.dev", root / "data" / "validation.jsonl"]
    trained = invoke("train", *common, "--output", root / "model", "--quiet", "--model.base", tiny_base_model, "--train.epochs", "1")
    assert trained.exit_code == 0, trained.output
    baseline = invoke("baseline", *common, "--output", root / "baseline", "--baseline.C", "1.0")
    assert baseline.exit_code == 0, baseline.output
    story = root / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    return root


def test_convert_writes_one_jsonl_per_split(workspace):
    lines = (workspace / "data" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert {"id", "title", "sentences"} <= set(record)
    assert all("source_labels" in s for s in record["sentences"])


def test_data_stats_reports_the_label_distribution(workspace):
    result = invoke("data", "stats", workspace / "data" / "train.jsonl", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["articles"] == 2 and stats["sentences"] == 10


@pytest.mark.parametrize("model", ["model", "baseline"])
def test_evaluate_writes_metrics_json(workspace, model, tmp_path):
    out = tmp_path / "eval.json"
    result = invoke("evaluate", workspace / model, workspace / "data" / "validation.jsonl", "--output", out)
    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output and "Confusion" in result.output
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 4  # validation fixture: 5 sentences, one NA
    assert set(metrics["per_label"]) == {"stance", "quote", "background", "fact"}
    assert len(metrics["confusion_matrix"]) == 4


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_label_a_story_file(workspace, fmt, tmp_path):
    out = tmp_path / f"labels.{fmt}"
    result = invoke("label", workspace / "story.txt", "--model", workspace / "model", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        article = json.loads(out.read_text().splitlines()[0])
        assert article["id"] == "story" and article["title"] == "Storm hits coast"
        texts = [s["text"] for s in article["sentences"]]
        assert texts[0].startswith("WASHINGTON -- A storm killed 12 people")
        assert any(t.startswith('"We are doing everything') for t in texts)
        assert len(texts) == 4
        story = (workspace / "story.txt").read_text(encoding="utf-8")
        assert article["offsets_into"] == "text"
        for s in article["sentences"]:
            assert s["label"] in {"stance", "quote", "background", "fact"}
            assert 0.25 <= s["confidence"] <= 1.0
            assert abs(sum(s["scores"].values()) - 1.0) < 1e-4
            assert story[s["start"]:s["end"]] == s["text"]
    else:
        header, *rows = out.read_text().splitlines()
        assert header.startswith("article_id,sentence_index,text,label,confidence")
        assert header.endswith(",start,end,offsets_into")
        assert len(rows) == 4


def test_label_jsonl_from_stdin_to_terminal(workspace):
    record = json.dumps({"id": "x1", "text": "Officials said the storm killed 3 people."})
    result = invoke("label", "-", "--model", workspace / "baseline", input=record + "\n")
    assert result.exit_code == 0, result.output
    assert "x1" in result.output and "Officials said" in result.output
    assert "0-41" not in result.output
    shown = invoke("label", "-", "--model", workspace / "baseline", "--offsets", input=record + "\n")
    assert shown.exit_code == 0 and "0-41" in shown.output, shown.output


BAD_JSONL = '{"id": "a", "sentences": [{"text": "ok", "label": "fact"}]}\n{not json\n'
OTHER_LABEL = '{"id": "a", "sentences": [{"text": "ok", "label": "rumour"}]}\n'


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda w, t: ["evaluate", w / "model", t / "missing.jsonl"], "missing.jsonl"),
        (lambda w, t: ["evaluate", t, w / "data" / "validation.jsonl"], "not a newsroles model folder"),
        (lambda w, t: ["evaluate", w / "model", write(t / "bad.jsonl", BAD_JSONL)], "bad.jsonl:2"),
        (lambda w, t: ["evaluate", w / "model", write(t / "other.jsonl", OTHER_LABEL)], "rumour"),
        (lambda w, t: ["label", write(t / "empty.txt", "   \n"), "--model", w / "model"], "empty.txt"),
        (lambda w, t: ["label", t / "nope.txt", "--model", w / "model"], "nope.txt"),
        (lambda w, t: ["train", "--config", write(t / "c.yaml", "train:\n  epoch: 2\n")], "did you mean 'train.epochs'"),
        (lambda w, t: ["train", "--config", "configs/tiny.yaml", "--model.type", "artcle"], "did you mean 'article'"),
        (lambda w, t: ["data", "stats", write(t / "s.jsonl", BAD_JSONL)], "s.jsonl:2"),
        (lambda w, t: ["data", "convert", t / "nothing", t / "out.jsonl"], "nothing"),
    ],
    ids=["missing-data", "not-a-model", "bad-json-line", "unknown-label", "empty-article", "missing-input",
         "config-typo", "bad-choice", "stats-bad-line", "convert-missing"],
)
def test_bad_input_gets_one_line_and_exit_code_2(workspace, tmp_path, make_args, expected):
    args = make_args(workspace, tmp_path)
    before = set(tmp_path.rglob("*"))
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert set(tmp_path.rglob("*")) == before, "a failed command must not write anything"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_command_has_help_with_an_example():
    for args in (["--help"], ["train", "--help"], ["baseline", "--help"], ["evaluate", "--help"], ["label", "--help"],
                 ["data", "convert", "--help"], ["data", "stats", "--help"]):
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "Example" in result.output, args


def test_label_progress_shows_articles_and_their_rate():
    from newsroles.inference.label import _show_articles

    class Bar:
        def set_postfix(self, values, refresh=True):
            self.values = values

    bar = Bar()
    _show_articles(bar, 12, started=100.0, now=104.0)
    assert bar.values == {"articles": 12, "articles/s": "3.0"}
    _show_articles(None, 1, started=100.0)  # no bar (--quiet): nothing to do
