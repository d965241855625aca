"""Distillation: a teacher's targets file, the soft-label loss, and a student trained on them."""

from __future__ import annotations

import gzip
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.inference.distill_targets import write_teacher_targets
from newsroles.model.errors import InputWarning, UserError
from newsroles.model.store.folder import file_fingerprint
from newsroles.training.checkpoint import config_fingerprint
from newsroles.training.config import load_config
from newsroles.training.losses import distill_loss
from newsroles.training.recipes.distill import prepare_distillation
from newsroles.training.recipes.teacher_targets import read_targets
from newsroles.training.run import load_split, train_from_config
from synthetic import renamed, synthetic_articles, write_jsonl

LABELS = ["stance", "quote", "background", "fact"]


# ---------------------------------------------------------------------------------------------
# The loss, on hand-made tensors


def test_distill_loss_is_zero_when_the_student_matches_the_teacher_at_any_temperature():
    teacher = torch.tensor([[[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.4, 0.1]]])
    logits = torch.log(teacher) + 3.0  # the same softmax, shifted logits
    mask = torch.ones(1, 2, dtype=torch.bool)
    for temperature in (1.0, 2.0, 5.0):
        assert distill_loss(logits, teacher, mask, temperature).item() == pytest.approx(0.0, abs=1e-6)
        assert distill_loss(torch.zeros(1, 2, 4), teacher, mask, temperature).item() > 1e-3


def test_distill_loss_pulls_the_student_toward_the_teacher_and_ignores_masked_sentences():
    teacher = torch.tensor([[[0.1, 0.1, 0.1, 0.7], [0.9, 0.05, 0.03, 0.02]]])
    logits = torch.zeros(1, 2, 4, requires_grad=True)
    mask = torch.tensor([[True, False]])
    loss = distill_loss(logits, teacher, mask, 2.0)
    loss.backward()
    grad = logits.grad[0, 0]
    assert grad[3] < 0 and (grad[:3] > 0).all()  # descent raises the teacher's favourite, lowers the rest
    assert torch.all(logits.grad[0, 1] == 0)  # the masked sentence gives no gradient
    stepped = (logits - 1.0 * logits.grad).detach()
    assert distill_loss(stepped, teacher, mask, 2.0) < loss
    other = teacher.clone()
    other[0, 1] = torch.tensor([0.0, 0.0, 0.0, 1.0])
    assert distill_loss(logits, other, mask, 2.0).item() == pytest.approx(loss.item())
    assert distill_loss(logits, teacher, torch.zeros(1, 2, dtype=torch.bool), 2.0).item() == 0.0


# ---------------------------------------------------------------------------------------------
# The targets file


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distill-data")
    train = write_jsonl(synthetic_articles(16, seed=21), folder / "train.jsonl")
    return train, write_jsonl(renamed(synthetic_articles(6, seed=22), "dev-"), folder / "dev.jsonl")


