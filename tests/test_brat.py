"""The NewsDiscourse brat converter (on a miniature of the corpus with its quirks) and corpus stats."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from newsroles.model.errors import InputWarning, UserError
from newsroles.model.labels import load_mapping
from newsroles.training.data.brat import convert_brat, iter_brat_articles
from newsroles.training.data.readers import read_articles
from newsroles.training.data.stats import compute_stats, stats_table

from conftest import BRAT_MINIATURE

BRAT = BRAT_MINIATURE  # tests/brat_miniature.py, written by conftest
ROLES = ["stance", "quote", "background", "fact"]
CONTENT_TYPES = [
    "Main",
    "Main_Consequence",
    "Cause_Specific",
    "Cause_General",
    "Distant_Historical",
    "Distant_Anecdotal",
    "Distant_Evaluation",
    "Distant_Expectations_Consequences",
]


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the fixture corpus, for tests that break it."""
    dest = tmp_path / "corpus"
    shutil.copytree(BRAT, dest)
    return dest


def by_id(articles):
    return {a.id: a for a in articles}


# ------------------------------------------------------------------------------------ reading


def test_iter_is_recursive_sorted_with_relative_ids_and_meta():
    articles = list(iter_brat_articles(BRAT / "train", load_mapping("roles")))
    assert [a.id for a in articles] == ["Business/Reuters_1", "Politics/Xinhua_48"]
    reuters, xinhua = articles
    assert reuters.title == "Widget maker shares fall after profit warning"
    assert reuters.meta == {
        "domain": "Business",
        "url": "https://www.reuters.com/article/example-widget-1",
        "date": "2018-10-05 19:30:29+00:00",
        "authors": "Jane Doe, John Roe",
    }
    assert xinhua.meta == {"domain": "Politics", "url": "http://www.xinhuanet.com/english/example-budget"}
    (flat,) = iter_brat_articles(BRAT / "validation", load_mapping("roles"))
    assert flat.id == "BXinhua_1" and "domain" not in flat.meta


def test_sentences_labels_speech_priority_na_and_paragraphs():
    articles = by_id(iter_brat_articles(BRAT / "train", load_mapping("roles")))
    s = articles["Business/Reuters_1"].sentences
    assert [x.text[:8] for x in s] == ["NEW YORK", "FILE PHO", "REUTERS/", "“This is", "Analysts", "The comp", "Investor"]
    assert s[3].text.startswith("“This is")  # two spaces after S4: no leading space kept
    assert [x.label for x in s] == ["fact", None, None, "quote", "background", "background", "quote"]
    assert [x.paragraph for x in s] == [0, 1, 1, 2, 2, 3, 3]
    # content type first, Speech last, whatever the .ann order (there Speech comes first for S4)
    assert s[3].source_labels == ["Distant_Evaluation", "Speech"]
    assert s[6].source_labels == ["Distant_Expectations_Consequences", "Speech"]
    assert s[1].source_labels == ["NA"]
    assert s[5].source_labels == ["Distant_Historical"]  # its .ann line has a trailing space


def test_t_line_without_s_prefix_is_ignored_with_a_warning():
    warnings = []
    articles = by_id(iter_brat_articles(BRAT / "train", load_mapping("roles"), on_warning=warnings.append))
    xinhua = articles["Politics/Xinhua_48"]
    # `T4 Speech ... 3` must not turn S3 (Distant_Evaluation) into a quote: the corpus authors'
    # reader ignores it too, which is what the published counts assume.
    assert [x.label for x in xinhua.sentences] == ["quote", "background", "stance"]
    assert xinhua.sentences[2].source_labels == ["Distant_Evaluation"]
    (w,) = warnings
    assert w.path == str(BRAT / "train" / "Politics" / "Xinhua_48.ann") and w.line == 7
    assert "covers '3', not a sentence id" in w.message and "in the line of S2" in w.message


# --------------------------------------------------------------------------------- conversion


