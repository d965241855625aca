"""Label Studio: tasks out (regions index the text exactly), exports in (annotations win, every case
counted), merging, the labeling config and `select`; the real server is in test_label_studio_server.py."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from newsroles.inference.annotation.convert import convert_label_studio
from newsroles.inference.annotation.export import convert_export, merge_into
from newsroles.inference.annotation.select import pick, select_stories, sentence_uncertainty, story_uncertainty
from newsroles.inference.annotation.tasks import labeling_config, story_text, task
from newsroles.inference.cli import app
from newsroles.model.article import Article, Sentence
from newsroles.training.data.readers import read_articles

ROLES = ["stance", "quote", "background", "fact"]
runner = CliRunner()

STORY = """Storm hits coast

WASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.

The region was hit by a similar storm in 1998. Analysts expect rebuilding to take years.
"""


def labeled_article(story_id: str = "storm", labels=("fact", "quote", "background", "stance")) -> Article:
    texts = [("A storm killed 12 people on Monday, officials said.", 0), ('"We are doing everything we can," Gov. Smith told reporters.', 0),
             ("The region was hit by a similar storm in 1998.", 1), ("Analysts expect rebuilding to take years.", 1)]
    sentences = []
    for (text, para), label, conf in zip(texts, labels, (0.9, 0.8, 0.55, 0.7)):
        rest = (1 - conf) / 3
        sentences.append(Sentence(text, label, paragraph=para, confidence=conf, scores={r: conf if r == label else rest for r in ROLES}))
    return Article(story_id, sentences, title="Storm hits coast")


def export_of(tasks: list[dict], annotations: list[list[dict] | None]) -> list[dict]:
    """A Label Studio JSON export of `tasks`: per task a list of annotations (each a dict with
    `result`, maybe `was_cancelled`...), or None for a task nobody annotated."""
    out = []
    for i, (t, anns) in enumerate(zip(tasks, annotations)):
        exported = {"id": i + 1, "data": t["data"], "predictions": t.get("predictions", []), "annotations": []}
        for k, a in enumerate(anns or []):
            exported["annotations"].append({"id": 100 * (i + 1) + k, "completed_by": k + 1, "was_cancelled": False,
                                            "ground_truth": False, "updated_at": f"2026-12-06T10:0{k}:00Z", **a})
        out.append(exported)
    return out


def corrected(t: dict, index: int, label: str) -> list[dict]:
    result = copy.deepcopy(t["predictions"][0]["result"])
    result[index]["value"]["labels"] = [label]
    return result


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


# --- tasks out -----------------------------------------------------------------------------------

def test_regions_index_the_task_text_exactly_and_keep_paragraphs():
    article = labeled_article()
    text, spans = story_text(article)
    assert [text[s.start:s.end] for s in spans] == [s.text for s in article.sentences]
    assert text.count("\n\n") == 1  # one paragraph break, between sentences 2 and 3
    assert text.index("\n\n") == spans[1].end
    t = task(article, "tiny/v1")
    assert t["data"] == {"text": text, "title": "Storm hits coast", "story_id": "storm"}
    prediction = t["predictions"][0]
    assert prediction["model_version"] == "tiny/v1"
    assert prediction["score"] == pytest.approx(0.55)  # the least confident sentence: Label Studio sorts by it
    regions = prediction["result"]
    assert [r["value"]["labels"] for r in regions] == [["fact"], ["quote"], ["background"], ["stance"]]
    assert all(text[r["value"]["start"]:r["value"]["end"]] == r["value"]["text"] for r in regions)
    assert regions[1]["score"] == pytest.approx(0.8)
    assert regions[1]["meta"]["scores"]["quote"] == pytest.approx(0.8)


def test_a_sentence_left_unlabeled_is_no_region():
    article = labeled_article()
    article.sentences[0].label, article.sentences[0].reason = None, "boilerplate"
    assert [r["id"] for r in task(article, "v")["predictions"][0]["result"]] == ["s1", "s2", "s3"]


def test_labeling_config_names_every_label_and_matches_the_tasks():
    names = ["quote", "fact", "a&b", 'say "no" <loudly>', "it's\ttwo\nlines"]  # a mapping's labels are any text
    root = ET.fromstring(labeling_config(names))
    labels = root.find("Labels")
    assert [e.get("value") for e in labels] == names
    assert labels.get("name") == "role" and labels.get("toName") == "text"
    assert root.find("Text").get("value") == "$text" and root.find("Text").get("name") == "text"
    assert len({e.get("background") for e in labels}) == 5


# --- exports in ----------------------------------------------------------------------------------

def test_annotations_win_and_every_left_out_task_is_counted(tmp_path):
    tasks = [task(labeled_article(f"s{i}"), "v") for i in range(5)]
    export = export_of(tasks, [
        [{"result": corrected(tasks[0], 2, "fact")}],  # the editor corrected sentence 3
        None,  # nobody looked at it: predictions only
        [{"result": [], "was_cancelled": True}],  # skipped
        [{"result": []}],  # submitted empty
        [{"result": corrected(tasks[4], 0, "opinion")}],  # a label outside the set
    ])
    articles, report = convert_export(write(tmp_path / "export.json", export), ROLES)
    assert [a.id for a in articles] == ["s0", "s4"]
    assert [s.label for s in articles[0].sentences] == ["fact", "quote", "fact", "stance"]
    assert [s.label for s in articles[1].sentences] == [None, "quote", "background", "stance"]
    assert [s.paragraph for s in articles[0].sentences] == [0, 0, 1, 1]
    assert articles[0].title == "Storm hits coast"
    assert report.counts == {"not annotated": 1, "skipped by the editor": 1, "empty annotation": 1, "label outside the label set": 1}
    assert len(report.notes) == 4 and any("task 5" in n and "'opinion'" in n for n in report.notes)
    # With --use-predictions the unchecked task comes in with the model's labels.
    articles, report = convert_export(tmp_path / "export.json", ROLES, use_predictions=True)
    assert [a.id for a in articles] == ["s0", "s1", "s4"] and report.counts["predictions used"] == 1


def test_moved_boundaries_come_back_as_the_editor_left_them(tmp_path):
    t = task(labeled_article(), "v")
    regions = copy.deepcopy(t["predictions"][0]["result"])
    # The editor merged sentences 1 and 2 into one quote and dropped the region of sentence 4.
    regions[0]["value"].update(end=regions[1]["value"]["end"], labels=["quote"])
    result = [regions[0], regions[2]]
    articles, report = convert_export(write(tmp_path / "e.json", export_of([t], [[{"result": result}]])), ROLES)
    sentences = articles[0].sentences
    assert [s.text for s in sentences] == [
        'A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.',
        "The region was hit by a similar storm in 1998.",
        "Analysts expect rebuilding to take years.",
    ]
    assert [s.label for s in sentences] == ["quote", "background", None]  # uncovered text: context, not training signal
    assert [s.paragraph for s in sentences] == [0, 1, 1]
    assert report.counts["sentence boundaries moved"] == 1
    assert report.counts["uncovered text kept unlabeled"] == 1


def test_annotators_majority_tie_ground_truth_and_different_splits(tmp_path):
    t = task(labeled_article(), "v")
    a, b, c = corrected(t, 0, "stance"), corrected(t, 0, "stance"), corrected(t, 1, "fact")
    (articles,), report = convert_export(write(tmp_path / "m.json", export_of([t], [[{"result": a}, {"result": b}, {"result": c}]])), ROLES)
    assert [s.label for s in articles.sentences] == ["stance", "quote", "background", "stance"]
    (articles,), report = convert_export(write(tmp_path / "t.json", export_of([t], [[{"result": a}, {"result": c}]])), ROLES)
    assert [s.label for s in articles.sentences] == [None, None, "background", "stance"]  # two ties: unlabeled
    assert report.counts["annotators disagree"] == 2
    (articles,), _ = convert_export(write(tmp_path / "g.json", export_of([t], [[{"result": a}, {"result": c, "ground_truth": True}]])), ROLES)
    assert [s.label for s in articles.sentences] == ["fact", "fact", "background", "stance"]
    split = copy.deepcopy(c)[:2]  # the later annotator labeled only two sentences
    (articles,), report = convert_export(write(tmp_path / "s.json", export_of([t], [[{"result": a}, {"result": split}]])), ROLES)
    assert [s.label for s in articles.sentences] == ["fact", "fact", None, None]
    assert any("split the story differently" in n for n in report.notes)


def test_json_min_export(tmp_path):
    t = task(labeled_article(), "v")
    values = [r["value"] for r in corrected(t, 3, "fact")]
    rows = [{"id": 7, **t["data"], "role": values, "annotator": 1, "annotation_id": 3, "lead_time": 4.2}]
    (article,), report = convert_export(write(tmp_path / "min.json", rows), ROLES)
    assert article.id == "storm" and [s.label for s in article.sentences] == ["fact", "quote", "background", "fact"]
    assert not report.notes


def test_merge_replaces_by_story_id_without_duplicates(tmp_path):
    old = [labeled_article("a"), labeled_article("b")]
    new = [labeled_article("b", labels=("fact",) * 4), labeled_article("c")]
    merged, replaced, added = merge_into(old, new)
    assert [a.id for a in merged] == ["a", "b", "c"] and (replaced, added) == (1, 1)
    assert [s.label for s in merged[1].sentences] == ["fact"] * 4


def test_converted_file_merges_in_place_and_reads_back_as_training_data(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in [labeled_article("a"), labeled_article("storm")]))
    t = task(labeled_article("storm"), "v")
    export = write(tmp_path / "export.json", export_of([t], [[{"result": corrected(t, 0, "background")}]]))
    report = convert_label_studio(export, train, ROLES, merge=train)
    assert (report.replaced, report.added, report.kept) == (1, 0, 1)
    articles = read_articles(train, labels=ROLES)
    assert [a.id for a in articles] == ["a", "storm"]
    assert articles[1].sentences[0].label == "background"


def test_cli_convert_and_its_bad_input(tmp_path):
    t = task(labeled_article(), "v")
    export = write(tmp_path / "export.json", export_of([t, t | {"data": {**t["data"], "story_id": "x"}}], [[{"result": corrected(t, 0, "stance")}], None]))
    result = runner.invoke(app, ["data", "convert", str(export), str(tmp_path / "out.jsonl")])
    assert result.exit_code == 0, result.output
    assert "1 stories from Label Studio" in result.output and "not annotated: 1" in result.output
    assert "note: task 2: no annotation" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = runner.invoke(app, ["data", "convert", str(bad), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and result.output.startswith("error: ") and "bad.json" in result.output
    assert "Traceback" not in result.output
    nothing = write(tmp_path / "nothing.json", export_of([t], [None]))
    result = runner.invoke(app, ["data", "convert", str(nothing), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "no annotated story" in result.output and not (tmp_path / "o.jsonl").exists()
    result = runner.invoke(app, ["data", "convert", str(tmp_path / "missing.json"), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "Label Studio export not found" in result.output


# --- select --------------------------------------------------------------------------------------

def test_uncertainty_measures():
    sure, unsure = [0.97, 0.01, 0.01, 0.01], [0.3, 0.3, 0.2, 0.2]
    margin = sentence_uncertainty(np.array([sure, unsure]), "margin")
    assert margin[0] == pytest.approx(0.04) and margin[1] == pytest.approx(1.0)
    entropy = sentence_uncertainty(np.array([sure, [0.25] * 4]), "entropy")
    assert entropy[0] < 0.2 and entropy[1] == pytest.approx(1.0)
    probs = np.array([sure, unsure])
    assert story_uncertainty(probs, aggregate="max") == pytest.approx(1.0)
    assert story_uncertainty(probs, aggregate="sum") == pytest.approx(1.04)


def test_pick_spreads_over_the_pool_instead_of_taking_near_duplicates():
    texts = [f"the minister said the talks with the union would resume on monday {i}" for i in range(6)]
    texts += ["an earthquake shook the coast", "shares fell on the market", "the court heard the fire case"]
    uncertainty = [0.9, 0.89, 0.88, 0.87, 0.86, 0.85, 0.5, 0.4, 0.3]
    assert pick(uncertainty, texts, 3, diversity=0.0) == [0, 1, 2]  # uncertainty alone
    picked = pick(uncertainty, texts, 3, diversity=0.5)
    assert picked[0] == 0 and set(picked[1:]) <= {6, 7, 8}
    assert pick([0.9, 0.8, 0.1], ["Same text.", "same  TEXT.", "other"], 2, diversity=0.0) == [0, 2]  # exact duplicates never


def test_select_writes_the_most_uncertain_stories_as_tasks(tmp_path, tiny_article_model):
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(6):
        (pool / f"story{i}.txt").write_text(STORY.replace("12", str(10 + i)) + ("Officials said more. " * i), encoding="utf-8")
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps(labeled_article("story0").to_dict()) + "\n")
    out = tmp_path / "next.json"
    report = select_stories([str(pool)], tiny_article_model, 3, out, exclude=[train], diversity=0.0)
    assert report.pool == 6 and report.excluded == 1
    tasks = json.loads(out.read_text())
    assert [t["data"]["story_id"] for t in tasks] == [i for i, _ in report.picked]
    assert "story0" not in [i for i, _ in report.picked] and len(tasks) == 3
    scores = [u for _, u in report.picked]
    assert scores == sorted(scores, reverse=True)  # diversity 0: most uncertain first
    assert all(t["predictions"][0]["result"] for t in tasks)


def test_cli_label_writes_label_studio_tasks_and_config(tmp_path, tiny_article_model):
    story = tmp_path / "storm.txt"
    story.write_text(STORY, encoding="utf-8")
    out = tmp_path / "tasks.json"
    result = runner.invoke(app, ["label", str(story), "--model", str(tiny_article_model), "-o", str(out)])  # .json: tasks
    assert result.exit_code == 0, result.output
    (t,) = json.loads(out.read_text())
    assert t["data"]["title"] == "Storm hits coast" and t["data"]["story_id"] == "storm"
    assert t["data"]["text"].startswith("WASHINGTON -- A storm killed 12 people on Monday, officials said.")
    regions = t["predictions"][0]["result"]
    assert len(regions) == 4 and all(t["data"]["text"][r["value"]["start"]:r["value"]["end"]] == r["value"]["text"] for r in regions)
    assert t["predictions"][0]["model_version"].endswith(tiny_article_model.name)
    result = runner.invoke(app, ["data", "label-studio-config", "--model", str(tiny_article_model)])
    assert result.exit_code == 0 and [e.get("value") for e in ET.fromstring(result.output).find("Labels")] == ROLES


def test_a_project_export_lists_predictions_by_id_and_notes_are_capped(tmp_path):
    tasks = [task(labeled_article(f"s{i}"), "v") for i in range(8)]
    export = export_of(tasks, [None] * 7 + [[{"result": corrected(tasks[7], 0, "stance")}]])
    for i, t in enumerate(export):  # as Label Studio's export writes them
        prediction = t["predictions"][0]
        t["predictions"] = [i + 1]
        for a in t["annotations"]:
            a["prediction"] = prediction
    articles, report = convert_export(write(tmp_path / "e.json", export), ROLES, use_predictions=True)
    assert [a.id for a in articles] == ["s7"] and report.counts["not annotated"] == 7
    assert "by id only" in report.notes[0]
    assert "sentence boundaries moved" not in report.counts  # the annotation's own prediction is the reference
    shown = report.shown_notes(per_kind=5)
    assert len(shown) == 6 and shown[-1] == "... and 2 more: not annotated"
    blank = {"id": 9, "data": {"text": "  ", "story_id": "blank"}, "annotations": [
        {"id": 1, "result": [{"value": {"start": 0, "end": 2, "labels": ["fact"]}}]}]}
    articles, report = convert_export(write(tmp_path / "blank.json", [blank]), ROLES)
    assert articles == [] and report.counts == {"empty story": 1}
