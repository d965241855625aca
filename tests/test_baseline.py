"""The TF-IDF baseline: column order, persistence, errors, and a tiny end-to-end training run."""

from __future__ import annotations

import json
import pickle
import random

import numpy as np
import pytest

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.model.store.folder import PICKLED_BASELINE, read_manifest
from newsroles.model.tfidf import SETTINGS_FILE, WEIGHTS_FILE, TfidfModel
from newsroles.training.baseline import fit_baseline, resolve_options, select_C, train_baseline

from crafted import WritesAMarker

# Deliberately not in sorted order (sorted: background, fact, quote, stance).
LABELS = ["stance", "quote", "background", "fact"]

VOCAB = {
    "stance": ["critics argue the policy is a mistake", "analysts expect prices will rise", "this decision seems unwise"],
    "quote": ['"we will rebuild," the mayor said', "the minister said talks would continue", '"it was terrible," she said'],
    "background": ["last year the company had cut jobs", "the region has long suffered floods", "in 2010 the law was passed"],
    "fact": ["police arrested two men on tuesday", "the earthquake struck on monday", "the company reported a loss on friday"],
}


def make_articles(n: int, seed: int = 0, unlabeled_every: int = 5) -> list[Article]:
    rng = random.Random(seed)
    articles = []
    k = 0
    for i in range(n):
        sentences = []
        for _ in range(8):
            label = rng.choice(LABELS)
            text = rng.choice(VOCAB[label])
            k += 1
            sentences.append(Sentence(text=text, label=None if k % unlabeled_every == 0 else label))
        articles.append(Article(id=f"art{i}", sentences=sentences))
    return articles


@pytest.fixture(scope="module")
def train_articles():
    return make_articles(12, seed=1)


@pytest.fixture(scope="module")
def model(train_articles):
    return fit_baseline(train_articles, LABELS, C=4.0)


def test_columns_follow_label_order_not_sorted_order(model):
    clf = model.pipeline.named_steps["clf"]
    assert list(clf.classes_) == sorted(LABELS)  # scikit-learn sorts
    texts = ["the mayor said it was terrible", "police arrested men on monday", "critics argue it is unwise"]
    ours = model.predict_proba_texts(texts)
    raw = model.pipeline.predict_proba(texts)
    for j, label in enumerate(LABELS):
        np.testing.assert_allclose(ours[:, j], raw[:, list(clf.classes_).index(label)])
    assert [LABELS[i] for i in ours.argmax(axis=1)] == ["quote", "fact", "stance"]


def test_predict_proba_per_article_shapes(model):
    articles = [
        Article(id="x", sentences=[Sentence("the minister said talks would continue"), Sentence("in 2010 the law")]),
        Article(id="empty", sentences=[]),
        Article(id="y", sentences=[Sentence("police arrested two men")]),
    ]
    probs = model.predict_proba(articles)
    assert [p.shape for p in probs] == [(2, 4), (0, 4), (1, 4)]
    np.testing.assert_allclose(probs[0].sum(axis=1), 1.0)
    assert LABELS[probs[0][0].argmax()] == "quote"
    assert LABELS[probs[2][0].argmax()] == "fact"
    assert model.predict_proba([]) == []


