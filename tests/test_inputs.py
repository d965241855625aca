"""Reading what `newsroles label` takes: text files, folders, JSONL, stdin, and bad inputs."""

from __future__ import annotations

import io
import json
import types
import warnings
from pathlib import Path

import pytest

from conftest import write_file
from newsroles.inference.io.inputs import InputWarning, LabelInputs, iter_label_inputs
from newsroles.model.errors import UserError

STORY = "A headline about the markets today\n\nStocks fell on Monday. Bonds rose.\n\nAnalysts were surprised.\n"


def _jsonl(path: Path, *records) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return write_file(path, "\n".join(lines) + "\n")


def _ids(paths, **kw) -> list[str]:
    return [a.id for a in iter_label_inputs([str(p) for p in paths], **kw)]


# --- each kind of input ---------------------------------------------------------------------------


def test_plain_text_file(tmp_path):
    f = write_file(tmp_path / "story-1.txt", STORY)
    (art,) = list(iter_label_inputs([str(f)]))
    assert art.id == "story-1"
    assert art.title == "A headline about the markets today"
    assert [(s.paragraph, s.text) for s in art.sentences] == [
        (0, "Stocks fell on Monday."),
        (0, "Bonds rose."),
        (1, "Analysts were surprised."),
    ]


def test_any_suffix_is_plain_text_when_named(tmp_path):
    f = write_file(tmp_path / "story.html", "One sentence. Two sentences.")
    assert [s.text for s in next(iter(iter_label_inputs([str(f)]))).sentences] == ["One sentence.", "Two sentences."]


def test_jsonl_text_and_sentences(tmp_path):
    f = _jsonl(
        tmp_path / "a.jsonl",
        {"id": "a1", "text": "First one. Second one.", "title": "Given title", "url": "http://x"},
        "",  # blank lines are passed over
        {"id": 7, "sentences": [{"text": "Already split."}, {"text": "Kept as is. Really.", "paragraph": 1}, "A string."]},
        {"id": "a3", "text": "Short headline without end\n\nBody sentence."},
    )
    arts = list(iter_label_inputs([str(f)]))
    assert [a.id for a in arts] == ["a1", "7", "a3"]
    assert arts[0].title == "Given title"
    assert [s.text for s in arts[0].sentences] == ["First one.", "Second one."]
    assert arts[0].meta == {"url": "http://x"}
    assert [(s.paragraph, s.text) for s in arts[1].sentences] == [(None, "Already split."), (1, "Kept as is. Really."), (None, "A string.")]
    assert arts[1].title is None
    assert arts[2].title == "Short headline without end"
    assert [s.text for s in arts[2].sentences] == ["Body sentence."]


def test_directory_recursive_sorted(tmp_path):
    d = tmp_path / "in"
    write_file(d / "b.txt", "Bee. Sentence.")
    write_file(d / "a.md", "# Markdown headline here today\n\nAy sentence.")
    write_file(d / "sub" / "c.text", "Cee sentence.")
    write_file(d / "z.txt", "Zed sentence.")
    _jsonl(d / "sub" / "d.jsonl", {"id": "d1", "text": "Dee one."}, {"id": "d2", "text": "Dee two."})
    write_file(d / "notes.csv", "ignored,yes")
    write_file(d / ".hidden.txt", "ignored")
    write_file(d / ".git" / "x.txt", "ignored")
    arts = list(iter_label_inputs([str(d)]))
    assert [a.id for a in arts] == ["a", "b", "sub/c", "d1", "d2", "z"]
    assert arts[0].title == "Markdown headline here today"


def test_several_paths_in_order(tmp_path):
    a = write_file(tmp_path / "z.txt", "Zed.")
    b = _jsonl(tmp_path / "x.jsonl", {"id": "x1", "text": "Ex."})
    assert _ids([a, b]) == ["z", "x1"]


def test_stdin_plain_text():
    (art,) = list(iter_label_inputs(["-"], stdin=io.StringIO(STORY)))
    assert art.id == "stdin"
    assert art.title == "A headline about the markets today"
    assert len(art.sentences) == 3


def test_stdin_jsonl():
    data = '\n  {"id": "s1", "text": "One."}\n{"id": "s2", "text": "Two."}\n'
    assert [a.id for a in iter_label_inputs(["-"], stdin=io.StringIO(data))] == ["s1", "s2"]


