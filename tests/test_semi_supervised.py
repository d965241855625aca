"""Semi-supervised training (training/recipes/semi_supervised.py): stories without gold labels, taught by the
teacher's soft labels, a few drawn into each epoch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.inference.distill_targets import write_teacher_targets
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.spec import spec_from_config
from newsroles.training.checkpoint import config_fingerprint
from newsroles.training.config import load_config, without_idle_settings
from newsroles.training.examples import epoch_examples
from newsroles.training.recipes.semi_supervised import UnlabeledPool, class_thresholds, pseudo_label
from newsroles.training.recipes.teacher_targets import read_targets, write_targets
from newsroles.training.run import train_from_config
from synthetic import renamed, synthetic_articles, write_jsonl

LABELS = ["stance", "quote", "background", "fact"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unlabeled-data")
    train = write_jsonl(synthetic_articles(8, seed=31), folder / "train.jsonl")
    stories = renamed(synthetic_articles(10, seed=33), "story-")
    for sentence in (s for a in stories for s in a.sentences):
        sentence.label, sentence.source_labels = None, []
    dev = write_jsonl(renamed(synthetic_articles(4, seed=32), "dev-"), folder / "dev.jsonl")
    return train, dev, write_jsonl(stories, folder / "stories.jsonl")


@pytest.fixture(scope="module")
def targets(tiny_article_model, files, tmp_path_factory):
    out = tmp_path_factory.mktemp("unlabeled-targets") / "teacher.json.gz"
    return write_teacher_targets(tiny_article_model, [files[0]], out, device="cpu", unlabeled=[files[2]])


def config(tiny_base_model, files, **overrides):
    values = {
        "model.base": str(tiny_base_model), "data.train": str(files[0]), "data.dev": str(files[1]),
        "train.epochs": "2", "train.max_steps": "4", **overrides,
    }
    return load_config("configs/tiny.yaml", values)


def test_targets_cover_the_unlabeled_stories_and_say_which_files_had_labels(targets, files):
    read = read_targets(targets)
    assert {a for a in read.articles if a.startswith("story-")} == {f"story-{a.id}" for a in synthetic_articles(10, seed=33)}
    assert [d["labeled"] for d in read.header["data"]] == [True, False]
    assert "--unlabeled" in read.header["command"]


def test_unlabeled_files_are_refused_as_gold_data(tiny_article_model, files, tmp_path):
    with pytest.raises(UserError, match="stories without labels go after --unlabeled"):
        write_teacher_targets(tiny_article_model, [files[2]], tmp_path / "t.json.gz", device="cpu")
    result = CliRunner().invoke(
        app, ["distill-targets", str(tiny_article_model), str(files[0]), "--unlabeled", str(files[2]), "-o", str(tmp_path / "t.json.gz"), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert len(read_targets(tmp_path / "t.json.gz").articles) == 18


def test_pseudo_labels_are_the_teachers_best_where_it_is_confident():
    article = Article("a", [Sentence("one", "fact", ["Main"]), Sentence("two"), Sentence("three")])
    rows = np.array([[0.1, 0.8, 0.05, 0.05], [0.4, 0.3, 0.2, 0.1], [0.0, 0.0, 0.05, 0.95]])
    assert pseudo_label([article], [rows], LABELS, 0.7) == 2
    assert [s.label for s in article.sentences] == ["quote", None, "fact"]
    assert article.sentences[0].source_labels == []


def test_a_class_fraction_keeps_the_rare_labels_most_confident_sentences_below_the_threshold():
    # The teacher gives fact to four sentences, none at 0.7; quote to three, all above it.
    fact = [[0.1, 0.1, 0.2, p] for p in (0.6, 0.5, 0.45, 0.4)]
    quote = [[0.05, p, 0.05, 0.9 - p] for p in (0.8, 0.85, 0.75)]
    rows = np.array(fact + quote)
    article = Article("a", [Sentence(f"s{i}") for i in range(len(rows))])
    assert list(class_thresholds([rows], 4, 0.7, 0.5)) == [0.7, 0.7, 0.7, 0.5]
    assert pseudo_label([article], [rows], LABELS, 0.7, 0.5) == 5
    assert [s.label for s in article.sentences] == ["fact", "fact", None, None, "quote", "quote", "quote"]
    assert pseudo_label([article], [rows], LABELS, 0.7) == 3, "0 (the default) is the threshold alone"
    assert pseudo_label([article], [rows], LABELS, 0.7, 1.0) == 7


def test_each_epoch_draws_its_own_stories_and_gold_articles_are_cut_as_without_them(tiny_base_model, files):
    from transformers import AutoTokenizer

    from newsroles.training.data.readers import read_articles

    run = config(tiny_base_model, files, **{"train.epochs": "3"})
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_base_model))
    train, stories = read_articles(files[0]), read_articles(files[2])
    pool = UnlabeledPool(stories, [np.full((len(a.sentences), 4), 0.25) for a in stories], 3, {})
    spec = spec_from_config(run.to_dict())
    plans = epoch_examples(run, tokenizer, train, spec, LABELS, [], None, pool)
    gold_only = epoch_examples(run, tokenizer, train, spec, LABELS, [], None, None)
    drawn = [pool.draw(run.seed, epoch) for epoch in (1, 2, 3)]
    assert all(len(d) == 3 for d in drawn) and len({tuple(d) for d in drawn}) > 1
    assert pool.draw(run.seed, 2) == drawn[1], "the draw depends on the seed and the epoch alone (resumable)"
    for plan, gold in zip(plans, gold_only):
        n_gold = len(gold.windows)
        assert [w.input_ids for w in plan.windows[:n_gold]] == [w.input_ids for w in gold.windows]
        assert {w.article for w in plan.windows[n_gold:]} == set(range(len(train), len(train) + 3))


def test_a_semi_supervised_student_trains_on_pseudo_labels_and_records_them(tiny_base_model, files, targets, tmp_path):
    gold = train_from_config(config(tiny_base_model, files, **{"train.distill_targets": str(targets)}), output=tmp_path / "gold", progress=False)
    semi = config(
        tiny_base_model, files,
        **{"train.distill_targets": str(targets), "data.unlabeled": str(files[2]), "train.unlabeled_per_epoch": "4", "train.pseudo_min_confidence": "0.3"},
    )
    student = train_from_config(semi, output=tmp_path / "semi", progress=False)
    record = json.loads((student / "metrics.json").read_text())["unlabeled"]
    assert record["stories"] == 10 and record["per_epoch"] == 4 and record["min_confidence"] == 0.3
    assert 0 < record["pseudo_labeled_sentences"] <= record["sentences"]
    assert sum(record["pseudo_labeled_per_label"].values()) == record["pseudo_labeled_sentences"]
    from safetensors.torch import load_file

    a, b = load_file(str(gold / "model.safetensors")), load_file(str(student / "model.safetensors"))
    assert any(not torch.equal(a[k], b[k]) for k in a), "the stories must change what is learned"


def test_unlabeled_stories_need_the_teachers_targets_and_a_confident_sentence(tiny_base_model, files, targets, tmp_path):
    with pytest.raises(UserError, match="data.unlabeled needs the teacher's probabilities"):
        train_from_config(config(tiny_base_model, files, **{"data.unlabeled": str(files[2])}), output=tmp_path / "a", progress=False)
    unsure = read_targets(targets)  # a teacher that cannot tell: every story sentence at 0.25 per label
    rows = {aid: (np.full_like(p, 0.25) if aid.startswith("story-") else p) for aid, p in unsure.articles.items()}
    write_targets(tmp_path / "unsure.json.gz", unsure.header, rows)
    strict = {"train.distill_targets": str(tmp_path / "unsure.json.gz"), "data.unlabeled": str(files[2]), "train.pseudo_min_confidence": "0.5"}
    with pytest.raises(UserError, match="no sentence of the unlabeled stories reaches the teacher confidence 0.5"):
        train_from_config(config(tiny_base_model, files, **strict), output=tmp_path / "b", progress=False)


def test_semi_supervised_settings_change_no_fingerprint_while_off(tiny_base_model, files, targets):
    plain = config(tiny_base_model, files)
    tuned = config(tiny_base_model, files, **{"train.unlabeled_per_epoch": "7", "train.pseudo_min_confidence": "0.9",
                                               "train.pseudo_min_class_fraction": "0.5"})
    assert config_fingerprint(plain) == config_fingerprint(tuned)
    on = config(tiny_base_model, files, **{"data.unlabeled": str(files[2]), "train.distill_targets": str(targets)})
    balanced = config(tiny_base_model, files, **{"data.unlabeled": str(files[2]), "train.distill_targets": str(targets),
                                                 "train.pseudo_min_class_fraction": "0.5"})
    assert config_fingerprint(balanced) != config_fingerprint(on)
    saved_before = on.to_dict()
    del saved_before["train"]["pseudo_min_class_fraction"]  # a run saved before the setting existed
    assert without_idle_settings(saved_before) == without_idle_settings(on.to_dict())
    assert config_fingerprint(on) != config_fingerprint(config(tiny_base_model, files, **{"train.distill_targets": str(targets)}))


def test_the_student_config_is_the_default_plus_the_shipped_teacher_and_its_stories():
    """configs/student.yaml (make student) changes nothing of the default model but what makes it semi-supervised
    and its epochs (3: the stories' third epoch scores as the fourth), and its targets file ships: a run needs
    no teacher, only the stories `make stories` splits."""
    from newsroles.training.recipes.distill import targets_path

    default, student = load_config(None).to_dict(), load_config("configs/student.yaml").to_dict()
    assert student["data"].pop("unlabeled") == "data/stories-1000.jsonl" and default["data"].pop("unlabeled") is None
    semi = {key: student["train"].pop(key) for key in ("distill_targets", "unlabeled_per_epoch", "epochs")}
    assert semi == {"distill_targets": "configs/teacher/mpnet6-roles-unlabeled-1000.json.gz", "unlabeled_per_epoch": 250, "epochs": 3}
    for key in ("distill_targets", "unlabeled_per_epoch", "epochs"):
        default["train"].pop(key)
    assert {**student, "name": None} == {**default, "name": None}
    shipped = read_targets(targets_path(semi["distill_targets"]))
    stories = [article_id for article_id in shipped.articles if article_id.startswith("annenberg:")]
    assert shipped.labels == LABELS and len(stories) == 1000 and len(shipped.articles) == 1000 + 502 + 100  # and train, validation


def test_the_multitask_student_is_the_student_plus_polnear_and_webis_as_measured():
    """configs/student-multitask.yaml (what make demo trains) is configs/student.yaml plus the two auxiliary
    corpora at the weights and sizes of BENCHMARKS.md's `all-ad0` row, in its 4 epochs without attention
    dropout, read from the files the Makefile converts."""
    student, multitask = load_config("configs/student.yaml").to_dict(), load_config("configs/student-multitask.yaml").to_dict()
    entries = multitask["data"].pop("auxiliary")
    assert [(e["source"], e["path"], e["weight"], e["max_articles"], e["per_epoch"]) for e in entries] == [
        ("polnear", "data/polnear/train.jsonl", 0.3, 250, 0),
        ("webis", "data/webis.jsonl", 0.1, None, 0),
    ]
    assert student["data"].pop("auxiliary") == []
    assert (multitask["train"].pop("epochs"), student["train"].pop("epochs")) == (4, 3)
    assert multitask["train"]["attention_dropout"] == student["train"]["attention_dropout"] == 0.0  # the default's
    assert {**multitask, "name": None} == {**student, "name": None}
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    assert all(f"\n{e['path']}:" in makefile for e in entries)  # a rule makes each file
    demo = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert all(e["path"] in demo.splitlines()[0] for e in entries) and "select_and_fit,configs/student-multitask.yaml" in demo