def test_label_absent_from_training_gets_zero_column(train_articles):
    # "stance" never appears in training: its column is all zeros, the others still sum to 1.
    labels = ["fact", "stance", "quote", "background"]
    train = [
        Article(a.id, [Sentence(s.text, s.label if s.label != "stance" else None) for s in a.sentences])
        for a in train_articles
    ]
    m = fit_baseline(train, labels)
    p = m.predict_proba_texts(["critics argue the policy is a mistake", "police arrested two men"])
    assert p.shape == (2, 4)
    np.testing.assert_array_equal(p[:, 1], 0.0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_unlabeled_sentences_are_not_trained_on():
    # Only the two labeled sentences per article count; unlabeled ones carry a third word set that
    # must not enter the classifier's classes.
    arts = [
        Article(
            f"a{i}",
            [
                Sentence("police arrested men today", "fact"),
                Sentence("the mayor said hello", "quote"),
                Sentence("zebra zebra unlabeled words", None),
            ],
        )
        for i in range(3)
    ]
    m = fit_baseline(arts, ["quote", "fact"])
    assert list(m.pipeline.named_steps["clf"].classes_) == ["fact", "quote"]
    vocab = m.pipeline.named_steps["tfidf"].vocabulary_
    assert "zebra" not in vocab


def test_training_label_outside_label_set_names_article(train_articles):
    bad = train_articles + [Article("odd-one", [Sentence("text", "gossip")])]
    with pytest.raises(UserError) as err:
        fit_baseline(bad, LABELS)
    assert "gossip" in str(err.value) and "odd-one" in str(err.value)


def test_training_needs_labels_and_two_classes():
    with pytest.raises(UserError, match="no labeled"):
        fit_baseline([Article("a", [Sentence("x y", None)])], LABELS)
    one = [Article(f"a{i}", [Sentence("police arrested men", "fact")]) for i in range(3)]
    with pytest.raises(UserError, match="only one label"):
        fit_baseline(one, LABELS)


def test_too_little_text_is_a_user_error():
    # min_df=2: words seen once are dropped; nothing remains.
    arts = [Article("a", [Sentence("alpha beta", "fact"), Sentence("gamma delta", "quote")])]
    with pytest.raises(UserError, match="too little training text"):
        fit_baseline(arts, LABELS)


def test_save_load_round_trip(model, tmp_path):
    path = model.save(tmp_path)
    assert path == tmp_path / WEIGHTS_FILE and path.is_file()
    again = TfidfModel.load(tmp_path)
    assert again.labels == LABELS
    texts = ["the mayor said", "prices will rise", "the law was passed in 2010"]
    np.testing.assert_allclose(again.predict_proba_texts(texts), model.predict_proba_texts(texts))


def test_corrupt_weights_are_a_user_error(model, tmp_path):
    model.save(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"\x80\x04this is not a safetensors file at all")
    with pytest.raises(UserError) as err:
        TfidfModel.load(tmp_path)
    assert "corrupt weights" in str(err.value)
    assert WEIGHTS_FILE in str(err.value)


def test_truncated_weights_are_a_user_error(model, tmp_path):
    path = model.save(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UserError, match="corrupt weights"):
        TfidfModel.load(tmp_path)


def test_wrong_payload_is_user_error(model, tmp_path):
    model.save(tmp_path)
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"something": "else"}))
    with pytest.raises(UserError, match="corrupt weights"):
        TfidfModel.load(tmp_path)


def test_missing_weights_is_user_error(tmp_path):
    with pytest.raises(UserError, match="baseline.safetensors is missing"):
        TfidfModel.load(tmp_path)


def test_a_pickled_baseline_is_refused_not_executed(tmp_path):
    # A folder as older versions wrote it, but its pickle is a crafted one that creates a file when loaded.
    marker = tmp_path / "ran"
    (tmp_path / PICKLED_BASELINE).write_bytes(pickle.dumps({"pipeline": WritesAMarker(marker)}))
    pickle.loads((tmp_path / PICKLED_BASELINE).read_bytes())  # the crafted pickle does run code when unpickled...
    assert marker.exists()
    marker.unlink()
    with pytest.raises(UserError) as err:  # ...but loading the folder never unpickles it
        TfidfModel.load(tmp_path)
    assert not marker.exists()
    assert "older newsroles" in str(err.value) and "newsroles baseline" in str(err.value)
    assert "\n" not in str(err.value)


def test_labels_json_mismatch_is_user_error(model, tmp_path):
    model.save(tmp_path)
    (tmp_path / "labels.json").write_text(json.dumps(sorted(LABELS)))
    with pytest.raises(UserError, match="labels.json"):
        TfidfModel.load(tmp_path)