def test_stdin_bytes_with_bad_utf8():
    stdin = types.SimpleNamespace(buffer=io.BytesIO("Caf\u00e9 opens. It is ".encode() + b"\xff\xfe good."))
    with pytest.warns(InputWarning, match="<stdin>"):
        (art,) = list(iter_label_inputs(["-"], stdin=stdin))
    assert art.sentences[0].text == "Café opens."
    assert "\ufffd" in art.sentences[1].text


def test_stream_is_lazy(tmp_path):
    """Articles come one at a time: a bad record later in the file is not touched by the first next()."""
    f = _jsonl(tmp_path / "big.jsonl", {"id": "ok", "text": "Fine."}, "not json")
    it = iter_label_inputs([str(f)])
    assert isinstance(it, LabelInputs)
    assert next(it).id == "ok"
    assert it.count == 1
    with pytest.raises(UserError):
        next(it)


# --- bad inputs -----------------------------------------------------------------------------------


def _error(paths, **kw) -> UserError:
    with pytest.raises(UserError) as info:
        list(iter_label_inputs([str(p) for p in paths], **kw))
    return info.value


def test_missing_path(tmp_path):
    err = _error([tmp_path / "nope.txt"])
    assert err.path == str(tmp_path / "nope.txt")
    assert "no such file" in str(err)


def test_missing_path_raises_before_iterating(tmp_path):
    with pytest.raises(UserError):
        iter_label_inputs([str(tmp_path / "nope")])


def test_directory_without_inputs(tmp_path):
    d = tmp_path / "empty"
    write_file(d / "data.csv", "a,b")
    err = _error([d])
    assert err.path == str(d) and "no inputs" in err.message


def test_no_paths_and_stdin_twice():
    with pytest.raises(UserError):
        iter_label_inputs([])
    with pytest.raises(UserError, match="once"):
        iter_label_inputs(["-", "-"], stdin=io.StringIO("x"))


@pytest.mark.parametrize(
    "line,message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"text": "No id."}', "lacks 'id'"),
        ('{"id": "x"}', "lacks 'text'"),
        ('{"id": null, "text": "Null id."}', "'id'"),
        ('{"id": "x", "text": 5}', "'text' must be a string"),
        ('{"id": "x", "text": "   \\n "}', "empty article"),
        ('{"id": "x", "sentences": []}', "empty article"),
        ('{"id": "x", "sentences": [{"txt": "typo"}]}', "sentence 0"),
        ('{"id": "x", "sentences": "One. Two."}', "must be a list"),
    ],
)
def test_bad_jsonl_line(tmp_path, line, message):
    f = _jsonl(tmp_path / "bad.jsonl", {"id": "ok", "text": "Fine."}, line)
    err = _error([f])
    assert (err.path, err.line) == (str(f), 2)
    assert message in err.message
    assert str(err).startswith(f"{f}:2: ")


def test_empty_text_file(tmp_path):
    f = write_file(tmp_path / "blank.txt", " \n\n\t \n")
    err = _error([f])
    assert err.path == str(f) and "empty" in err.message


def test_empty_stdin():
    with pytest.raises(UserError, match="empty"):
        list(iter_label_inputs(["-"], stdin=io.StringIO("")))


