"""In a real browser (headless Chromium): the page `label --format html` writes, and the page of
`newsroles serve` with a story pasted and submitted. Checks what the DOM shows (each sentence, its
role, its badge, its scores on keyboard focus), that stories' markup stays text, that thousands of
stories render a page at a time, and that a screenshot is not blank."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from headless_chromium import Chromium, find_chromium
from newsroles.inference.cli import app
from newsroles.inference.io.writers import ArticleWriter
from newsroles.model.article import Article, Sentence
from served_models import STORY, baseline_model

EXAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "examples" / "yonhap-north-korea-diplomacy.txt"
ROLES = ["stance", "quote", "background", "fact"]


@pytest.fixture(scope="module")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; `make test` installs it): browser tests skipped")
    pytest.importorskip("websockets", reason="websockets (in the test extra) drives Chromium")
    chromium = Chromium(executable)
    yield chromium
    chromium.close()


def dom_sentences(browser, story_selector: str) -> list[dict]:
    return browser.eval(f"""Array.from(document.querySelectorAll({json.dumps(story_selector + ' .s')})).map(s => ({{
        role: s.getAttribute('data-role'), text: s.querySelector('.text').textContent,
        badge: s.querySelector('.badge').textContent, low: s.classList.contains('low'),
        unlabeled: s.classList.contains('none'), focusable: s.tabIndex === 0, title: s.title,
        start: s.getAttribute('data-start'), end: s.getAttribute('data-end')}}))""")


def assert_shows(browser, record: dict, selector: str, threshold: float = 0.5) -> None:
    shown = dom_sentences(browser, selector)
    assert [s["text"] for s in shown] == [s["text"] for s in record["sentences"]]
    assert [s["role"] or None for s in shown] == [s["label"] for s in record["sentences"]]
    # Where each sentence stands in the story's text, for a page script to highlight it there.
    # (None where a record has no offsets.)
    assert [(s["start"], s["end"]) for s in shown] == [
        (str(s["start"]), str(s["end"])) if "start" in s else (None, None) for s in record["sentences"]]
    assert browser.eval(f"document.querySelector({json.dumps(selector)}).getAttribute('data-offsets-into')") == record.get("offsets_into")
    for s, sentence in zip(shown, record["sentences"]):
        assert s["focusable"] and s["badge"], "a badge beside the colour, and reachable by keyboard"
        if sentence["label"] is None:
            assert s["unlabeled"] and s["badge"] == "\u2013"
        else:
            assert s["badge"].startswith(sentence["label"][0].upper())
            assert s["low"] == (sentence["confidence"] < threshold)
            assert f"{sentence['label']} {sentence['confidence']:.2f}" in s["title"]


def assert_not_blank(png: bytes, save_as: str | None = None) -> None:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 10, "the screenshot is blank"
    folder = os.environ.get("NEWSROLES_SCREENSHOTS")
    if folder and save_as:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / save_as).write_bytes(png)


def test_page_written_by_label(browser, tmp_path):
    inputs = [tmp_path / "storm.txt"]
    inputs[0].write_text(STORY, encoding="utf-8")
    if EXAMPLE.is_file():
        inputs.append(EXAMPLE)
    runner = CliRunner()
    for out in ("stories.html", "stories.jsonl"):
        result = runner.invoke(app, ["label", *map(str, inputs), "--model", str(baseline_model()), "-o", str(tmp_path / out), "-q"])
        assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "stories.jsonl").read_text(encoding="utf-8").splitlines()]
    browser.open((tmp_path / "stories.html").as_uri())
    assert browser.eval("document.querySelectorAll('article.story').length") == len(records)
    for k, record in enumerate(records):
        assert_shows(browser, record, f"#story-{k}")
        assert browser.eval(f"document.querySelector('#story-{k} .share-text').textContent").count("%") >= 1
    assert browser.eval("document.querySelector('.legend').textContent").count("stance") == 1
    assert_not_blank(browser.screenshot(), "stories-file.png")
    # The scores show on keyboard focus, not only on hover.
    browser.eval("document.querySelector('article .s').focus()")
    assert browser.eval("document.activeElement.matches('article .s')")
    assert browser.eval("getComputedStyle(document.activeElement.querySelector('.tip')).display") == "block"
    assert "stance:" in browser.eval("document.activeElement.querySelector('.tip').textContent")
    # The threshold can be changed in the page.
    browser.eval("var t = document.getElementById('min-confidence'); t.value = '1'; t.dispatchEvent(new Event('change'))")
    assert browser.eval("document.querySelectorAll('article .s.low').length") == browser.eval("document.querySelectorAll('article .s[data-role]:not([data-role=\"\"])').length")
    assert browser.errors == []


def test_markup_in_a_story_stays_text(browser, tmp_path):
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script></script> & co.'
    article = Article("evil", [Sentence(evil, "quote", confidence=0.9, scores={"quote": 0.9, "fact": 0.1})], title="<b>bold</b>")
    out = tmp_path / "evil.html"
    with ArticleWriter(out, labels=ROLES) as writer:
        writer.write(article)
    browser.open(out.as_uri())
    assert browser.eval("document.querySelector('#story-0 .text').textContent") == evil
    assert browser.eval("document.querySelector('#story-0 h2').firstChild.textContent") == "<b>bold</b>"
    assert browser.eval("document.querySelectorAll('main img, main script, main b').length") == 0
    assert browser.eval("window.__xss === undefined")


def test_a_story_shows_the_date_its_page_gave(browser, tmp_path):
    dated = Article("storm", [Sentence("A storm hit.", "fact", confidence=0.9, scores={"fact": 0.9})], title="Storm", meta={"date": "2024-03-05"})
    untitled = Article("calm", [Sentence("All was calm.", "fact", confidence=0.9, scores={"fact": 0.9})], meta={"date": "2024-03-06"})
    out = tmp_path / "dated.html"
    with ArticleWriter(out, labels=ROLES) as writer:
        writer.write(dated)
        writer.write(untitled)
    browser.open(out.as_uri())
    assert browser.eval("document.querySelector('#story-0 h2').textContent") == "Storm  (storm, 2024-03-05)"
    assert browser.eval("document.querySelector('#story-1 h2').textContent") == "calm  (2024-03-06)"
    assert browser.errors == []


def test_thousands_of_stories_render_a_page_at_a_time(browser, tmp_path):
    def story(i: int) -> Article:
        roles = ["fact", "quote", "background"] + ([] if i % 3 else ["stance"])
        sentences = [Sentence(f"Story {i}, sentence {k}.", r, confidence=0.4 + 0.1 * k, scores={r: 0.4 + 0.1 * k}) for k, r in enumerate(roles)]
        return Article(f"id-{i}", sentences + [Sentence("All rights reserved.", None)], title=f"Story {i}")

    out = tmp_path / "many.html"
    with ArticleWriter(out, labels=ROLES) as writer:
        writer.write_all(story(i) for i in range(3000))
    browser.open(out.as_uri())
    assert browser.eval("document.querySelectorAll('article.story').length") == 20
    assert browser.eval("document.querySelectorAll('nav.index a').length") == 20
    assert "page 1 of 150 (3000 of 3000 stories)" in browser.eval("document.querySelector('.page-info').textContent")
    assert browser.eval("document.querySelectorAll('.s.none .badge').length") == 20, "unlabeled sentences marked"
    browser.eval("Array.from(document.querySelectorAll('.pager button')).pop().click()")
    assert browser.eval("document.querySelector('article.story').getAttribute('data-id')") == "id-20"
    browser.eval("var f = document.getElementById('role-filter'); f.value = 'stance'; f.dispatchEvent(new Event('change'))")
    assert "(1000 of 3000 stories)" in browser.eval("document.querySelector('.page-info').textContent")
    ids = browser.eval("Array.from(document.querySelectorAll('article.story')).map(a => a.getAttribute('data-id'))")
    assert ids == [f"id-{3 * k}" for k in range(20)], "only stories with a stance sentence"
    browser.eval("location.hash = '#story-2500'")
    browser.wait_for("document.getElementById('story-2500') !== null", "story 2500 after following its link")
    assert browser.eval("document.querySelectorAll('article.story').length") == 20
    assert browser.errors == []


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn, httpx) is not installed")
    from live_server import Server

    s = Server(baseline_model())
    yield s
    s.stop()


def test_service_page_labels_a_pasted_story(browser, server):
    import httpx

    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} is not there (../shared is not beside the checkout): the pasted-story check is skipped")
    info = httpx.get(server.url + "/v1/model", timeout=10).json()
    browser.open(server.url + "/")
    assert f"model {info['name']}, version {info['version']}" in browser.eval("document.getElementById('model-meta').textContent")
    text = EXAMPLE.read_text(encoding="utf-8")
    browser.eval(f"document.getElementById('story').value = {json.dumps(text)}; document.getElementById('submit').click()")
    browser.wait_for("document.getElementById('status').getAttribute('data-done') === '1'", "the labeled story")
    assert browser.eval("document.getElementById('status').className") != "error", browser.eval("document.getElementById('status').textContent")
    (record,) = httpx.post(server.url + "/v1/label", json={"text": text}, timeout=60).json()["articles"]
    assert len(record["sentences"]) > 5
    assert_shows(browser, record, "#story-0")
    assert_not_blank(browser.screenshot(), "service-page.png")
    assert browser.errors == []


def test_unlabeled_sentences_say_why(browser, tmp_path):
    from newsroles.inference.views.pages import render_stories_html

    record = {"id": "s", "title": None, "sentences": [
        {"text": "Officials said so.", "label": "quote", "confidence": 0.8, "scores": {"quote": 0.8, "fact": 0.2}},
        {"text": "Back To Top", "label": None, "reason": "boilerplate: navigation"},
    ]}
    out = tmp_path / "why.html"
    out.write_text(render_stories_html([record], ROLES), encoding="utf-8")
    browser.open(out.as_uri())
    assert_shows(browser, record, "#story-0")
    assert browser.eval("document.querySelector('#story-0 .s.none').title") == "unlabeled: boilerplate: navigation"
    assert "quote 100%" in browser.eval("document.querySelector('#story-0 .share-text').textContent"), "shares of labeled sentences"