def test_options_are_checked():
    assert resolve_options(None)["C"] == 2.0
    assert resolve_options({"class_weight": "none"})["class_weight"] is None
    with pytest.raises(UserError, match="unknown baseline option"):
        resolve_options({"c": 1.0})
    with pytest.raises(UserError, match="C must be a positive"):
        resolve_options({"C": -1})
    with pytest.raises(UserError, match="class_weight"):
        resolve_options({"class_weight": "inverse"})
    with pytest.raises(UserError, match="ngram_max"):
        resolve_options({"ngram_max": 0})
    with pytest.raises(UserError, match="C_grid"):
        resolve_options({"C_grid": []})


def test_end_to_end_model_folder(train_articles, tmp_path):
    dev = make_articles(4, seed=2)
    out = tmp_path / "models" / "tfidf"
    config = {"model": {"kind": "tfidf"}, "baseline": {"C": 2.0}}
    data = {"train": {"sha256": "0" * 64}}
    result = train_baseline(train_articles, dev, LABELS, {"C": 2.0}, out, config, data)
    assert result == out
    manifest = read_manifest(out)
    assert manifest["kind"] == "tfidf"
    assert manifest["labels"] == LABELS
    assert manifest["baseline"]["C"] == 2.0
    assert json.loads((out / "data.json").read_text()) == data
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"dev"}
    n_dev = sum(len(a.labeled_sentences) for a in dev)
    assert metrics["dev"]["n"] == n_dev
    assert metrics["dev"]["labels"] == LABELS
    # The synthetic sentences are trivially separable.
    assert metrics["dev"]["accuracy"] == pytest.approx(1.0)
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no leftover temp folder
    loaded = TfidfModel.load(out)
    assert [p.shape for p in loaded.predict_proba(dev)] == [(len(a.sentences), 4) for a in dev]

    # An existing folder is not overwritten unless asked.
    with pytest.raises(UserError, match="already exists"):
        train_baseline(train_articles, None, LABELS, {}, out, config, data)
    train_baseline(train_articles, None, LABELS, {}, out, config, data, overwrite=True)
    assert json.loads((out / "metrics.json").read_text()) == {}


def test_c_chosen_by_cross_validation_on_train_only(train_articles, tmp_path):
    best, report = select_C(train_articles, LABELS, [8, 0.5, 2], folds=3)
    assert best in (0.5, 2.0, 8.0)
    assert [row["C"] for row in report["grid"]] == [0.5, 2.0, 8.0]
    assert report["folds"] == 3 and report["grouped_by"] == "article"
    # The best mean macro-F1 wins; a tie goes to the smallest C.
    top = max(row["macro_f1_mean"] for row in report["grid"])
    assert best == min(row["C"] for row in report["grid"] if row["macro_f1_mean"] == pytest.approx(top))
    assert report["chosen_C"] == best

    out = tmp_path / "cv"
    train_baseline(train_articles, make_articles(2, seed=3), LABELS, {"C_grid": [0.5, 2]}, out, {}, {})
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"dev", "train_cv"}
    assert metrics["train_cv"]["chosen_C"] == read_manifest(out)["baseline"]["C"]


def test_an_older_pickled_baseline_folder_is_listed_but_loading_it_says_to_retrain(train_articles, tmp_path):
    from newsroles.inference.predictor import load_labeler

    out = train_baseline(train_articles, None, LABELS, {}, tmp_path / "old", {}, {})
    for name in (WEIGHTS_FILE, SETTINGS_FILE):
        (out / name).unlink()
    marker = tmp_path / "ran"
    (out / PICKLED_BASELINE).write_bytes(pickle.dumps(WritesAMarker(marker)))
    assert read_manifest(out)["kind"] == "tfidf"  # still a model folder (`models list` shows it)
    with pytest.raises(UserError, match="older newsroles.*retrain it with `newsroles baseline`"):
        load_labeler(out, "cpu")
    assert not marker.exists()
