"""Rule-based sentence splitting for English news prose (stdlib `re` only).

It sits in model/ (it needs only the Article record) so that both the corpus readers (training/)
and labeling (inference/, which re-exports it as `newsroles.inference.splitter`) split text alike.

`split_sentences` splits one paragraph; `split_article` splits a plain-text article into paragraphs
and sentences; `article_from_text` also finds a leading headline and builds an `Article`.

Nothing is lost or invented: the sentences of a text, joined, hold every non-space character of it
in order. The rules were tuned on the train split of NewsDiscourse (see
benchmarks/splitter_boundary_f1.py for the boundary F1 against the annotators' split).

Spans: `sentence_spans` gives (start, end) per sentence of one unit; `paragraph_units` keeps, for
each unit, where its lines stand in the original text, so `text_sentences` and `article_from_text`
give every sentence `start` and `end` (Python str indices, end exclusive) into the text as given.
A sentence within one line is exactly its slice; one that runs over line breaks equals its slice
after `normalize_lines` (the splitter's only change to the text: joining wrapped lines).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from newsroles.model.article import OFFSETS_TEXT, Article, Sentence

__all__ = [
    "sentence_spans", "split_sentences", "split_paragraphs", "paragraph_units", "split_article", "text_sentences",
    "article_from_text", "normalize_lines", "Unit",
]

# --- word lists -----------------------------------------------------------------------------------

# Titles and other abbreviations that are (almost) never the last word of a sentence.
_NEVER_FINAL = {
    "mr", "mrs", "ms", "messrs", "mmes", "mme", "dr", "drs", "prof", "profs", "rev", "hon", "msgr",
    "gov", "govs", "sen", "sens", "rep", "reps", "gen", "gens", "lt", "col", "cols", "sgt", "capt",
    "maj", "cpl", "pvt", "pfc", "spc", "spec", "adm", "cmdr", "cmdt", "brig", "supt", "det", "insp",
    "atty", "pres", "sec", "secs", "amb", "ald", "assemb", "st", "ste", "mt", "ft", "pt", "vs", "v",
    "e.g", "i.e", "cf", "viz", "approx", "fig", "figs", "no", "nos", "vol", "vols", "art",
    "arts", "pp", "p", "ch", "para", "sq", "rs",
}
# Words that need a following number to be an abbreviation ("No. 5", "Art. 3", "p. 12").
_BEFORE_NUMBER_ONLY = {"no", "nos", "art", "arts", "p", "pp", "vol", "vols", "fig", "figs", "sec", "ch", "para", "pt"}
# Month abbreviations: an abbreviation before a number or a capitalised word; a sentence end only
# before a typical sentence starter.
_MONTHS = {"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
# Abbreviations that often do end a sentence ("... shares of Apple Inc. The company ...").
_OFTEN_FINAL = {
    "inc", "corp", "co", "cos", "ltd", "plc", "jr", "sr", "llc", "etc", "al", "ave", "blvd", "rd",
    "hwy", "bros", "dept", "univ", "assn", "a.m", "p.m", "u.s", "u.k", "u.n", "d.c", "l.a", "n.y",
    "e.u", "u.a.e", "u.s.a", "u.s.s.r",
}
# US state abbreviations (AP style) after a comma, as in "FOUNTAIN, Fla. (Reuters) - ...": treated
# like _OFTEN_FINAL. Several are also words ("ill.", "Mass."), hence the comma.
_STATES = {
    "ala", "ariz", "ark", "calif", "colo", "conn", "del", "fla", "ga", "ill", "ind", "kan", "kans",
    "ky", "la", "md", "mass", "mich", "minn", "miss", "mo", "mont", "neb", "nev", "okla", "ore",
    "pa", "penn", "tenn", "tex", "va", "vt", "wash", "wis", "wyo",
}
# Verbs of saying: `"Why now?" Smith asked.` is one sentence.
_ATTRIBUTION = set(
    """
    said says say asked asks told tells added adds wrote writes tweeted tweets replied replies
    shouted exclaimed chanted continued noted insisted declared explained recalled responded quipped
    joked cried yelled screamed wondered demanded argued warned stated posted remarked countered
    sang reported posted urged pleaded cautioned acknowledged conceded
    """.split()
)
_PRONOUNS = {"he", "she", "it", "they", "we", "i", "you", "there", "this", "that", "but", "and", "the"}
_TIME_FOLLOWERS = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "est", "edt", "et",
    "pst", "pdt", "pt", "cst", "cdt", "ct", "mst", "mdt", "gmt", "utc", "bst", "cet", "local",
}

# Words that typically open a sentence: after an ambiguous abbreviation ("U.S.", "Inc.", "p.m.")
# a split is made only before one of these.
_STARTERS = set(
    """
    a an the this that these those there here it its he his she her they their them we our i you your
    but and or so yet still also however meanwhile moreover furthermore nevertheless nonetheless instead
    in on at for from with by to of as after before during since until while when whenever where
    if although though because unless despite according under over about among between against
    what who whom whose which why how one two three four five six seven eight nine ten some many most
    several few all both each every no none not nor neither either another other others such
    last next earlier later now then today yesterday tomorrow tonight recently currently previously
    mr mrs ms dr officials police authorities analysts investors experts critics residents witnesses
    lawyers prosecutors
    asked speaking separately additionally finally first second third overall indeed even only just
    do does did is are was were has have had will would can could should might must let
    """.split()
)

_OPEN = "\"'“‘«([{"
_CLOSE = "\"'”’»)]}"

# A sentence-final mark: ellipsis, spaced ellipsis, or a run of . ! ? — then closing quotes/brackets.
# A mark starts only where its run starts (the lookbehinds): a match inside a run of marks succeeds
# only if one from the run's start does, and without them a long run ("......" with no space after
# it) costs quadratic time in backtracking, cubic with a nested quantifier.
_CANDIDATE = re.compile(
    r"(?P<mark>(?<![.!?])(?:\.(?:[ \t]\.){2,}|\.{2,}|[.!?]+)|(?<!…)…+)"
    r"(?P<close>[\"'”’»)\]}]*)(?P<space>\s+)(?=\S)"
)
_NEXT_TOKEN = re.compile(r"\S+")
_FINAL_PUNCT = re.compile(r"[.!?…][\"'”’»)\]]*$")
_URL = re.compile(r"(?:https?://|www\.|[a-z0-9-]+\.[a-z]{2,}/)")
# Bounded: a run of marks must not be rescanned to its end from every candidate inside it.
_ELLIPSIS_THEN_CAPITAL = re.compile(r"(?:\.(?:[ \t]?\.){1,9}|…{1,9})\s+[\"'“‘]?[A-Z]")
_AFTER_END = re.compile(r"[.!?][\"'”’»)\]]*\s+$")
_MULTI_DOT = re.compile(r"^(?:[A-Za-z]{1,2}\.)+[A-Za-z]{1,2}$")


def _is_starter(word: str) -> bool:
    return word.lower().strip(".,;:") in _STARTERS


def _is_abbreviation(word: str) -> bool:
    """Whether `word` (without its final period) is a known abbreviation, initial or acronym."""
    word = word.lstrip(_OPEN)
    low = word.lower()
    return (
        low in _NEVER_FINAL or low in _OFTEN_FINAL or low in _MONTHS or low in _STATES
        or (len(word) == 1 and word.isupper()) or bool(_MULTI_DOT.match(word))
    )


def _attribution_follows(text: str, pos: int) -> bool:
    """Whether a verb of saying follows `pos` within a few words, before any sentence end."""
    for k, m in enumerate(_NEXT_TOKEN.finditer(text, pos)):
        if k >= 14:
            return False
        tok = m.group(0)
        if tok.strip(_OPEN + _CLOSE + ",;:.!?").lower() in _ATTRIBUTION:
            return True
        if _FINAL_PUNCT.search(tok) and not _is_abbreviation(tok.rstrip(_CLOSE)[:-1]):
            return False
    return False


def _decide(text: str, m: re.Match) -> bool:
    """Whether the candidate `m` (a final mark + closing quotes + whitespace) is a sentence boundary."""
    mark = m.group("mark")
    close = m.group("close")
    start = m.start()
    after = m.end()

    nxt_match = _NEXT_TOKEN.match(text, after)
    nxt = nxt_match.group(0) if nxt_match else ""
    nxt_core = nxt.lstrip(_OPEN)
    quoted = nxt[:1] in "\"'“‘«"  # next token opens with a quotation mark
    bracket = nxt[:1] in "([{"
    if not nxt_core:
        return False
    first = nxt_core[0]
    nxt_word = re.match(r"[A-Za-z']+", nxt_core)
    nxt_word = nxt_word.group(0) if nxt_word else nxt_core

    if first in ".…" and not bracket and not quoted:
        # ". ... We have": the ellipsis opens the next fragment, if a capital follows it.
        if mark[0] not in ".!?" or len(mark) > 2:
            return False
        return _ELLIPSIS_THEN_CAPITAL.match(text, after) is not None
    if first.islower() and not bracket and not _URL.match(nxt_core):
        return False
    if not (first.isalnum() or first in "$£€#@©<);" or bracket):
        # dashes, ampersands and the like continue the sentence ("D.C. -- The ...")
        return False

    if first == "©":
        return True  # a copyright line after the story
    if mark[0] in "!?":
        if close and not quoted and not bracket and nxt_word.lower() not in _PRONOUNS:
            # `"Why now?" Smith asked.` is one sentence
            return not _attribution_follows(text, after)
        return True
    if mark[0] == "…" or len(mark) > 2:
        if _AFTER_END.search(text, max(0, start - 8), start):
            return False  # "... urgency. ... We": split before the ellipsis, not after it
        # An ellipsis before a capital: the annotators mostly split there.
        return bool(close) or first.isupper() or quoted

    # A single period (or a doubled one, a typo): look at the word in front of it.
    i = start
    while i > 0 and not text[i - 1].isspace():
        i -= 1
    word = text[i:start].lstrip(_OPEN)
    if close:
        # `... win." He said` : the quote closes the sentence, whatever the word is.
        return True
    if not word:
        return True
    low = word.lower()
    numeric_next = first.isdigit() or first in "$£€"

    if low in _BEFORE_NUMBER_ONLY:
        if numeric_next:
            return False
        if low == "no" or word.islower():
            return True  # "No." as an answer; "modern art." a word
        return _is_starter(nxt_word) or quoted
    if low in _MONTHS:
        if numeric_next or bracket:
            return False
        return _is_starter(nxt_word) or quoted
    if low in _NEVER_FINAL:
        return False
    if len(word) == 1 and word.isalpha() and word.isupper():
        # An initial ("John F. Kennedy"); "I." and "A." as a sentence end are rare in news.
        return False
    state = False
    if low in _STATES and word[0].isupper():
        j = i - 1
        while j >= 0 and text[j].isspace():
            j -= 1
        state = j >= 0 and text[j] == ","
    if low in _OFTEN_FINAL or state or _MULTI_DOT.match(word):
        if bracket:
            return False
        if low in ("a.m", "p.m") and not numeric_next and nxt_word.lower() not in _TIME_FOLLOWERS:
            return True
        return _is_starter(nxt_word) or quoted
    return True


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of `text`, without surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    for m in _CANDIDATE.finditer(text):
        if m.start() < pos:
            continue
        if _decide(text, m):
            end = m.start("space")
            spans.append((pos, end))
            pos = m.end()
    end = n
    while end > pos and text[end - 1].isspace():
        end -= 1
    if end > pos:
        spans.append((pos, end))
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of one paragraph (or any text), each stripped; [] for blank text."""
    return [text[a:b] for a, b in sentence_spans(text)]


