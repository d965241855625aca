"""`newsroles label --format html`: one self-contained page, every story's data in it, nothing run
from a story's text. (What the page shows in a browser: tests/test_browser.py.)"""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.inference.views.pages import ROLE_COLORS, render_stories_html, role_legend
from newsroles.inference.io.writers import ArticleWriter, format_of
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from served_models import STORY, baseline_model

OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
EVIL = '<script>alert("x")</script></script><img src=x onerror=alert(1)> & <!-- \u2028'


def island(page: str, name: str):
    """The JSON a page holds in <script type="application/json" id=name>."""
    m = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.S)
    assert m, f"no {name} data in the page"
    return json.loads(m.group(1))


def labeled(n: int, with_evil: bool = False) -> list[Article]:
    articles = []
    for i in range(n):
        sentences = [
            Sentence(f"story {i} sentence {k}.", label=("fact", "quote", "stance", "background")[k % 4],
                     confidence=0.3 + 0.15 * k, scores={"fact": 0.4, "quote": 0.3, "stance": 0.2, "background": 0.1})
            for k in range(4)
        ]
        sentences.append(Sentence("Copyright 2026 The Wire.", label=None))
        if with_evil and i == 0:
            sentences.append(Sentence(EVIL, label="quote", confidence=0.9, scores={"quote": 0.9, "fact": 0.1}))
        articles.append(Article(f"id-{i}", sentences, title=f"Story {i}" if i % 2 else None))
    return articles


def test_label_writes_a_page_holding_the_same_records_as_jsonl(tmp_path):
    model = baseline_model()
    story = tmp_path / "storm.txt"
    story.write_text(STORY, encoding="utf-8")
    runner = CliRunner()
    as_html = runner.invoke(app, ["label", str(story), "--model", str(model), "--format", "html", "-o", str(tmp_path / "s.html"), "-q"])
    assert as_html.exit_code == 0, as_html.output
    as_jsonl = runner.invoke(app, ["label", str(story), "--model", str(model), "-o", str(tmp_path / "s.jsonl"), "-q"])
    assert as_jsonl.exit_code == 0, as_jsonl.output
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    records = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text(encoding="utf-8").splitlines()]
    assert island(page, "newsroles-stories") == records
    assert records[0]["offsets_into"] == "text"  # the page's script sets them as data-start / data-end
    assert [STORY[s["start"]:s["end"]] for s in records[0]["sentences"]] == [s["text"] for s in records[0]["sentences"]]
    config = island(page, "newsroles-config")
    assert [r["name"] for r in config["roles"]] == json.loads((model / "labels.json").read_text())
    assert config["min_confidence"] == 0.5
    assert not list(tmp_path.glob("*.tmp*")) and not list(tmp_path.glob("*.partial"))


def test_min_confidence_is_carried_into_the_page(tmp_path):
    story = tmp_path / "storm.txt"
    story.write_text(STORY, encoding="utf-8")
    out = tmp_path / "s.html"
    result = CliRunner().invoke(app, ["label", str(story), "--model", str(baseline_model()), "-o", str(out), "--min-confidence", "0.8", "-q"])
    assert result.exit_code == 0, result.output
    assert island(out.read_text(encoding="utf-8"), "newsroles-config")["min_confidence"] == 0.8


def test_page_is_self_contained():
    page = render_stories_html([a.to_dict() for a in labeled(3)], ["stance", "quote", "background", "fact"])
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I), "a request to another host"
    assert not re.search(r"<link\b|@import|url\(\s*['\"]?(?:https?:)?//", page, re.I)
    assert "<style>" in page and "NewsrolesView" in page, "CSS and JS are inline"
    assert "default-src 'none'" in page, "the page's own policy forbids loading anything"


def test_story_text_cannot_break_out_of_the_data(tmp_path):
    articles = labeled(2, with_evil=True)
    out = tmp_path / "evil.html"
    with ArticleWriter(out, labels=["stance", "quote", "background", "fact"]) as writer:
        writer.write_all(articles)
    page = out.read_text(encoding="utf-8")
    outside = re.sub(r'(<script type="application/json" id="newsroles-stories">).*?(</script>)', r"\1\2", page, flags=re.S)
    assert "alert" not in outside, "the story's text is only inside the JSON data"
    assert "<script>alert" not in page and "<img src=x" not in page and "<!-- " not in page
    stories = island(page, "newsroles-stories")
    assert stories[0]["sentences"][-1]["text"] == EVIL, "the text comes back exactly"
    assert "innerHTML" not in page, "the view puts text in with textContent only"


def test_thousands_of_stories_are_written_as_data_not_markup(tmp_path):
    out = tmp_path / "many.html"
    with ArticleWriter(out, "html", labels=["stance", "quote", "background", "fact"]) as writer:
        writer.write_all(labeled(3000))
    page = out.read_text(encoding="utf-8")
    stories = island(page, "newsroles-stories")
    assert len(stories) == 3000 and stories[2999]["id"] == "id-2999"
    assert stories[0]["sentences"][4] == {"text": "Copyright 2026 The Wire.", "label": None}, "unlabeled kept as null"
    assert page.count("<article") == 0, "stories are rendered by the page's script, a page at a time"
    assert island(page, "newsroles-config")["page_size"] <= 50


def test_roles_have_colour_blind_safe_colours_and_distinct_badges():
    roles = role_legend(["stance", "quote", "background", "fact", "speech", "summary", "s"])
    assert {r["color"] for r in roles} <= OKABE_ITO | {"#999999", "#777777"}
    assert {r["name"]: r["color"] for r in roles if r["name"] in ROLE_COLORS} == ROLE_COLORS
    badges = [r["badge"] for r in roles]
    assert len(set(badges)) == len(badges) and all(badges)
    assert role_legend(["stance", "quote", "background", "fact"])[0]["badge"] == "S"


def test_html_output_format_and_its_limits(tmp_path):
    assert format_of("stories.html") == "html" and format_of("stories.htm") == "html"
    with pytest.raises(UserError, match="resuming needs a JSONL output"):
        ArticleWriter(tmp_path / "x.html", resume=True)
    with ArticleWriter(tmp_path / "empty.html"):
        pass
    assert island((tmp_path / "empty.html").read_text(encoding="utf-8"), "newsroles-stories") == []


def test_a_failed_run_leaves_no_page(tmp_path):
    out = tmp_path / "half.html"
    with pytest.raises(RuntimeError):
        with ArticleWriter(out) as writer:
            writer.write(labeled(1)[0])
            raise RuntimeError("killed")
    assert not out.exists() and list(tmp_path.iterdir()) == []