def test_convert_splits_into_a_folder(tmp_path):
    out = tmp_path / "out"
    report = convert_brat(BRAT, out)
    assert sorted(p.name for p in out.iterdir()) == ["train.jsonl", "validation.jsonl"]
    train, val = report.split("train"), report.split("validation")
    assert (train.articles, train.sentences, train.unlabeled) == (2, 10, 2)
    assert dict(train.labels) == {"quote": 3, "background": 3, "stance": 1, "fact": 1}
    assert (val.articles, val.sentences, val.unlabeled) == (1, 5, 1)
    assert dict(val.labels) == {"fact": 2, "background": 2}
    assert len(report.warnings) == 1 and not report.skipped
    assert report.to_dict()["splits"][0]["labeled"] == 8
    # the output reads back with the mapping's label set, NA sentences kept as unlabeled context
    articles = read_articles(out / "train.jsonl", ROLES)
    assert [a.id for a in articles] == ["Business/Reuters_1", "Politics/Xinhua_48"]
    assert articles[0].sentences[1].label is None and articles[0].sentences[1].source_labels == ["NA"]
    assert articles[0].meta["domain"] == "Business"


def test_convert_into_one_file(tmp_path):
    report = convert_brat(BRAT, tmp_path / "all.jsonl")
    ids = [json.loads(line)["id"] for line in (tmp_path / "all.jsonl").read_text().splitlines()]
    assert ids == ["train/Business/Reuters_1", "train/Politics/Xinhua_48", "validation/BXinhua_1"]
    assert report.sentences == 15 and report.splits[0].name is None
    # a folder without splits into an existing folder: <src name>.jsonl
    convert_brat(BRAT / "train", tmp_path)
    assert (tmp_path / "train.jsonl").is_file()


def test_content_types_mapping_gives_the_eight_types(tmp_path):
    report = convert_brat(BRAT, tmp_path / "ct", "content-types")
    seen = set()
    for split in ("train", "validation"):
        for a in read_articles(tmp_path / "ct" / f"{split}.jsonl", CONTENT_TYPES):
            seen |= {s.label for s in a.sentences if s.label is not None}
    assert seen == set(CONTENT_TYPES)
    assert report.labels == tuple(CONTENT_TYPES)
    assert report.ignored_source_labels == {"Speech": 3}  # Speech is named by no rule there
    assert report.split("train").unlabeled == 2  # NA


def test_mapping_from_a_yaml_path(tmp_path):
    mapping = tmp_path / "speech.yaml"
    mapping.write_text(
        "labels: [speech, other]\nrules:\n  - when: [Speech]\n    label: speech\n"
        "  - when: [NA]\n    label: null\n"
        "  - when: [Main, Main_Consequence, Cause_Specific, Cause_General, Distant_Historical,\n"
        "           Distant_Anecdotal, Distant_Evaluation, Distant_Expectations_Consequences]\n    label: other\n"
    )
    report = convert_brat(BRAT, tmp_path / "out", mapping)
    assert dict(report.split("train").labels) == {"speech": 3, "other": 5}


# ------------------------------------------------------------------------------------- errors


def expect(fn, path: Path, line: int | None, fragment: str) -> UserError:
    with pytest.raises(UserError) as info:
        fn()
    err = info.value
    assert err.path == str(path) and err.line == line, str(err)
    assert fragment in err.message, err.message
    return err


def test_txt_without_ann(corpus, tmp_path):
    (corpus / "train" / "Business" / "Reuters_1.ann").unlink()
    txt = corpus / "train" / "Business" / "Reuters_1.txt"
    expect(lambda: convert_brat(corpus, tmp_path / "out"), txt, None, "no annotation file Reuters_1.ann")


def test_ann_referencing_a_missing_sentence(corpus, tmp_path):
    ann = corpus / "validation" / "BXinhua_1.ann"
    ann.write_text(ann.read_text() + "T9\tMain 1 3\tS9\nE9\tMain:T9 \n")
    expect(lambda: convert_brat(corpus, tmp_path / "out"), ann, 11, "refers to sentence S9, which BXinhua_1.txt")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written


def test_label_no_rule_covers(corpus, tmp_path):
    ann = corpus / "validation" / "BXinhua_1.ann"
    ann.write_text(ann.read_text().replace("Distant_Anecdotal", "Gossip"))
    err = expect(lambda: convert_brat(corpus, tmp_path / "out"), ann, 7, "covers the label(s) ['Gossip'] of sentence S4")
    assert "roles" in err.message


def test_unreadable_annotation_line(corpus, tmp_path):
    ann = corpus / "validation" / "BXinhua_1.ann"
    ann.write_text("T1 Main S1\n" + ann.read_text())
    expect(lambda: convert_brat(corpus, tmp_path / "out"), ann, 1, "cannot read annotation")


