"""Metrics against hand-computed small cases (not against scikit-learn itself)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from rich.console import Console

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.training.evaluation.metrics import compute_metrics, confusion_table, gold_and_predictions, metrics_table

# Case A, labels [a, b, c]:
#   gold a a b b c a
#   pred a b b b a a
# confusion (rows gold, cols pred): a: [2, 1, 0]  b: [0, 2, 0]  c: [1, 0, 0]
# a: P = 2/3, R = 2/3, F1 = 2/3;  b: P = 2/3, R = 1, F1 = 0.8;  c: P = 0 (no predictions), R = 0, F1 = 0
# macro F1 = (2/3 + 0.8 + 0) / 3; weighted F1 = (3 * 2/3 + 2 * 0.8 + 1 * 0) / 6 = 0.6
# accuracy = micro F1 = 4/6
GOLD_A = ["a", "a", "b", "b", "c", "a"]
PRED_A = ["a", "b", "b", "b", "a", "a"]


def approx(x):
    return pytest.approx(x, abs=1e-9)


def test_hand_computed_case():
    m = compute_metrics(GOLD_A, PRED_A, ["a", "b", "c"])
    assert m["n"] == 6
    assert m["labels"] == ["a", "b", "c"]
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["per_label"]["a"] == {"precision": approx(2 / 3), "recall": approx(2 / 3), "f1": approx(2 / 3), "support": 3}
    assert m["per_label"]["b"] == {"precision": approx(2 / 3), "recall": approx(1.0), "f1": approx(0.8), "support": 2}
    assert m["per_label"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro_f1"] == approx((2 / 3 + 0.8) / 3)
    assert m["weighted_f1"] == approx(0.6)
    assert m["micro_f1"] == approx(4 / 6)
    assert m["accuracy"] == approx(4 / 6)


def test_label_order_is_followed_not_sorted():
    m = compute_metrics(GOLD_A, PRED_A, ["c", "b", "a"])
    assert m["labels"] == ["c", "b", "a"]
    assert list(m["per_label"]) == ["c", "b", "a"]
    # Same matrix as case A with rows and columns reversed.
    assert m["confusion_matrix"] == [[0, 0, 1], [0, 2, 0], [0, 1, 2]]
    assert m["macro_f1"] == approx((2 / 3 + 0.8) / 3)


def test_label_with_zero_support_and_zero_predictions_no_crash_no_warning():
    # labels [a, b, z]; z never occurs in gold nor in predictions.
    # a: P = 1, R = 1/2, F1 = 2/3;  b: P = 2/3, R = 1, F1 = 0.8;  z: all 0, support 0
    gold = ["a", "b", "a", "b"]
    pred = ["a", "b", "b", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics(gold, pred, ["a", "b", "z"])
    assert m["per_label"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_label"]["a"]["precision"] == approx(1.0)
    assert m["per_label"]["a"]["recall"] == approx(0.5)
    assert m["per_label"]["a"]["f1"] == approx(2 / 3)
    assert m["per_label"]["b"]["f1"] == approx(0.8)
    # Macro averages over the whole label set, the unseen label counting 0.
    assert m["macro_f1"] == approx((2 / 3 + 0.8 + 0.0) / 3)
    assert m["weighted_f1"] == approx((2 * 2 / 3 + 2 * 0.8) / 4)
    assert m["accuracy"] == approx(0.75)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]


def test_predicted_but_never_gold_label():
    # z is predicted once but never gold: P = 0, R = 0 (zero support), F1 = 0, no warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics(["a", "a"], ["a", "z"], ["a", "z"])
    assert m["per_label"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_label"]["a"] == {"precision": approx(1.0), "recall": approx(0.5), "f1": approx(2 / 3), "support": 2}
    assert m["confusion_matrix"] == [[1, 1], [0, 0]]


def test_perfect_predictions():
    gold = ["x", "y", "y", "x", "y"]
    m = compute_metrics(gold, gold, ["x", "y"])
    assert m["macro_f1"] == m["micro_f1"] == m["weighted_f1"] == m["accuracy"] == approx(1.0)
    assert m["confusion_matrix"] == [[2, 0], [0, 3]]
    assert m["per_label"]["y"]["support"] == 3


def test_empty_input_gives_zeros():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = compute_metrics([], [], ["a", "b"])
    assert m["n"] == 0
    assert m["macro_f1"] == m["accuracy"] == 0.0
    assert m["confusion_matrix"] == [[0, 0], [0, 0]]
    assert m["per_label"]["a"]["support"] == 0


def test_result_is_plain_json():
    m = compute_metrics(GOLD_A, PRED_A, ["a", "b", "c"])
    again = json.loads(json.dumps(m))
    assert again == m
    assert type(m["per_label"]["a"]["support"]) is int
    assert type(m["macro_f1"]) is float
    assert all(type(x) is int for row in m["confusion_matrix"] for x in row)


def test_length_mismatch_and_stray_labels():
    with pytest.raises(ValueError):
        compute_metrics(["a"], ["a", "b"], ["a", "b"])
    with pytest.raises(UserError, match="'q'"):
        compute_metrics(["q"], ["a"], ["a", "b"])
    with pytest.raises(UserError, match="'q'"):
        compute_metrics(["a"], ["q"], ["a", "b"])


# ---------------------------------------------------------------- gold_and_predictions


def art(id_, labels):
    return Article(id=id_, sentences=[Sentence(text=f"s{i}", label=lab) for i, lab in enumerate(labels)])


def test_gold_and_predictions_skips_unlabeled_and_uses_label_order():
    labels = ["stance", "quote", "fact"]
    a1 = art("a1", ["quote", None, "fact"])
    a2 = art("a2", [None, "stance"])
    a3 = art("a3", [])
    p1 = np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]])  # quote, (stance), fact
    p2 = np.array([[0.0, 0.0, 1.0], [0.3, 0.6, 0.1]])  # (fact), quote
    p3 = np.zeros((0, 3))
    gold, pred = gold_and_predictions([a1, a2, a3], [p1, p2, p3], labels)
    assert gold == ["quote", "fact", "stance"]
    assert pred == ["quote", "fact", "quote"]


def test_gold_and_predictions_all_unlabeled():
    gold, pred = gold_and_predictions([art("x", [None, None])], [np.full((2, 2), 0.5)], ["a", "b"])
    assert gold == [] and pred == []


def test_unknown_gold_label_names_label_and_article():
    a = art("nyt-42", ["quote", "gossip"])
    with pytest.raises(UserError) as err:
        gold_and_predictions([a], [np.full((2, 2), 0.5)], ["quote", "fact"])
    msg = str(err.value)
    assert "'gossip'" in msg and "nyt-42" in msg


def test_probability_shape_is_checked():
    with pytest.raises(ValueError, match="shape"):
        gold_and_predictions([art("a", ["x", "y"])], [np.zeros((3, 2))], ["x", "y"])
    with pytest.raises(ValueError):
        gold_and_predictions([art("a", ["x"])], [], ["x", "y"])


def test_one_walk_over_labeled_sentences_feeds_every_consumer():
    from newsroles.model.article import labeled_sentences
    from newsroles.training.evaluation.compare import flatten
    from newsroles.training.recipes.label_bias import labeled_log_probs
    from newsroles.training.run import labels_in_data

    labels = ["stance", "quote", "fact"]
    articles = [art("a1", ["quote", None, "fact"]), art("a2", []), art("a3", [None, "stance", "quote"])]
    probs = [np.array([[0.1, 0.8, 0.1], [0.9, 0.05, 0.05], [0.2, 0.3, 0.5]]), np.zeros((0, 3)),
             np.array([[0.0, 0.0, 1.0], [0.3, 0.6, 0.1], [0.5, 0.2, 0.3]])]
    walked = list(labeled_sentences(articles, labels))
    assert [(w.article, w.position, w.article_id, w.label) for w in walked] == [
        (0, 0, "a1", "quote"), (0, 2, "a1", "fact"), (2, 1, "a3", "stance"), (2, 2, "a3", "quote")
    ]
    gold, pred = gold_and_predictions(articles, probs, labels)
    log_probs, gold_index = labeled_log_probs(articles, probs, labels)
    scored = flatten(articles, [probs], labels)
    assert gold == [w.label for w in walked] == scored.gold == [labels[i] for i in gold_index]
    assert pred == scored.predicted(0) == [labels[i] for i in log_probs.argmax(axis=1)] == ["quote", "fact", "quote", "stance"]
    assert [(a, n) for a, n in zip(scored.article_ids, scored.sentence_numbers)] == [("a1", 1), ("a1", 3), ("a3", 2), ("a3", 3)]
    assert labels_in_data(articles) == ["quote", "fact", "stance"]
    with pytest.raises(UserError, match=r"article 'a3', sentence 2: gold label 'stance'"):
        list(labeled_sentences(articles, ["quote", "fact"]))


# ---------------------------------------------------------------- tables


def render(table) -> str:
    console = Console(record=True, width=140, color_system=None)
    console.print(table)
    return console.export_text()


def test_metrics_table_contents():
    m = compute_metrics(GOLD_A, PRED_A, ["a", "b", "c"])
    text = render(metrics_table(m, title="dev scores"))
    assert "dev scores" in text
    for needle in ("precision", "recall", "F1", "support", "macro F1", "micro F1", "accuracy"):
        assert needle in text
    assert "0.800" in text  # F1 of b
    assert "0.489" in text  # macro F1
    assert "0.667" in text  # accuracy / micro F1
    lines = text.splitlines()
    # Labels come in label order, before the averages.
    order = [next(i for i, line in enumerate(lines) if line.strip("│┃ ").startswith(k)) for k in ("a ", "b ", "c ", "macro")]
    assert order == sorted(order)


def test_confusion_table_contents():
    m = compute_metrics(GOLD_A, PRED_A, ["a", "b", "c"])
    table = confusion_table(m)
    assert [c.header for c in table.columns][1:4] == ["a", "b", "c"]
    assert table.row_count == 3
    cells = [list(c._cells) for c in table.columns]
    assert cells[0] == ["a", "b", "c"]
    assert [cells[1][0], cells[2][0], cells[3][0]] == ["2", "1", "0"]  # gold a
    assert [cells[1][2], cells[2][2], cells[3][2]] == ["1", "0", "0"]  # gold c
    assert cells[4] == ["3", "2", "1"]  # row totals = support
    assert "predicted" in render(table)


def test_evaluate_reads_a_parquet_sentence_table_like_jsonl(tiny_article_model, tmp_path):
    """The same labeled sentences as JSONL and as a Parquet table (one row per sentence, default
    column names) score the same; the record fingerprints the Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsroles.inference.evaluation.evaluate import evaluate_model
    from newsroles.model.store.folder import file_fingerprint
    from synthetic import synthetic_articles, write_jsonl

    articles = synthetic_articles(5, seed=3)
    jsonl = write_jsonl(articles, tmp_path / "dev.jsonl")
    rows = [{"article_id": a.id, "title": a.title, "text": s.text, "label": s.label} for a in articles for s in a.sentences]
    table = tmp_path / "dev.parquet"
    pq.write_table(pa.Table.from_pylist(rows), table)
    from_jsonl, from_table = evaluate_model(tiny_article_model, jsonl), evaluate_model(tiny_article_model, table)
    assert from_table["n"] == from_jsonl["n"] > 0
    assert from_table["macro_f1"] == from_jsonl["macro_f1"] and from_table["accuracy"] == from_jsonl["accuracy"]
    assert from_table["data"]["sha256"] == file_fingerprint(table)


