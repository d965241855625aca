"""Character offsets: every sentence's `start` and `end` point into the text the user gave.

The property, for every input kind: `normalize_lines(original[start:end]) == sentence.text`, and a
sentence within one line is exactly its slice (`original` being what the article's `offsets_into`
names: the text as given, an HTML page's extracted text, or the input's sentences joined with "\\n").
Spans come in order and never overlap. Checked on plain text, text files, HTML pages and JSONL
records with unicode, CRLF and lone CR line ends, tabs, repeated sentences, wrapped and hyphenated
lines, and whitespace around the story.
"""

from __future__ import annotations

import html
import json
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsroles.inference.io.html import extract_html
from newsroles.inference.io.inputs import iter_label_inputs
from newsroles.inference.splitter import article_from_text, normalize_lines, text_sentences
from newsroles.model.article import Article

SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
MANY = settings(max_examples=200, deadline=None)

WORDS = [
    "the", "storm", "killed", "12", "people", "Zürich", "東京", "naïve", "café", "🙂", "Ω", "U.S.", "Mr.", "Inc.",
    "well-", "known", "said", '"Why', 'now?"', "(Reuters)", "--", "$3.5", "a.m.", "ﬁnal", "İstanbul", "e\u0301t\u00e9",
]
ENDS = [".", "!", "?", "...", '."', ""]
# What may stand between sentences: spaces, tabs, every kind of line end, blank lines, odd spaces.
GAPS = [" ", "  ", "\t", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", " \n ", "\t\r\n", "\u00a0", "\u2028", "\u3000\n", "-\n"]
EDGES = ["", " ", "\n", "\r\n", "\t", "  \r\n\r\n "]


@st.composite
def stories(draw) -> str:
    """News-like text: sentences (some repeated) with every kind of gap, around-the-story whitespace."""
    pool = draw(st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12), min_size=1, max_size=4))
    pieces = [draw(st.sampled_from(EDGES))]
    for k in range(draw(st.integers(1, 10))):
        if k:
            pieces.append(draw(st.sampled_from(GAPS)))
        words = draw(st.sampled_from(pool))  # drawn from a small pool: sentences repeat
        pieces.append(" ".join(words).capitalize() + draw(st.sampled_from(ENDS)))
    pieces.append(draw(st.sampled_from(EDGES)))
    return "".join(pieces)


any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


def assert_offsets(original: str, article: Article) -> None:
    """The property (see the module doc), and the spans' order."""
    last = 0
    for s in article.sentences:
        assert s.start is not None and last <= s.start < s.end <= len(original), (s, last)
        piece = original[s.start:s.end]
        assert normalize_lines(piece) == s.text, (piece, s.text)
        if "\n" not in piece and "\r" not in piece:
            assert piece == s.text
        assert not piece[0].isspace() and not piece[-1].isspace()
        last = s.end


@MANY
@given(st.one_of(stories(), any_text))
def test_plain_text_offsets(text):
    article = article_from_text(text, "x")
    assert article.offsets_into == "text"
    assert_offsets(text, article)
    assert_offsets(text, Article("x", text_sentences(text)))  # no headline taken out


def test_offsets_of_a_wrapped_story_with_a_headline():
    text = (
        "  Storm kills 12\r\n\r\n"
        "A storm that swept across the state on Monday killed twelve people, officials\r\n"
        "said, and left thousands of homes without power in the well-\r\n"
        "known valley. Rescue teams worked through the night.\r\n"
    )
    article = article_from_text(text, "x")
    assert article.title == "Storm kills 12"
    first, second = article.sentences
    assert first.text.endswith("officials said, and left thousands of homes without power in the well-known valley.")
    assert text[first.start:first.end] != first.text and normalize_lines(text[first.start:first.end]) == first.text
    assert text[second.start:second.end] == "Rescue teams worked through the night."
    assert first.start == text.index("A storm")  # the headline line is counted


@SOME
@given(stories(), st.booleans())
def test_text_file_offsets(tmp_path_factory, text, bom):
    path = tmp_path_factory.mktemp("t") / "story.txt"
    # Bytes: CR and CRLF reach the reader as they are. A byte-order mark is not part of the text.
    path.write_bytes(b"\xef\xbb\xbf" * bom + text.encode("utf-8"))
    article, = iter_label_inputs([str(path)])
    assert article.offsets_into == "text" and article.extracted_text is None
    assert_offsets(text, article)