@pytest.fixture(scope="module")
def targets(tiny_article_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("targets") / "teacher.json.gz"
    return write_teacher_targets(tiny_article_model, [data[0]], out, device="cpu")


def test_distill_targets_hold_one_vector_per_sentence_and_no_text(targets, data, tiny_article_model):
    train = synthetic_articles(16, seed=21)
    body = json.loads(gzip.decompress(targets.read_bytes()))
    assert set(body["articles"]) == {a.id for a in train}
    for article in train:
        rows = np.array(body["articles"][article.id])
        assert rows.shape == (len(article.sentences), len(LABELS))
        assert np.allclose(rows.sum(axis=1), 1.0, atol=1e-3)
        assert np.all(rows == np.round(rows, 4))
    assert body["labels"] == LABELS
    assert body["teacher"]["id"] == "0badc0de" and body["teacher"]["name"] == "tiny"
    assert body["data"][0]["sha256"] == file_fingerprint(data[0])
    assert body["command"].startswith("newsroles distill-targets") and body["created"]
    text = gzip.decompress(targets.read_bytes()).decode("utf-8")
    for sentence in (s.text for a in train for s in a.sentences):
        assert sentence not in text
    assert read_targets(targets).labels == LABELS


def test_distill_targets_command_writes_the_file(tiny_article_model, data, tmp_path):
    out = tmp_path / "t.json.gz"
    result = CliRunner().invoke(app, ["distill-targets", str(tiny_article_model), str(data[0]), "-o", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert len(read_targets(out).articles) == 16


def test_distill_targets_progress_bar_counts_every_sentence_and_changes_nothing(targets, tiny_article_model, data, tmp_path, capsys, monkeypatch):
    import newsroles.inference.distill_targets as module

    shown = write_teacher_targets(tiny_article_model, [data[0]], tmp_path / "t.json.gz", device="cpu", progress=True)
    assert "teacher on train.jsonl" in capsys.readouterr().err  # the bar is drawn on stderr
    assert read_targets(shown).articles.keys() == read_targets(targets).articles.keys()
    for key, rows in read_targets(targets).articles.items():
        assert np.array_equal(read_targets(shown).articles[key], rows)
    bars = []  # what the bar was told: its total and each update (tqdm redraws on a timer, so not its text)

    class Recording:
        def __init__(self, enabled, desc, total):
            self.total, self.updates, self.closed = total, [], False
            bars.append(self)

        def update(self, n):
            self.updates.append(n)

        def close(self):
            self.closed = True

    monkeypatch.setattr(module, "sentence_bar", Recording)
    write_teacher_targets(tiny_article_model, [data[0]], tmp_path / "u.json.gz", device="cpu", batch_size=1, progress=True)
    sentences = sum(len(a.sentences) for a in synthetic_articles(16, seed=21))
    (bar,) = bars
    assert bar.total == sum(bar.updates) == sentences and bar.closed and len(bar.updates) > 1


# ---------------------------------------------------------------------------------------------
# Training a student


def student_config(tiny_base_model, data, **overrides):
    values = {
        "model.base": str(tiny_base_model),
        "data.train": str(data[0]),
        "data.dev": str(data[1]),
        "train.epochs": "1",
        "train.max_steps": "3",
        **overrides,
    }
    return load_config("configs/tiny.yaml", values)


def weights(folder):
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def gold_only(tiny_base_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("student") / "gold"
    return train_from_config(student_config(tiny_base_model, data), output=out, progress=False)


def test_a_student_learns_from_the_teacher_and_says_so(tiny_base_model, data, targets, gold_only, tmp_path):
    config = student_config(tiny_base_model, data, **{"train.distill_targets": str(targets), "train.distill_weight": "0.7"})
    student = train_from_config(config, output=tmp_path / "student", progress=False)
    a, b = weights(gold_only), weights(student)
    assert any(not torch.equal(a[k], b[k]) for k in a), "soft labels must change what is learned"

    metrics = json.loads((student / "metrics.json").read_text())
    record = metrics["distillation"]
    assert record["teacher"]["id"] == "0badc0de" and record["weight"] == 0.7 and record["train_data_matches"]
    assert record["targets"]["sha256"] == file_fingerprint(targets)
    card = json.loads((student / "model_card.json").read_text())
    assert card["distillation"]["teacher"]["name"] == "tiny"
    markdown = (student / "README.md").read_text()
    assert "## Distillation" in markdown and "0badc0de" in markdown
    assert "distillation" not in json.loads((gold_only / "metrics.json").read_text())


def test_weight_zero_trains_exactly_the_gold_only_model(tiny_base_model, data, targets, gold_only, tmp_path):
    config = student_config(tiny_base_model, data, **{"train.distill_targets": str(targets), "train.distill_weight": "0"})
    student = train_from_config(config, output=tmp_path / "student", progress=False)
    a, b = weights(gold_only), weights(student)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_distilled_run_resumes_to_the_same_model(tiny_base_model, data, targets, tmp_path, monkeypatch):
    import newsroles.training.trainer as trainer

    overrides = {"train.distill_targets": str(targets), "train.max_steps": "6", "train.epochs": "2", "train.checkpoint_steps": "2"}
    reference = train_from_config(student_config(tiny_base_model, data, **overrides), output=tmp_path / "reference", progress=False)

    real_step, calls = trainer.train_step, []

    def killed_after_three(*args):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(1)
        return real_step(*args)

    monkeypatch.setattr(trainer, "train_step", killed_after_three)
    with pytest.raises(KeyboardInterrupt):
        train_from_config(student_config(tiny_base_model, data, **overrides), output=tmp_path / "resumed", progress=False)
    monkeypatch.setattr(trainer, "train_step", real_step)
    resumed = train_from_config(
        student_config(tiny_base_model, data, **overrides), output=tmp_path / "resumed", progress=False, resume=True
    )
    a, b = weights(reference), weights(resumed)
    assert all(torch.allclose(a[k], b[k]) for k in a)


def test_changed_targets_make_a_checkpoint_unresumable(tiny_base_model, data, targets, tmp_path):
    copy = tmp_path / "copy.json.gz"
    copy.write_bytes(targets.read_bytes())
    config = student_config(tiny_base_model, data, **{"train.distill_targets": str(copy)})
    before = config_fingerprint(config)
    body = json.loads(gzip.decompress(copy.read_bytes()))
    body["created"] = "another run"
    copy.write_bytes(gzip.compress(json.dumps(body).encode()))
    assert config_fingerprint(config) != before


def test_other_bytes_with_the_same_articles_warn_and_are_recorded(tiny_base_model, data, targets, tmp_path):
    rewritten = tmp_path / "train.jsonl"
    rewritten.write_text(data[0].read_text() + "\n")  # a blank line more: same articles, other sha256
    config = student_config(tiny_base_model, (rewritten, data[1]), **{"train.distill_targets": str(targets)})
    with pytest.warns(InputWarning, match="sha256 differs"):
        record = prepare_distillation(config, load_split(config, LABELS, "train"), LABELS).record
    assert record["train_data_matches"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = student_config(tiny_base_model, data, **{"train.distill_targets": str(targets)})
        assert prepare_distillation(config, load_split(config, LABELS, "train"), LABELS).record["train_data_matches"]


# ---------------------------------------------------------------------------------------------
# Bad targets files: one clear line, exit code 2, before any model is built


def rewritten(targets, tmp_path, change) -> str:
    body = json.loads(gzip.decompress(targets.read_bytes()))
    change(body)
    out = tmp_path / "bad.json.gz"
    out.write_bytes(gzip.compress(json.dumps(body).encode()))
    return str(out)


def bad_files(targets, tmp_path):
    truncated = tmp_path / "truncated.json.gz"
    truncated.write_bytes(targets.read_bytes()[: len(targets.read_bytes()) // 2])
    not_json = tmp_path / "not.json.gz"
    not_json.write_bytes(gzip.compress(b"{not json"))
    other_json = tmp_path / "other.json"
    other_json.write_text(json.dumps({"articles": []}))
    return {
        "labels": (rewritten(targets, tmp_path / "l", lambda b: b.update(labels=["quote", "stance", "background", "fact"])), "labels"),
        "missing article": (rewritten(targets, tmp_path / "m", lambda b: b["articles"].pop("a3")), "no teacher targets for article 'a3'"),
        "sentences": (rewritten(targets, tmp_path / "s", lambda b: b["articles"]["a1"].pop()), "article 'a1' has"),
        "ragged": (rewritten(targets, tmp_path / "r", lambda b: b["articles"]["a2"][0].pop()), "article 'a2'"),
        "corrupt gzip": (str(truncated), "gzip"),
        "not JSON": (str(not_json), "not valid JSON"),
        "wrong JSON": (str(other_json), "not a teacher targets file"),
        "missing file": (str(tmp_path / "absent.json.gz"), "distill-targets"),
    }


def test_bad_targets_files_give_one_clear_line_and_exit_code_2(tiny_base_model, data, targets, tmp_path):
    for sub in ("l", "m", "s", "r"):
        (tmp_path / sub).mkdir()
    for case, (path, expected) in bad_files(targets, tmp_path).items():
        result = CliRunner().invoke(
            app,
            ["train", "--config", "configs/tiny.yaml", "--output", str(tmp_path / "never"), "--quiet",
             "--model.base", str(tiny_base_model), "--data.train", str(data[0]), "--data.dev", str(data[1]),
             "--train.distill_targets", path],
        )
        assert result.exit_code == 2, (case, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, (case, lines)
        assert expected in lines[0] and path in lines[0], (case, lines[0])
        assert not (tmp_path / "never").exists()


def test_distilled_config_is_the_default_plus_the_teacher_and_says_when_the_file_is_missing(tmp_path, monkeypatch):
    default, distilled = load_config(None).to_dict(), load_config("configs/distilled.yaml").to_dict()
    assert distilled["train"].pop("distill_targets") == "configs/teacher/mpnet-roles.json.gz"
    assert default["train"].pop("distill_targets") is None
    assert {**distilled, "name": None} == {**default, "name": None}
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {"train.distill_targets": "configs/teacher/absent.json.gz", "data.train": "t.jsonl"})
    with pytest.raises(UserError, match="distill-targets"):
        prepare_distillation(config, [], LABELS)


def test_a_configs_path_missing_here_is_found_in_the_installed_package(tmp_path, monkeypatch):
    from newsroles.training.recipes.distill import targets_path

    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    found = targets_path("configs/mappings/roles.yaml")
    assert found.is_file() and found.read_text(encoding="utf-8").startswith("# The default label set")
    assert targets_path("elsewhere/t.json.gz") == Path("elsewhere/t.json.gz")
    assert not targets_path("configs/teacher/absent.json.gz").exists()


def test_a_final_fit_distils_from_targets_covering_train_and_dev(tiny_article_model, tiny_base_model, data, tmp_path):
    both = write_teacher_targets(tiny_article_model, list(data), tmp_path / "both.json.gz", device="cpu")
    config = student_config(tiny_base_model, data, **{"train.distill_targets": str(both), "train.max_steps": "2"})
    selection = train_from_config(config, output=tmp_path / "selection", progress=False)
    config = student_config(tiny_base_model, data, **{"train.distill_targets": str(both), "train.max_steps": "2"})
    final = train_from_config(config, output=tmp_path / "final", progress=False, final_from=selection)
    metrics = json.loads((final / "metrics.json").read_text())
    assert metrics["final_fit"]["trained_on"] == ["train", "dev"] and metrics["distillation"]["train_data_matches"]


def test_runs_that_do_not_distil_compare_equal_whatever_their_distillation_settings():
    from newsroles.training.recipes.final_fit import setting_differences

    now = load_config(None).to_dict()
    before = {**now, "train": {k: v for k, v in now["train"].items() if not k.startswith("distill_")}}
    assert setting_differences(now, before) == []
    distilling = {**now, "train": {**now["train"], "distill_targets": "t.json.gz"}}
    assert "train.distill_targets" in setting_differences(distilling, before)