# --- paragraphs -----------------------------------------------------------------------------------

_BLANK_LINE = re.compile(r"\n[ \t\f\v\r]*\n\s*")
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣–—]\s|\d{1,3}[.)]\s|\([a-z0-9]\)\s)")


@dataclass(frozen=True)
class Unit:
    """What the splitter splits into sentences: one line of a text, or its soft-wrapped lines
    joined (with a space, or with nothing after a word broken by a hyphen), and where each of
    those lines starts in the original text, so that a position in `text` maps back."""

    text: str
    starts: tuple[int, ...]  # where each joined line starts in `text`
    origins: tuple[int, ...]  # and where it starts in the original text

    def original(self, pos: int) -> int:
        """The original text's index of `text[pos]` (a character of a line, not a joining space)."""
        k = bisect_right(self.starts, pos) - 1
        return self.origins[k] + pos - self.starts[k]

    def sentences(self) -> list[tuple[str, int, int]]:
        """(sentence, start, end) of the unit's sentences, start and end indexing the original."""
        spans = sentence_spans(self.text)
        if len(self.starts) == 1:  # one line (most units): a plain shift
            at = self.origins[0]
            return [(self.text[a:b], at + a, at + b) for a, b in spans]
        return [(self.text[a:b], self.original(a), self.original(b - 1) + 1) for a, b in spans]