@SOME
@given(st.lists(stories(), min_size=1, max_size=4), st.sampled_from(["article", "body", ""]))
def test_html_offsets_point_into_the_extracted_text(tmp_path_factory, paragraphs, wrapper):
    body = "".join(f"<p>{html.escape(p)}</p>\n<script>var x = '<p>not text</p>';</script>" for p in paragraphs)
    page = f"<html><head><title>T</title></head><body><nav>Home</nav><h1>A &amp; B</h1><{wrapper or 'div'}>{body}</{wrapper or 'div'}></body></html>"
    path = tmp_path_factory.mktemp("h") / "page.html"
    path.write_bytes(page.encode("utf-8"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        articles = list(iter_label_inputs([str(path)], skip_bad=True))
    if not articles:  # every paragraph blank: a page with no article text, said and skipped
        assert not "".join(paragraphs).strip()
        return
    article, = articles
    assert article.offsets_into == "extracted_text"
    assert article.extracted_text == "\n\n".join(extract_html(page).paragraphs)
    assert_offsets(article.extracted_text, article)
    assert all(article.extracted_text[s.start:s.end] == s.text for s in article.sentences)  # squashed: exact


@SOME
@given(st.lists(st.tuples(stories(), st.sampled_from(["text", "titled", "sentences", "strings"])), min_size=1, max_size=4))
def test_jsonl_offsets(tmp_path_factory, items):
    records, originals = [], []
    for k, (text, kind) in enumerate(items):
        if kind in ("text", "titled"):
            if not text.strip():
                continue
            records.append({"id": k, "text": text, **({"title": "Given"} if kind == "titled" else {})})
            originals.append((text, "text"))
        else:
            parts = [p for p in text.splitlines() if p.strip()]
            if not parts:
                continue
            items_ = [{"text": p, "paragraph": 0} for p in parts] if kind == "sentences" else parts
            records.append({"id": k, "sentences": items_})
            originals.append(("\n".join(p.strip() for p in parts), "joined_sentences"))
    if not records:
        return
    path = tmp_path_factory.mktemp("j") / "in.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=k % 2 == 0) + "\n" for k, r in enumerate(records)), encoding="utf-8")
    articles = list(iter_label_inputs([str(path)]))
    assert len(articles) == len(originals)
    for article, (original, into) in zip(articles, originals):
        assert article.offsets_into == into
        assert_offsets(original, article)
        if into == "joined_sentences":
            assert [original[s.start:s.end] for s in article.sentences] == [s.text for s in article.sentences]


def test_html_in_a_jsonl_text_carries_its_extracted_text(tmp_path):
    page = "<div><p>First  line\n of it. Second.</p><p>Third &amp; last.</p></div>"
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "p", "text": page}) + "\n", encoding="utf-8")
    with pytest.warns(Warning, match="HTML"):
        article, = iter_label_inputs([str(path)])
    assert article.extracted_text == "First line of it. Second.\n\nThird & last."
    assert [(s.text, s.start, s.end) for s in article.sentences] == [
        ("First line of it.", 0, 17), ("Second.", 18, 25), ("Third & last.", 27, 40)]
    assert article.to_dict()["offsets_into"] == "extracted_text"


def test_csv_sentence_rows_are_offsets_into_their_joined_text(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("article_id,text\na,First one.\na,  Second one.  \nb,Other.\n", encoding="utf-8")
    a, b = iter_label_inputs([str(path)])
    assert a.offsets_into == "joined_sentences"
    joined = "First one.\nSecond one."
    assert [(joined[s.start:s.end]) for s in a.sentences] == ["First one.", "Second one."]
    assert (b.sentences[0].start, b.sentences[0].end) == (0, 6)


def test_normalize_lines_is_the_splitters_join():
    assert normalize_lines("officials\r\n  said") == "officials said"
    assert normalize_lines("the well-\n\tknown") == "the well-known"
    assert normalize_lines("U.S.-\nBacked") == "U.S.- Backed"  # a capital after the hyphen: not a broken word
    assert normalize_lines("tabs\tand  spaces stay") == "tabs\tand  spaces stay"
