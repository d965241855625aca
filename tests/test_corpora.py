"""Readers of the corpora beside NewsDiscourse (training/data/): PolNeAR, Webis editorials, unlabeled
stories, on made-up miniatures written here, and `newsroles data stats` / `data convert` on them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.errors import UserError
from newsroles.training.data.polnear import iter_polnear
from newsroles.training.data.readers import read_articles
from newsroles.training.data.report import ReadReport
from newsroles.training.data.sources import ReadOptions, convert_source, detect_format, read_source
from newsroles.training.data.unlabeled import iter_unlabeled
from newsroles.training.data.webis import iter_webis

from corpora_miniature import A1, A2, A3, t_line, webis_units, write_polnear, write_webis

CONTENT, CUE, SOURCE = "attribution.content", "attribution.cue", "attribution.source"


# --------------------------------------------------------------------------------- PolNeAR


def polnear(folder: Path, **kwargs):
    report = ReadReport(str(folder))
    return list(iter_polnear(folder, report, **kwargs)), report


def flags(article, name):
    return [s.targets[name] for s in article.sentences]


def test_polnear_sentences_get_targets_from_span_overlap(tmp_path):
    [article], report = polnear(write_polnear(tmp_path))
    assert article.id == "bridge"
    assert article.title == "Mayor opens new bridge."
    assert [s.text for s in article.sentences] == [
        "The mayor opened the bridge on Monday.",
        "Traffic was light.",
        "Residents said the bridge was overdue.",
        '"It took ten years," one of them added.',
        "The council will vote on tolls next week.",
    ]
    assert [s.paragraph for s in article.sentences] == [0, 0, 1, 1, 1]
    # The discontinuous content's second fragment lands in "Traffic was light."
    assert flags(article, CONTENT) == [0, 1, 1, 1, 0]
    assert flags(article, CUE) == [0, 0, 1, 1, 0]
    assert flags(article, SOURCE) == [0, 0, 1, 0, 0]
    assert all(s.label is None for s in article.sentences)
    assert (report.articles, report.sentences, report.with_targets) == (1, 5, 5)
    assert report.targets == {CONTENT: 3, CUE: 2, SOURCE: 1}
    assert article.meta["annotators"] == ["a1"]


def test_polnear_covered_text_may_run_over_several_lines(tmp_path):
    ann = t_line(1, "Content", "them added.\nThe council") + t_line(2, "Cue", "added")
    assert ann.count("\n") == 3  # the covered text of T1 goes on over the next line
    [article], report = polnear(write_polnear(tmp_path, {"a1": ann}))
    assert flags(article, CONTENT) == [0, 0, 0, 1, 1]
    assert flags(article, CUE) == [0, 0, 0, 1, 0]
    assert report.warnings == []


def test_polnear_covered_text_unlike_the_text_is_a_warning(tmp_path):
    ann = t_line(1, "Source", "Residents").replace("\tResidents\n", "\tCouncil\n")
    [article], report = polnear(write_polnear(tmp_path, {"a1": ann}))
    assert flags(article, SOURCE) == [0, 0, 1, 0, 0]  # the offsets are what counts
    assert report.warnings == [f"{tmp_path / 'train' / 'attributions' / 'bridge_a1.ann'}:1: span T1 (Source) covers 'Council' but bridge.txt has 'Residents' there; offsets used"]


@pytest.mark.parametrize(
    "how, content",
    [
        ("majority", [0, 0, 1, 0, 0]),  # the quote (a1 only) and the council sentence (a3 only) fall out
        ("union", [0, 1, 1, 1, 1]),
        ("first", [0, 1, 1, 1, 0]),  # a1, the id that sorts first
        ("mean", [0, 1 / 3, 1, 1 / 3, 1 / 3]),
    ],
)
def test_polnear_several_annotators_are_combined(tmp_path, how, content):
    folder = write_polnear(tmp_path, {"a3": A3, "a1": A1, "a2": A2})
    [article], report = polnear(folder, annotators=how)
    assert flags(article, CONTENT) == pytest.approx(content, abs=1e-4)
    assert article.meta["annotators"] == ["a1", "a2", "a3"]
    assert report.articles == 1


def test_polnear_unknown_way_to_combine_annotators(tmp_path):
    with pytest.raises(UserError, match="majority, union, first, mean"):
        polnear(write_polnear(tmp_path), annotators="vote")


@pytest.mark.parametrize(
    "ann, line, message",
    [
        (A2 + "T9\tContent 10 x\tfoo\n", 4, "cannot read span T9"),
        (A2 + "T9\tQuote 0 4\tMayo\n", 4, "label 'Quote', not one of PolNeAR's"),
        ("T1\tContent 5 9999\tx\n", 1, "5-9999 does not fit in bridge.txt"),
        ("T1\tContent 9 5\tx\n", 1, "9-5 does not fit"),
        ("hello there\n" + A2, 1, "unexpected annotation line 'hello there'"),
    ],
)
def test_polnear_malformed_annotation_names_file_and_line(tmp_path, ann, line, message):
    folder = write_polnear(tmp_path, {"a1": ann})
    with pytest.raises(UserError, match=message) as info:
        polnear(folder)
    assert info.value.path == str(folder / "attributions" / "bridge_a1.ann")
    assert info.value.line == line


def test_polnear_skip_bad_counts_what_it_skipped(tmp_path):
    folder = write_polnear(tmp_path)
    (folder / "text" / "lonely.txt").write_text("Headline\n\nA body sentence here.\n", encoding="utf-8")
    (folder / "text" / "broken.txt").write_text("Headline\n\nAnother body sentence.\n", encoding="utf-8")
    (folder / "attributions" / "broken_a1.ann").write_text("T1\tContent 0 999\tx\n", encoding="utf-8")
    (folder / "attributions" / "gone_a1.ann").write_text(A2, encoding="utf-8")
    with pytest.raises(UserError, match="without its text text/gone.txt"):
        polnear(folder)
    articles, report = polnear(folder, skip_bad=True)
    assert [a.id for a in articles] == ["bridge"]
    assert report.articles == 1 and report.sentences == 5
    assert len(report.skipped) == 3
    joined = "\n".join(report.skipped)
    assert "gone_a1.ann: annotation file without its text" in joined
    assert "broken_a1.ann:1: span T1 (Content) 0-999" in joined
    assert "lonely.txt: no annotation file attributions/lonely_<annotator>.ann" in joined


def test_polnear_reads_splits_and_metadata(tmp_path):
    write_polnear(tmp_path, split="train")
    write_polnear(tmp_path, split="dev")
    (tmp_path / "metadata.tsv").write_text(
        "compartment\tfilename\tpublisher\tpublication_date\tauthor\ntrain\tbridge\tdaily-bugle\t2016-01-02\tNone\n",
        encoding="utf-8",
    )
    parts = read_source(tmp_path)
    assert [r.name for r, _ in parts] == ["train", "dev"]
    articles = [a for _, part in parts for a in part]
    assert articles[0].meta["publisher"] == "daily-bugle" and "author" not in articles[0].meta
    assert [r.articles for r, _ in parts] == [1, 1]


# --------------------------------------------------------------------------------- Webis


def webis(folder: Path, **kwargs):
    report = ReadReport(str(folder))
    return list(iter_webis(folder, report, **kwargs)), report


def hot(sentence):
    return sorted(name for name, v in sentence.targets.items() if v)


def test_webis_sentences_get_the_labels_of_their_units(tmp_path):
    write_webis(tmp_path)
    [article], report = webis(tmp_path)
    assert article.id == "guardian/001-bridges" and article.meta["outlet"] == "guardian"
    assert article.title == "Bridges matter"
    assert [s.text for s in article.sentences] == [
        "The city built a bridge, and it was the right call.",
        "Forty percent of residents cross it daily.",
        '"We needed it," the mayor said.',
    ]
    assert [s.paragraph for s in article.sentences] == [0, 0, 1]
    assert hot(article.sentences[0]) == ["unit.anecdote", "unit.assumption"]  # two units, one sentence
    assert hot(article.sentences[1]) == ["unit.statistics"]
    assert hot(article.sentences[2]) == ["unit.testimony"]
    assert len(article.sentences[0].targets) == 6  # every unit label is known: 0 means absent
    assert report.targets == {"unit.anecdote": 1, "unit.assumption": 1, "unit.statistics": 1, "unit.testimony": 1}


def test_webis_bad_label_names_the_file_and_the_line_of_the_unit(tmp_path):
    units = webis_units()
    units["paragraphs"][2][0]["label"] = "quote"
    path = write_webis(tmp_path, units)
    with pytest.raises(UserError, match=r'paragraph 3, unit 1 \(number 8\): label "quote" is not one of') as info:
        webis(tmp_path)
    assert info.value.path == str(path)
    assert path.read_text().splitlines()[info.value.line - 1].strip() == '"number": 8,'


def test_webis_bad_json_is_skipped_and_counted(tmp_path):
    write_webis(tmp_path)
    bad = tmp_path / "foxnews" / "002-broken.json"
    bad.parent.mkdir()
    bad.write_text('{"paragraphs": [\n  [{"number": 1,}]\n]}\n', encoding="utf-8")
    with pytest.raises(UserError) as info:
        webis(tmp_path)
    assert (info.value.path, info.value.line) == (str(bad), 2)
    articles, report = webis(tmp_path, skip_bad=True)
    assert [a.id for a in articles] == ["guardian/001-bridges"]
    assert len(report.skipped) == 1 and report.skipped[0].startswith(f"{bad}:2: not valid JSON")


# --------------------------------------------------------------------------------- unlabeled stories

STORY = "City opens bridge\n\nThe city opened its new bridge on Monday. Officials said traffic was light.\nIt cost $40 million."


def write_stories(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_stories_are_split_and_empty_or_short_ones_skipped_and_counted(tmp_path):
    path = write_stories(
        tmp_path / "stories.jsonl",
        [
            json.dumps({"id": "s1", "text": STORY, "section": "city"}),
            json.dumps({"id": "s2", "text": "   "}),
            json.dumps({"id": "s3", "text": "Too short to keep."}),
        ],
    )
    report = ReadReport(str(path))
    [article] = list(iter_unlabeled(path, report, min_words=10))
    assert article.id == "s1" and article.title == "City opens bridge"
    assert [s.text for s in article.sentences] == [
        "The city opened its new bridge on Monday.",
        "Officials said traffic was light.",
        "It cost $40 million.",
    ]
    assert all(s.label is None and s.targets is None for s in article.sentences)
    assert article.meta == {"section": "city"}
    assert report.articles == 1 and report.sentences == 3
    assert report.skipped == [
        f"{path}:2: story 's2' has no text: skipped",
        f"{path}:3: story 's3' has 4 words, fewer than 10: skipped",
    ]


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"id": "x", "text": ', "not valid JSON"),
        ('{"text": "no id here at all"}', "record has no `id`"),
        ('{"id": "s1", "text": "the same id again"}', "duplicate id 's1' (first on line 1)"),
        ('{"id": "s9", "text": 5}', "`text` must be a string"),
    ],
)
def test_malformed_story_names_file_and_line_or_is_skipped(tmp_path, bad, message):
    path = write_stories(tmp_path / "stories.jsonl", [json.dumps({"id": "s1", "text": STORY}), bad, json.dumps({"id": "s2", "text": STORY})])
    with pytest.raises(UserError, match=re.escape(message)) as info:
        list(iter_unlabeled(path, ReadReport(str(path)), min_words=1))
    assert (info.value.path, info.value.line) == (str(path), 2)
    report = ReadReport(str(path))
    assert [a.id for a in iter_unlabeled(path, report, skip_bad=True, min_words=1)] == ["s1", "s2"]
    assert len(report.skipped) == 1 and report.skipped[0].startswith(f"{path}:2: ")


def test_stories_from_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "stories.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [STORY, ""]}), path)
    assert detect_format(path) == "unlabeled"
    report = ReadReport(str(path))
    [article] = list(iter_unlabeled(path, report, min_words=1))
    assert article.id == "p1" and len(article.sentences) == 3
    assert report.skipped == [f"{path}:2: story 'p2' has no text: skipped"]
    table = tmp_path / "sentences.parquet"  # a sentence table is our own data, not stories
    pq.write_table(pa.table({"article_id": ["a", "a"], "text": ["One.", "Two."]}), table)
    assert detect_format(table) == "articles"
    pq.write_table(pa.table({"id": ["p1"], "body": [STORY]}), path)
    with pytest.raises(UserError, match="no column"):
        list(iter_unlabeled(path, ReadReport(str(path))))


# --------------------------------------------------------------------------------- formats, convert, stats


def test_detect_format(tmp_path):
    write_polnear(tmp_path / "polnear")
    write_webis(tmp_path / "webis")
    stories = write_stories(tmp_path / "stories.jsonl", [json.dumps({"id": "s1", "text": STORY})])
    ours = tmp_path / "ours.jsonl"
    ours.write_text(json.dumps({"id": "a", "sentences": [{"text": "x"}]}) + "\n", encoding="utf-8")
    assert detect_format(tmp_path / "polnear") == "polnear"
    assert detect_format(tmp_path / "polnear" / "train") == "polnear"
    assert detect_format(tmp_path / "webis") == "webis"
    assert detect_format(stories) == "unlabeled"
    assert detect_format(ours) == "articles"
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="give --format"):
        detect_format(tmp_path / "empty")
    # A path that tells nothing is the command's default, whose reader says what is wrong.
    assert detect_format(tmp_path / "empty", default="newsdiscourse") == "newsdiscourse"
    assert detect_format(tmp_path / "missing.jsonl", default="articles") == "articles"
    (tmp_path / "other" / "x").mkdir(parents=True)
    (tmp_path / "other" / "x" / "settings.json").write_text('{"a": 1}', encoding="utf-8")
    assert detect_format(tmp_path / "other", default="articles") == "articles"  # a .json that is no editorial


def test_convert_writes_each_split_and_targets_read_back(tmp_path):
    write_polnear(tmp_path / "polnear", split="train")
    write_polnear(tmp_path / "polnear", {"a2": A2}, split="dev")
    results = convert_source(tmp_path / "polnear", tmp_path / "out", "polnear")
    assert [out.name for _, out in results] == ["train.jsonl", "dev.jsonl"]
    [article] = read_articles(tmp_path / "out" / "train.jsonl")
    assert [s.targets[CONTENT] for s in article.sentences] == [0, 1, 1, 1, 0]
    assert article.meta["corpus"] == "polnear"
    with pytest.raises(UserError, match="2 splits: give a folder"):
        convert_source(tmp_path / "polnear", tmp_path / "one.jsonl", "polnear")


def test_targets_out_of_range_in_our_jsonl_name_the_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = {"id": "a", "sentences": [{"text": "x", "targets": {CONTENT: 1}}]}
    bad = {"id": "b", "sentences": [{"text": "x", "targets": {CONTENT: 2}}]}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="`targets` must be an object of target name -> number from 0 to 1") as info:
        read_articles(path)
    assert info.value.line == 2


runner = CliRunner()


def test_data_stats_table_shows_targets_and_skipped(tmp_path):
    folder = write_polnear(tmp_path / "polnear")
    (folder / "text" / "lonely.txt").write_text("Headline\n\nA body sentence here.\n", encoding="utf-8")
    result = runner.invoke(app, ["data", "stats", str(tmp_path / "polnear"), "--skip-bad"])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in result.stdout.splitlines() if line.count("│") == 4}
    assert rows["articles"] == "1" and rows["sentences"] == "5"
    assert rows["with targets"] == "5"
    assert (rows[CONTENT], rows[CUE], rows[SOURCE]) == ("3", "2", "1")
    assert rows["skipped"] == "1"
    assert "skipped: " in result.stderr and "lonely.txt" in result.stderr
    as_json = json.loads(runner.invoke(app, ["data", "stats", str(tmp_path / "polnear"), "--skip-bad", "--json"]).stdout)
    assert as_json["targets"][CONTENT] == {"count": 3, "share": 0.6}
    bad = runner.invoke(app, ["data", "stats", str(tmp_path / "polnear")])
    assert bad.exit_code == 2 and "lonely.txt: no annotation file" in bad.stderr and "Traceback" not in bad.output


def test_data_convert_command(tmp_path):
    write_webis(tmp_path / "webis")
    result = runner.invoke(app, ["data", "convert", str(tmp_path / "webis"), str(tmp_path / "out.jsonl"), "--format", "webis"])
    assert result.exit_code == 0, result.output
    assert "out.jsonl: 1 articles, 3 sentences (targets: unit.anecdote 1, unit.assumption 1" in result.stderr
    assert len(read_articles(tmp_path / "out.jsonl")[0].sentences) == 3
    bad = runner.invoke(app, ["data", "convert", str(tmp_path / "webis"), str(tmp_path / "o.jsonl"), "--format", "nope"])
    assert bad.exit_code == 2 and "'nope' is not one of 'newsdiscourse', 'polnear', 'webis'" in bad.stderr


def test_read_options_reach_the_readers(tmp_path):
    write_polnear(tmp_path, {"a1": A1, "a2": A2, "a3": A3})
    [(report, part)] = read_source(tmp_path / "train", "polnear", ReadOptions(annotators="union"))
    [article] = list(part)
    assert flags(article, CONTENT) == [0, 1, 1, 1, 1]