def _is_long(line: str, longest: int) -> bool:
    return len(line) >= max(40, int(0.6 * longest))


def _lines(t: str, start: int, stop: int) -> list[tuple[str, int]]:
    """The non-blank lines of `t[start:stop]`, stripped, with where each starts in `t`."""
    out = []
    while True:
        nl = t.find("\n", start, stop)
        end = stop if nl < 0 else nl
        line = t[start:end]
        core = line.strip()
        if core:
            out.append((core, start + len(line) - len(line.lstrip())))
        if nl < 0:
            return out
        start = nl + 1


def paragraph_units(text: str) -> list[list[Unit]]:
    r"""`split_paragraphs` with each unit's way back into `text` (see `Unit`): the offsets count
    every character of `text` as given, its line ends ("\r\n", "\r", "\n") included."""
    crlf = [m.start() - k for k, m in enumerate(re.finditer("\r\n", text))]  # each CRLF's "\n", once joined
    t = text.replace("\r\n", "\n").replace("\r", "\n")

    def origin(pos: int) -> int:
        return pos + bisect_left(crlf, pos)

    blocks, start = [], 0
    for m in _BLANK_LINE.finditer(t):
        blocks.append((start, m.start()))
        start = m.end()
    blocks.append((start, len(t)))
    out: list[list[Unit]] = []
    for block_start, block_stop in blocks:
        lines = _lines(t, block_start, block_stop)
        if not lines:
            continue
        longest = max(len(ln) for ln, _ in lines)
        units: list[Unit] = []
        cur, starts, origins = lines[0][0], [0], [origin(lines[0][1])]
        for (prev, _), (line, at) in zip(lines, lines[1:]):
            hyphen = prev[-2:-1].isalpha() and prev.endswith("-") and line[:1].islower()
            if hyphen or (_is_long(prev, longest) and not _BULLET.match(line)):
                cur += "" if hyphen else " "  # "well-\nknown" -> "well-known"; a soft wrap -> a space
                starts.append(len(cur))
                origins.append(origin(at))
                cur += line
            else:
                units.append(Unit(cur, tuple(starts), tuple(origins)))
                cur, starts, origins = line, [0], [origin(at)]
        units.append(Unit(cur, tuple(starts), tuple(origins)))
        out.append(units)
    return out