def test_evaluate_models_takes_a_name_records_in_its_folder_and_writes_the_output(tiny_article_model, tmp_path):
    """What `newsroles evaluate` does, as one function: the name is looked up in the models
    directory, the evaluation recorded in that folder, the metrics written as JSON."""
    import shutil

    from newsroles.inference.evaluation.evaluate import evaluate_model, evaluate_models
    from newsroles.model.cards.evaluations import load_evaluations
    from synthetic import synthetic_articles, write_jsonl

    models = tmp_path / "models"
    folder = models / "tiny" / "v1"
    shutil.copytree(tiny_article_model, folder)
    data = write_jsonl(synthetic_articles(4, seed=7), tmp_path / "dev.jsonl")
    out = tmp_path / "eval.json"
    shown = []
    done = evaluate_models(["tiny"], data, models_dir=models, device="cpu", output=out,
                           on_result=lambda ref, result: shown.append((ref, out.exists())))
    (result,) = done.results
    assert done.warnings == [] and shown == [("tiny", False)]  # each result shown before the files are written
    assert result["model"] == str(folder)
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(json.dumps(result))
    (record,) = load_evaluations(folder)
    assert record["data"]["sha256"] == result["data"]["sha256"]
    by_name = evaluate_model("tiny", data, "cpu", models_dir=models)
    assert by_name["model"] == str(folder) and by_name["macro_f1"] == result["macro_f1"]


def test_evaluate_models_refuses_a_bad_plot_path_before_any_model_loads(tmp_path):
    from newsroles.inference.evaluation.evaluate import evaluate_models

    with pytest.raises(UserError, match="reliability plot"):
        evaluate_models(["not-a-model"], tmp_path / "dev.jsonl", models_dir=tmp_path, plot=tmp_path / "plot.gif")
