"""The rule-based sentence splitter: news cases, paragraphs, headlines, and properties."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsroles.inference.splitter import (
    article_from_text,
    sentence_spans,
    split_article,
    split_paragraphs,
    split_sentences,
)

YONHAP = Path(__file__).resolve().parents[2] / "shared" / "examples" / "yonhap-north-korea-diplomacy.txt"

# (text, expected sentences): each case is one paragraph.
CASES = [
    # plain
    ("The market fell. Investors fled.", ["The market fell.", "Investors fled."]),
    ("No punctuation at all", ["No punctuation at all"]),
    ("Really?! Yes!! Okay.", ["Really?!", "Yes!!", "Okay."]),
    # abbreviations and titles
    (
        "Mr. Smith met Mrs. Jones, Dr. Brown, Gov. Cuomo, Sen. Warren, Rep. Ryan, Gen. Milley and Lt. Dan.",
        ["Mr. Smith met Mrs. Jones, Dr. Brown, Gov. Cuomo, Sen. Warren, Rep. Ryan, Gen. Milley and Lt. Dan."],
    ),
    ("Apple Inc. said it would. Shares of Acme Corp. rose.", ["Apple Inc. said it would.", "Shares of Acme Corp. rose."]),
    ("Smith Co. Ltd. fell sharply. It was sold.", ["Smith Co. Ltd. fell sharply.", "It was sold."]),
    ("Martin Luther King Jr. spoke. He was great.", ["Martin Luther King Jr. spoke.", "He was great."]),
    ("She lives on Main St. in Springfield.", ["She lives on Main St. in Springfield."]),
    ("It covers food, fuel, etc. But not rent.", ["It covers food, fuel, etc.", "But not rent."]),
    ("Fruit, e.g. apples, i.e. red ones. It was Ali vs. Frazier.", ["Fruit, e.g. apples, i.e. red ones.", "It was Ali vs. Frazier."]),
    ("He ranked No. 1 in the poll. It was a surprise.", ["He ranked No. 1 in the poll.", "It was a surprise."]),
    ("She loves modern art. Critics do not. See Art. 5 and Sec. Pompeo.", ["She loves modern art.", "Critics do not.", "See Art. 5 and Sec. Pompeo."]),
    ("Roe v. Wade was decided in 1973. Nothing changed.", ["Roe v. Wade was decided in 1973.", "Nothing changed."]),
    # U.S., U.N.: ambiguous; split only before a typical sentence starter
    ("He moved to the U.S. The move was costly.", ["He moved to the U.S.", "The move was costly."]),
    ("He visited the U.S. Capitol on Monday.", ["He visited the U.S. Capitol on Monday."]),
    ("Talks with U.S. President Donald Trump ended.", ["Talks with U.S. President Donald Trump ended."]),
    ("The U.N. Security Council met. The U.S. envoy spoke.", ["The U.N. Security Council met.", "The U.S. envoy spoke."]),
    # months, dates, initials, numbers, money
    (
        "He met John F. Kennedy and J.P. Morgan staff on Jan. 5 and on Sept. 30. It went well.",
        ["He met John F. Kennedy and J.P. Morgan staff on Jan. 5 and on Sept. 30.", "It went well."],
    ),
    ("The deal is due Dec. 1, 2019, officials said.", ["The deal is due Dec. 1, 2019, officials said."]),
    (
        "The company earned $3.5 billion, up 2.5%. Shares rose 3.1 percent to $12.75.",
        ["The company earned $3.5 billion, up 2.5%.", "Shares rose 3.1 percent to $12.75."],
    ),
    ("It struck at 1:54 a.m. (2254 GMT). Greece felt it.", ["It struck at 1:54 a.m. (2254 GMT).", "Greece felt it."]),
    ("The meeting ended at 5 p.m. Officials left later.", ["The meeting ended at 5 p.m.", "Officials left later."]),
    ("It starts at 9 a.m. Monday in Paris.", ["It starts at 9 a.m. Monday in Paris."]),
    # quotes
    ('"We will win." He said.', ['"We will win."', "He said."]),
    ("“We will win.” He said.", ["“We will win.”", "He said."]),
    (
        '"It\'s working. We\'ll coordinate," the official said.',
        ['"It\'s working.', 'We\'ll coordinate," the official said.'],
    ),
    ('"Why now?" she asked. Then she left.', ['"Why now?" she asked.', "Then she left."]),
    ("“Why now?” she asked.", ["“Why now?” she asked."]),
    ('"Is this fair?" Smith asked. "No!" shouted Jones.', ['"Is this fair?" Smith asked.', '"No!" shouted Jones.']),
    ("''Why this job?'' Mr. Vallas said. ''It is time.''", ["''Why this job?'' Mr. Vallas said.", "''It is time.''"]),
    ('He said, "We will win." "We always do," she added.', ['He said, "We will win."', '"We always do," she added.']),
    ('It was "good." She smiled.', ['It was "good."', "She smiled."]),
    ("He said. “It is over.”", ["He said.", "“It is over.”"]),
    # datelines stay with their sentence
    (
        "WASHINGTON -- The United States will continue. It is fine.",
        ["WASHINGTON -- The United States will continue.", "It is fine."],
    ),
    ("NEW YORK (Reuters) - Stocks fell. Bonds rose.", ["NEW YORK (Reuters) - Stocks fell.", "Bonds rose."]),
    ("BERLIN, Oct. 2 (Xinhua) -- Talks stalled. Nothing changed.", ["BERLIN, Oct. 2 (Xinhua) -- Talks stalled.", "Nothing changed."]),
    ("FOUNTAIN, Fla. (Reuters) - A storm hit.", ["FOUNTAIN, Fla. (Reuters) - A storm hit."]),
    ("WASHINGTON, D.C. -- Lawmakers met.", ["WASHINGTON, D.C. -- Lawmakers met."]),
    ("He fell ill. Doctors came.", ["He fell ill.", "Doctors came."]),
    # ellipses
    ("He paused . . . and then left.", ["He paused . . . and then left."]),
    ("This is what he represents ... but the hope remains.", ["This is what he represents ... but the hope remains."]),
    ("We will move with urgency. ... We have work to do.", ["We will move with urgency.", "... We have work to do."]),
    ("It was too slow... It feels like a crisis.", ["It was too slow...", "It feels like a crisis."]),
    # parentheses and trailers
    ("He said so. (Editing by Susan Fenton)", ["He said so.", "(Editing by Susan Fenton)"]),
    ("Tiny change. (Lexus has plans.) More later.", ["Tiny change.", "(Lexus has plans.)", "More later."]),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0][:40] for c in CASES])
def test_news_cases(text, expected):
    assert split_sentences(text) == expected


def test_blank_text():
    assert split_sentences("") == []
    assert split_sentences(" \n\t ") == []
    assert split_article("") == []


def test_spans_point_into_text():
    text = "  One. Two?  Three!  "
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["One.", "Two?", "Three!"]


def test_split_article_paragraphs_and_soft_wraps():
    text = (
        "Headline of the story here\n\n"
        "This is a hard wrapped paragraph of prose that goes on for a\n"
        "while and keeps going with more words until it reaches the end\n"
        "of the line. It has two sentences.\n\n\n"
        "A well-\nknown fact. Second paragraph.\n"
    )
    assert split_article(text) == [
        (0, "Headline of the story here"),
        (1, "This is a hard wrapped paragraph of prose that goes on for a while and keeps going with "
            "more words until it reaches the end of the line."),
        (1, "It has two sentences."),
        (2, "A well-known fact."),
        (2, "Second paragraph."),
    ]


def test_short_lines_stay_apart():
    text = "By John Smith\nReuters\nMarch 5, 2019\n\n- first item is short\n- second item\n"
    assert split_paragraphs(text) == [["By John Smith", "Reuters", "March 5, 2019"], ["- first item is short", "- second item"]]


def test_crlf():
    assert split_article("One. Two.\r\n\r\nThree.") == [(0, "One."), (0, "Two."), (1, "Three.")]


def test_article_from_text_yonhap():
    if not YONHAP.exists():
        pytest.skip(f"{YONHAP} not present")
    text = YONHAP.read_text(encoding="utf-8")
    art = article_from_text(text, "yonhap")
    assert art.id == "yonhap"
    assert art.title == "US to continue 'patient' diplomacy with N. Korea: official"
    # the boilerplate line is kept, as a sentence of its own paragraph
    assert art.sentences[0].text == "Back To Top"
    assert art.sentences[0].paragraph == 0
    assert art.sentences[1].text.startswith("WASHINGTON -- The United States will continue")
    assert art.sentences[1].paragraph == 1
    texts = [s.text for s in art.sentences]
    assert "\"We're going to stick with this plan." in texts
    assert "It's working." in texts
    assert any(t.startswith('"I don\'t have a lot of data on who he is or what he represents ... but') for t in texts)
    # paragraphs are numbered from 0 without gaps, in order
    paras = [s.paragraph for s in art.sentences]
    assert paras == sorted(paras) and sorted(set(paras)) == list(range(max(paras) + 1))
    # nothing lost: title + sentences hold every non-space character of the file
    _assert_nothing_lost(text, art)
    assert len(texts) > 20


@pytest.mark.parametrize(
    "text,title,first",
    [
        ("# A Markdown headline for you\n\nBody text. More.", "A Markdown headline for you", "Body text."),
        ("By Jane Doe\n\nReal headline about things here\n\nBody text.", "Real headline about things here", "By Jane Doe"),
        ("March 5, 2019\nA storm hits the coast hard\n\nBody text.", "A storm hits the coast hard", "March 5, 2019"),
        ("Just one line without an end", None, "Just one line without an end"),
        ("The body starts at once. No headline.", None, "The body starts at once."),
        ("Back To Top\n\nThe body starts here.", None, "Back To Top"),
        ("Worth a Lot, but Are Hedge Funds Worth It?\n\nBody text.", "Worth a Lot, but Are Hedge Funds Worth It?", "Body text."),
        ("Floods hit northeastern U.S.\n\nBody text.", "Floods hit northeastern U.S.", "Body text."),
        ("UPDATE 2-Quake kills at least 30\n(Adds quotes)\n\nBody text.", "UPDATE 2-Quake kills at least 30", "(Adds quotes)"),
        ("Exclusive: Tesla faces a new probe\n\nBody text.", "Exclusive: Tesla faces a new probe", "Body text."),
        ("EDNOTES: FOR CLIENTS ONLY OF THE SERVICE\n\nObama nominates\n\nBody text.", "Obama nominates", "EDNOTES: FOR CLIENTS ONLY OF THE SERVICE"),
    ],
)
def test_article_titles(text, title, first):
    art = article_from_text(text, "x")
    assert art.title == title
    assert art.sentences[0].text == first
    _assert_nothing_lost(text, art)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _is_subsequence(small: str, big: str) -> bool:
    it = iter(big)
    return all(ch in it for ch in small)


def _assert_nothing_lost(text: str, art) -> None:
    """The sentences, in order, and the title hold every non-space character of `text` (a Markdown
    heading marker '#' of the title may go), and nothing else."""
    body = _squash("".join(s.text for s in art.sentences))
    assert _is_subsequence(body, _squash(text))
    have = Counter(body + _squash(art.title or ""))
    want = Counter(_squash(text))
    assert not (have - want)
    assert set((want - have).keys()) <= {"#"}


# --- properties -----------------------------------------------------------------------------------

_news_alphabet = st.sampled_from(
    list("abcXYZ .!?\"'“”‘’()-—…$%0123456789,;:\n\t") + ["U.S.", "Mr.", " a.m. ", "...", ". . .", "''", "\n\n", "Inc."]
)
news_text = st.lists(_news_alphabet, max_size=60).map("".join)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.one_of(st.text(max_size=200), news_text))
def test_split_sentences_keeps_every_character(text):
    sents = split_sentences(text)
    assert _squash("".join(sents)) == _squash(text)
    assert all(s and s == s.strip() for s in sents)


@PROPS
@given(st.one_of(st.text(max_size=200), news_text))
def test_split_article_keeps_every_character(text):
    out = split_article(text)
    assert _squash("".join(s for _, s in out)) == _squash(text)
    paras = [p for p, _ in out]
    assert paras == sorted(paras)


@PROPS
@given(st.one_of(st.text(max_size=200), news_text, st.lists(st.sampled_from(["# ", "Back To Top", "A b c d", "\n", "\n\n", "x.", " "]), max_size=12).map("".join)))
def test_article_from_text_keeps_every_character(text):
    art = article_from_text(text, "x")
    if art.title is not None:
        assert art.title == art.title.strip() and art.title
    _assert_nothing_lost(text, art)
