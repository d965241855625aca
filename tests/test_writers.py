"""Output writers: JSONL (round trip through read_articles), CSV/TSV, terminal view, streaming, resume."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.inference.io.writers import (
    ArticleWriter,
    completed_ids,
    render_terminal,
    write_csv,
    write_jsonl,
)
from newsroles.training.data.readers import read_articles

FIXTURES = Path(__file__).parent / "fixtures"
ROLES = ["stance", "quote", "background", "fact"]


def predicted(articles: list[Article]) -> list[Article]:
    """Give every sentence a label, confidence and scores, as a predictor would."""
    for a in articles:
        for i, s in enumerate(a.sentences):
            scores = {lab: 0.1 for lab in ROLES}
            best = ROLES[i % 4]
            scores[best] = 0.7 + i / 1000
            s.label, s.confidence, s.scores = best, scores[best], scores
    return articles


@pytest.fixture
def articles() -> list[Article]:
    return predicted(read_articles(FIXTURES / "articles.jsonl"))


def sentence_tuples(articles):
    return [
        (a.id, a.title, s.text, s.label, s.confidence, s.scores, s.paragraph, s.source_labels)
        for a in articles
        for s in a.sentences
    ]


def test_jsonl_round_trip(tmp_path, articles):
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        assert write_jsonl(articles, fh) == 2
    back = read_articles(path, ROLES)
    assert sentence_tuples(back) == sentence_tuples(articles)
    assert back[1].meta == {"domain": "Politics"}
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first["sentences"][0]) >= {"text", "label", "confidence", "scores"}


def test_csv_columns_and_values(articles):
    buf = io.StringIO()
    write_csv(articles, buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[0] == ["article_id", "sentence_index", "text", "label", "confidence"] + [f"score_{x}" for x in ROLES] + [
        "start", "end", "offsets_into"]
    assert len(rows) == 1 + 6
    assert rows[1][:5] == ["a1", "0", "The city council approved a new park on Monday.", "stance", "0.7"]
    assert rows[2][2] == '"It is a great day for the neighborhood," the mayor said.'
    assert rows[6][:4] == ["a2", "1", "Unlabeled context sentence.", "quote"]
    assert [float(x) for x in rows[2][5:9]] == [0.1, 0.701, 0.1, 0.1]
    assert rows[2][9:] == ["", "", ""]  # read from a gold file: no offsets


def test_csv_output_reads_back_as_input(tmp_path, articles):
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_csv(articles, fh, labels=ROLES)
    back = read_articles(path, ROLES)
    assert [(s.text, s.label) for a in back for s in a.sentences] == [
        (s.text, s.label) for a in articles for s in a.sentences
    ]


def test_csv_without_scores_has_no_score_columns():
    buf = io.StringIO()
    write_csv([Article("x", [Sentence("Hi.", label="fact")])], buf)
    assert buf.getvalue().splitlines() == ["article_id,sentence_index,text,label,confidence,start,end,offsets_into", "x,0,Hi.,fact,,,,"]


def test_render_terminal_heading_shows_the_pages_date():
    dated = Article("a1", [Sentence("Hi.", label="fact")], title="Park opens", meta={"date": "2024-03-05"})
    untitled = Article("a2", [Sentence("Hi.", label="fact")], meta={"date": "2024-03-06", "url": "x"})
    console = Console(width=120, record=True, file=io.StringIO())
    render_terminal([dated, untitled], console)
    lines = console.export_text().splitlines()
    assert lines[0] == "Park opens  (a1, 2024-03-05)"
    assert "a2  (2024-03-06)" in lines


def test_render_terminal(articles):
    articles[0].sentences[0].text = "Markup [bold]stays[/bold] literal."
    console = Console(width=120, record=True, color_system="truecolor", force_terminal=True, file=io.StringIO())
    render_terminal(articles, console)
    text = console.export_text(clear=False)
    assert "Council approves new park" in text and "(a1)" in text
    assert "a2" in text  # no title: the id is the heading
    assert "Markup [bold]stays[/bold] literal." in text
    assert "stance" in text and "0.70" in text
    # paragraphs 0 | 1 1 | 2 of a1 give blank lines between them
    lines = [line.rstrip() for line in text.splitlines()]
    assert lines[1].startswith("stance") and lines[2] == ""
    assert "\x1b[1;35mstance" in console.export_text(styles=True)  # colored tags


def test_article_writer_streams_atomically(tmp_path, articles):
    path = tmp_path / "out.jsonl"
    with ArticleWriter(path) as writer:
        writer.write(articles[0])
        assert not path.exists()  # appears only when complete
        writer.write(articles[1])
    assert [a.id for a in read_articles(path, ROLES)] == ["a1", "a2"]
    assert writer.written == 2


def test_article_writer_on_error_leaves_only_a_partial_file_that_resume_continues(tmp_path, articles):
    path = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        with ArticleWriter(path) as writer:
            writer.write(articles[0])
            raise RuntimeError("model crashed")
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl.partial"], "nothing may look complete"
    # A kill in the middle of a line leaves it unfinished: resume cuts it and goes on.
    with open(tmp_path / "out.jsonl.partial", "a", encoding="utf-8") as fh:
        fh.write('{"id": "half-writ')
    with ArticleWriter(path, resume=True) as writer:
        assert writer.completed == {articles[0].id}
        assert writer.write_all(articles) == len(articles) - 1
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert ids == [a.id for a in articles], "no duplicates, no gaps"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_csv_writer_leaves_nothing_on_error(tmp_path, articles):
    with pytest.raises(RuntimeError):
        with ArticleWriter(tmp_path / "out.csv") as writer:
            writer.write(articles[0])
            raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix, delimiter", [("csv", ","), ("tsv", "\t")])
def test_article_writer_csv_and_tsv(tmp_path, articles, suffix, delimiter):
    path = tmp_path / f"out.{suffix}"
    with ArticleWriter(path) as writer:
        writer.write_all(articles)
    rows = list(csv.reader(path.open(encoding="utf-8", newline=""), delimiter=delimiter))
    assert rows[0][-7:-3] == [f"score_{x}" for x in ROLES] and len(rows) == 7
    assert [a.id for a in read_articles(path, ROLES)] == ["a1", "a2"]


def test_article_writer_format_errors(tmp_path):
    with pytest.raises(UserError, match="cannot tell the output format"):
        ArticleWriter(tmp_path / "out.txt")
    with pytest.raises(UserError, match="unknown output format 'xml'"):
        ArticleWriter(tmp_path / "out", fmt="xml")
    with pytest.raises(UserError, match="resuming needs a JSONL output"):
        ArticleWriter(tmp_path / "out.csv", resume=True)


def test_completed_ids_tolerates_a_truncated_last_line(tmp_path, articles):
    path = tmp_path / "out.jsonl"
    assert completed_ids(path) == set()
    full = "".join(json.dumps(a.to_dict()) + "\n" for a in articles)
    path.write_text(full[: full.index('"a2"') + 20], encoding="utf-8")  # killed while writing a2
    assert completed_ids(path) == {"a1"}
    path.write_text(full, encoding="utf-8")
    assert completed_ids(path) == {"a1", "a2"}
    path.write_text("garbage\n" + full, encoding="utf-8")
    with pytest.raises(UserError) as info:
        completed_ids(path)
    assert str(info.value).startswith(f"{path}:1: ")


def test_article_writer_resume_keeps_done_articles(tmp_path, articles):
    path = tmp_path / "out.jsonl"
    full = "".join(json.dumps(a.to_dict()) + "\n" for a in articles)
    path.write_text(full[: full.index('"a2"') + 20], encoding="utf-8")
    with ArticleWriter(path, resume=True) as writer:
        assert writer.completed == {"a1"}
        assert writer.write(articles[0]) is False  # already there
        assert writer.write(articles[1]) is True
    back = read_articles(path, ROLES)
    assert sentence_tuples(back) == sentence_tuples(articles)


# ---------------------------------------------------------------------------------------------
# Character offsets in every file format

STORY = "Storm kills 12 in Texas\r\n\r\n  HOUSTON -- A storm killed 12 people.\tOfficials said so.\r\n\r\nA storm killed 12 people.\n"


def story_articles() -> list[Article]:
    from newsroles.inference.splitter import article_from_text

    article = article_from_text(STORY, "storm")
    html = Article("page", [Sentence("From a page.", start=0, end=12)], offsets_into="extracted_text", extracted_text="From a page.")
    return predicted([article, html])


def test_offsets_point_into_the_text_in_jsonl_csv_and_parquet(tmp_path):
    from newsroles.inference.io.parquet import read_records

    articles = story_articles()
    assert articles[0].title == "Storm kills 12 in Texas"
    for fmt in ("jsonl", "csv", "parquet"):
        with ArticleWriter(tmp_path / f"out.{fmt}") as writer:
            writer.write_all(articles)
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    story = records[0]
    assert story["offsets_into"] == "text" and "extracted_text" not in story
    spans = [(s["start"], s["end"]) for s in story["sentences"]]
    assert [STORY[a:b] for a, b in spans] == ["HOUSTON -- A storm killed 12 people.", "Officials said so.", "A storm killed 12 people."]
    assert [s["text"] for s in story["sentences"]] == [STORY[a:b] for a, b in spans]
    assert spans[2] != spans[0]  # a repeated sentence has its own place
    assert list(story["sentences"][0])[:5] == ["text", "label", "paragraph", "confidence", "scores"]  # new keys come last
    assert list(story["sentences"][0])[-2:] == ["start", "end"]
    assert records[1]["offsets_into"] == "extracted_text" and records[1]["extracted_text"] == "From a page."
    assert read_records(str(tmp_path / "out.parquet")) == records
    rows = list(csv.DictReader((tmp_path / "out.csv").open(encoding="utf-8", newline="")))
    assert [(r["start"], r["end"], r["offsets_into"]) for r in rows] == [
        *((str(a), str(b), "text") for a, b in spans), ("0", "12", "extracted_text")]


def test_offsets_in_the_terminal_view_on_request():
    console = Console(width=120, record=True, file=io.StringIO())
    render_terminal(story_articles()[:1], console, offsets=True)
    text = console.export_text()
    assert "29-65" in text and STORY[29:65] == "HOUSTON -- A storm killed 12 people."
    console = Console(width=120, record=True, file=io.StringIO())
    render_terminal(story_articles()[:1], console)
    assert "29-65" not in console.export_text()