def split_paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (blank-line separated), each a list of units: soft-wrapped lines joined into one.

    A single newline is a soft wrap when the line before it is about as long as the longest line of
    the paragraph (hard-wrapped prose); otherwise (short lines: headlines, bylines, lists) each line
    stays a unit of its own. A line that opens with a bullet always starts a new unit.
    """
    return [[unit.text for unit in units] for units in paragraph_units(text)]


def split_article(text: str) -> list[tuple[int, str]]:
    """(paragraph_index, sentence) for every sentence of a plain-text article, paragraphs from 0."""
    return [(s.paragraph, s.text) for s in text_sentences(text)]


def text_sentences(text: str) -> list[Sentence]:
    """The sentences of a plain-text article (no headline looked for), each with its paragraph
    index and its `start` and `end` in `text`."""
    return _split_text(text, find_title=False)[1]


_LINE_BREAK_RUN = re.compile(r"\s*[\r\n]\s*")


def normalize_lines(span: str) -> str:
    r"""A sentence's slice of the original text as the splitter gives the sentence: each run of
    whitespace holding a line break ("\r\n", "\r", "\n") becomes one space, or nothing after a
    letter and a hyphen and before a lower-case letter (a word broken at the line end: "well-\nknown"
    -> "well-known"). Other whitespace is kept as it is. For every sentence the splitter makes,
    `normalize_lines(text[s.start:s.end]) == s.text`; a sentence within one line is its slice."""

    def join(m: re.Match) -> str:
        i, j = m.start(), m.end()
        hyphen = i >= 2 and span[i - 1] == "-" and span[i - 2].isalpha() and span[j:j + 1].islower()
        return "" if hyphen else " "

    return _LINE_BREAK_RUN.sub(join, span)


# --- headline -------------------------------------------------------------------------------------

_BOILERPLATE = re.compile(
    r"^(?:back to top|skip to (?:main )?content|advertisement|sponsored|share(?: this)?(?: article| story)?|"
    r"print|e-?mail|menu|home|search|subscribe|sign in|log ?in|close|read more|related(?: articles| stories)?|"
    r"(?:file )?photo\b.*|video\b.*|listen\b.*|(?:updated?|published|posted)(?::|\s+(?:on|at)\b|\s+\d+(?![\d-])).*|by\s.+|"
    r"source:.*|reporting by.*|editing by.*|copyright.*|©.*|all rights reserved.*|https?://\S+|www\.\S+|"
    r"[(\[].*|(?-i:[A-Z]{2,}:).*)$",  # "(Adds quotes)", "EDNOTES: ..."
    re.IGNORECASE,
)
# A line made only of date and time words, numbers and punctuation ("March 5, 2019 10:32 AM ET").
_DATE_WORD = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s|sday)?|wed(?:nesday)?|thu(?:rs|rsday)?|"
    r"fri(?:day)?|sat(?:urday)?|sun(?:day)?|[ap]\.?m\.?|gmt|utc|e[sd]?t|p[sd]?t|c[sd]?t|updated|published|"
    r"posted|last|on|at)\b",
    re.IGNORECASE,
)
_MAX_LEAD = 6  # the headline is among the first few lines


def _headline_like(unit: str, first: bool = False) -> bool:
    """Short, and without sentence-final punctuation; the text's first line may also end with '?',
    '!' or an abbreviation ("... Hedge Funds Worth It?", "... hit northeastern U.S.")."""
    if len(unit) > 200 or len(unit.split()) > 30:
        return False
    if not _FINAL_PUNCT.search(unit):
        return True
    if not first or len(unit.split()) > 20:
        return False
    core = unit.rstrip(_CLOSE)
    if core.endswith(("?", "!")):
        return True
    last = core.split()[-1]
    return core.endswith(".") and _is_abbreviation(last[:-1])


def _is_dateish(unit: str) -> bool:
    return not re.search(r"[A-Za-z]", _DATE_WORD.sub("", unit))


def _title_choice(lead: list[str]) -> int | None:
    """Index in `lead` (leading headline-like units) of the title, or None."""
    ok = [i for i, u in enumerate(lead) if not _BOILERPLATE.match(u) and not _is_dateish(u)]
    for i in ok:
        if len(lead[i].split()) >= 4:
            return i
    for i in ok:
        if len(lead[i].split()) >= 2:
            return i
    return None


def _split_text(text: str, find_title: bool) -> tuple[str | None, list[Sentence]]:
    """(title, sentences) of a plain-text story; the title only when `find_title` (see
    `article_from_text`). Sentences carry `start` and `end` into `text`."""
    paragraphs = paragraph_units(text)
    flat = [(p, u) for p, units in enumerate(paragraphs) for u in units]
    lead: list[str] = []
    for k, (_, unit) in enumerate(flat[:_MAX_LEAD] if find_title else []):
        if not _headline_like(unit.text, first=k == 0 and len(paragraphs[0]) == 1):
            break
        lead.append(unit.text)
    title = None
    drop = None
    # A title needs a body after it: a text of short lines only has no headline.
    if lead and len(lead) < len(flat):
        drop = _title_choice(lead)
        if drop is not None:
            title = re.sub(r"^#{1,6}\s+", "", lead[drop])  # a Markdown heading's marker
    sentences: list[Sentence] = []
    index: dict[int, int] = {}
    for k, (p, unit) in enumerate(flat):
        if k == drop:
            continue
        for sentence, start, end in unit.sentences():
            para = index.setdefault(p, len(index))
            sentences.append(Sentence(text=sentence, paragraph=para, start=start, end=end))
    return title, sentences


def article_from_text(text: str, article_id: str) -> Article:
    """An Article from a plain-text story: a leading headline (if any) becomes the title.

    The headline is one of the short lines without sentence-final punctuation that open the text
    before the body (web boilerplate such as "Back To Top", bylines and dates are passed over);
    any other leading line stays in the article as a sentence, so nothing is lost. Paragraph
    indices count the paragraphs that hold sentences, from 0. Each sentence's `start` and `end`
    index `text` as given, the headline line included (the headline is no sentence: the first
    sentence starts after it); see `normalize_lines` for how a sentence relates to its slice.
    """
    title, sentences = _split_text(text, find_title=True)
    return Article(id=article_id, sentences=sentences, title=title, offsets_into=OFFSETS_TEXT)