def test_undecodable_text_is_decoded_with_a_warning(corpus, tmp_path):
    txt = corpus / "validation" / "BXinhua_1.txt"
    txt.write_bytes(txt.read_bytes().replace(b"Heavy rain", b"Heavy r\xe4in"))
    with pytest.warns(InputWarning, match=rf"{re.escape(str(txt))}:10: not valid UTF-8 \(byte 0xe4"):
        convert_brat(corpus, tmp_path / "out")
    assert "Heavy r\ufffdin" in (tmp_path / "out" / "validation.jsonl").read_text(encoding="utf-8")


def test_binary_text(corpus, tmp_path):
    txt = corpus / "validation" / "BXinhua_1.txt"
    txt.write_bytes(b"S1 \x00\x01\x02")
    expect(lambda: convert_brat(corpus, tmp_path / "out"), txt, None, "binary file (NUL bytes)")


def test_unexpected_txt_line_and_unlabeled_sentence(corpus, tmp_path):
    txt = corpus / "validation" / "BXinhua_1.txt"
    original = txt.read_text(encoding="utf-8")
    txt.write_text(original.replace("S5 (Editing", "(Editing"), encoding="utf-8")
    expect(lambda: convert_brat(corpus, tmp_path / "out"), txt, 13, "unexpected line '(Editing by Someone)'")
    txt.write_text(original + "S6 A sentence nobody labeled.\n", encoding="utf-8")
    expect(lambda: convert_brat(corpus, tmp_path / "out"), txt, 14, "sentence S6 has no label in BXinhua_1.ann")


def test_skip_bad_skips_and_counts(corpus, tmp_path):
    (corpus / "train" / "Business" / "Reuters_1.ann").unlink()
    report = convert_brat(corpus, tmp_path / "out", skip_bad=True)
    train = report.split("train")
    assert train.articles == 1 and len(train.skipped) == 1
    assert train.skipped[0].path.endswith("Reuters_1.txt") and "no annotation file" in train.skipped[0].reason
    assert [a.id for a in read_articles(tmp_path / "out" / "train.jsonl")] == ["Politics/Xinhua_48"]
    assert report.to_dict()["skipped"] == 1


def test_bad_source_and_destination(tmp_path):
    expect(lambda: convert_brat(tmp_path / "missing", tmp_path / "o.jsonl"), tmp_path / "missing", None, "not found")
    empty = tmp_path / "empty"
    empty.mkdir()
    expect(lambda: convert_brat(empty, tmp_path / "o.jsonl"), empty, None, "no brat articles")
    expect(lambda: convert_brat(BRAT / "train", tmp_path / "out"), tmp_path / "out", None, "must be a .jsonl file")
    with pytest.raises(UserError, match="unknown label mapping 'nope'"):
        convert_brat(BRAT, tmp_path / "out", "nope")


# -------------------------------------------------------------------------------------- stats


def test_compute_stats_and_table():
    articles = list(iter_brat_articles(BRAT / "train", load_mapping("roles")))
    stats = compute_stats(articles, ROLES)
    assert (stats["articles"], stats["sentences"], stats["labeled"], stats["unlabeled"]) == (2, 10, 8, 2)
    assert list(stats["labels"]) == ROLES
    assert stats["labels"]["quote"] == {"count": 3, "share": 0.375}
    assert stats["labels"]["fact"] == {"count": 1, "share": 0.125}
    assert stats["sentences_per_article"] == {"min": 3, "median": 5.0, "mean": 5.0, "p95": 7, "max": 7}
    assert stats["tokens_per_sentence"]["min"] == 1  # "REUTERS/Photographer"
    assert stats["source_labels"]["Speech"] == 3
    json.dumps(stats)  # plain data
    console = Console(width=100, record=True)
    console.print(stats_table(stats, title="train"))
    text = console.export_text()
    assert "quote" in text and "37.5%" in text and "sentences / article" in text


def test_stats_of_nothing_and_unknown_labels():
    stats = compute_stats([])
    assert stats["articles"] == 0 and stats["labels"] == {} and stats["tokens_per_article"]["median"] is None
    Console(width=80, file=io.StringIO()).print(stats_table(stats))