def test_binary_file(tmp_path):
    f = write_file(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    err = _error([f])
    assert err.path == str(f) and "binary" in err.message


def test_binary_jsonl(tmp_path):
    f = write_file(tmp_path / "x.jsonl", b'{"id": "a", "text": "Fine."}\n\x00\x01\x02\n')
    err = _error([f])
    assert (err.path, err.line) == (str(f), 2)


def test_undecodable_bytes_warn_and_replace(tmp_path):
    f = write_file(tmp_path / "latin1.txt", "Le café ouvre. Il est tôt.".encode("latin-1"))
    with pytest.warns(InputWarning, match="latin1.txt"):
        (art,) = list(iter_label_inputs([str(f)]))
    assert art.sentences[0].text == "Le caf\ufffd ouvre."


def test_undecodable_jsonl_line_warns_with_line(tmp_path):
    f = write_file(tmp_path / "x.jsonl", b'{"id": "a", "text": "Fine."}\n{"id": "b", "text": "Caf\xe9."}\n')
    with pytest.warns(InputWarning, match=r"x\.jsonl:2"):
        arts = list(iter_label_inputs([str(f)]))
    assert arts[1].sentences[0].text == "Caf\ufffd."


def test_utf8_bom_is_dropped(tmp_path):
    f = write_file(tmp_path / "bom.txt", "\ufeffOne. Two.".encode())
    j = write_file(tmp_path / "bom.jsonl", '\ufeff{"id": "a", "text": "One."}\n'.encode())
    arts = list(iter_label_inputs([str(f), str(j)]))
    assert arts[0].sentences[0].text == "One."
    assert arts[1].id == "a"


# --- skip_bad -------------------------------------------------------------------------------------


def test_skip_bad_counts_and_continues(tmp_path):
    d = tmp_path / "in"
    _jsonl(
        d / "a.jsonl",
        {"id": "a1", "text": "Fine."},
        "{broken",
        {"id": "a3"},
        {"id": "a4", "text": "Also fine."},
    )
    write_file(d / "b.txt", b"\x00\x01binary")
    write_file(d / "c.txt", "   ")
    write_file(d / "d.txt", "Last one.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here should warn
        inputs = iter_label_inputs([str(d)], skip_bad=True)
        ids = [a.id for a in inputs]
    assert ids == ["a1", "a4", "d"]
    assert len(inputs.skipped) == 4
    assert inputs.skipped[0].startswith(f"{d / 'a.jsonl'}:2: not valid JSON")
    assert inputs.skipped[1].startswith(f"{d / 'a.jsonl'}:3: ")
    assert "binary" in inputs.skipped[2] and "b.txt" in inputs.skipped[2]
    assert "empty" in inputs.skipped[3] and "c.txt" in inputs.skipped[3]


def test_skip_bad_still_raises_for_missing_path(tmp_path):
    with pytest.raises(UserError):
        iter_label_inputs([str(tmp_path / "nope")], skip_bad=True)


# ------------------------------------------------------------------------------------------ HTML

NEWS_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Storm hits coast | The Daily Example</title>
<meta property="og:title" content="Storm hits coast">
<meta property="article:published_time" content="2024-03-05T08:30:00+00:00">
<script>window.ads = ['do not label me'];</script><style>.teaser { color: red }</style></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
<main><article><h1>Storm hits coast</h1>
<p>A storm killed 12 people on Monday, officials said, after it made landfall near the port city late on Sunday night.</p>
<p>&ldquo;We are doing everything we can,&rdquo; Gov. Jane Smith told reporters at a briefing. Rescue teams were still searching.</p>
<p>The region was hit by a similar storm in 1998, when more than 40 people died and thousands lost their homes.</p>
</article>
<aside><h2>Related stories</h2><ul><li><a href="/a">Flood warnings issued for the weekend</a></li></ul></aside>
<div id="comments" class="comments"><h3>Comments</h3><p>Great reporting, thanks for covering this story so quickly!</p></div>
</main><footer><p>Copyright 2025 The Daily Example. All rights reserved.</p></footer></body></html>"""

NEWS_PARAGRAPHS = [
    "A storm killed 12 people on Monday, officials said, after it made landfall near the port city late on Sunday night.",
    "“We are doing everything we can,” Gov. Jane Smith told reporters at a briefing. Rescue teams were still searching.",
    "The region was hit by a similar storm in 1998, when more than 40 people died and thousands lost their homes.",
]


def test_html_page_main_text_title_and_date():
    from newsroles.inference.io.html import extract_html

    page = extract_html(NEWS_PAGE)
    assert page.paragraphs == NEWS_PARAGRAPHS  # no menu, teaser, comment, footer or script; no repeated headline
    assert page.text == "\n".join(NEWS_PARAGRAPHS)
    assert (page.title, page.date) == ("Storm hits coast", "2024-03-05")


def test_html_file_becomes_an_article_with_its_date(tmp_path):
    f = write_file(tmp_path / "storm.html", NEWS_PAGE)
    with pytest.warns(InputWarning, match=r"storm.html: HTML: took the main text of the page, 3 paragraphs \(title 'Storm hits coast', date 2024-03-05\)"):
        (art,) = list(iter_label_inputs([str(f)]))
    assert (art.id, art.title, art.meta) == ("storm", "Storm hits coast", {"date": "2024-03-05"})
    assert [(s.paragraph, s.text) for s in art.sentences] == [
        (0, NEWS_PARAGRAPHS[0]),
        (1, "“We are doing everything we can,” Gov. Jane Smith told reporters at a briefing."),
        (1, "Rescue teams were still searching."),
        (2, NEWS_PARAGRAPHS[2]),
    ]


def test_jsonl_html_keeps_the_records_own_title_and_date(tmp_path):
    f = _jsonl(tmp_path / "pages.jsonl", {"id": "a", "text": NEWS_PAGE, "title": "Given", "date": "2024-03-06"}, {"id": "b", "text": NEWS_PAGE})
    with pytest.warns(InputWarning):
        a, b = list(iter_label_inputs([str(f)]))
    assert (a.title, a.meta) == ("Given", {"date": "2024-03-06"})
    assert (b.title, b.meta) == ("Storm hits coast", {"date": "2024-03-05"})
    assert [s.text for s in a.sentences] == [s.text for s in b.sentences]


def test_parquet_html_cell_is_read_like_an_html_file(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    path = tmp_path / "pages.parquet"
    pq.write_table(pa.table({"id": ["p1", "p2"], "text": [NEWS_PAGE, "<html><body><nav><a href='/'>Home</a></nav><script>x()</script></body></html>"]}), path)
    inputs = iter_label_inputs([str(path)], skip_bad=True)
    with pytest.warns(InputWarning):
        (art,) = list(inputs)
    assert (art.id, art.title, art.meta) == ("p1", "Storm hits coast", {"date": "2024-03-05"})
    assert len(art.sentences) == 4
    assert inputs.skipped == [f"{path}, row 2: record 'p2': HTML page with no article text: no main text found (only navigation, scripts, styles or empty elements)"]


def test_readmes_example_page_gives_its_five_paragraphs():
    from newsroles.inference.io.html import extract_html

    page = extract_html((Path(__file__).resolve().parents[1] / "docs" / "examples" / "harbour-storm.html").read_text(encoding="utf-8"))
    assert len(page.paragraphs) == 5 and page.paragraphs[0].startswith("A winter storm flooded")
    assert page.paragraphs[-1].endswith("as storms grow stronger.")
    for clutter in ("cookies", "By Ana Costa", "Photo: Courier", "tram line", "Stay safe", "All rights reserved", "Home"):
        assert clutter not in page.text
    assert (page.title, page.date) == ("Storm floods harbour district, forcing hundreds from their homes", "2024-03-05")


@pytest.mark.parametrize(
    ("head", "encoding"),
    [
        ('<meta charset="iso-8859-1">', "cp1252"),  # read as windows-1252, as browsers do: curly quotes survive
        ("<meta http-equiv='Content-Type' content='text/html; charset=Shift_JIS'>", "shift_jis"),
        ('<meta charset="windows-1251">', "cp1251"),
    ],
)
def test_html_file_in_its_declared_encoding(tmp_path, head, encoding):
    body = {"cp1252": "“Le café est fermé,” said the owner of the café on the quay.",
            "shift_jis": "東京で大雨が降り、多くの電車が止まったと鉄道会社が発表した。",
            "cp1251": "В Москве прошёл сильный дождь, сообщили городские власти в понедельник."}[encoding]
    page = f"<html><head>{head}<title>T</title></head><body><article><p>{body}</p></article></body></html>"
    f = write_file(tmp_path / "page.html", page.encode(encoding))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (art,) = list(iter_label_inputs([str(f)]))
    assert "".join(s.text for s in art.sentences).replace(" ", "") == body.replace(" ", "")
    assert not [w for w in caught if "UTF-8" in str(w.message)]


def test_html_file_that_is_utf8_is_read_as_utf8_whatever_it_declares(tmp_path):
    page = '<html><head><meta charset="windows-1252"></head><body><p>“Quoted,” she said in Zürich.</p><p>Done.</p></body></html>'
    f = write_file(tmp_path / "page.html", page.encode("utf-8"))
    with pytest.warns(InputWarning, match="HTML"):
        (art,) = list(iter_label_inputs([str(f)]))
    assert art.sentences[0].text == "“Quoted,” she said in Zürich."
