"""The article in an HTML page: its main text, title and publication date, found by trafilatura.

`label` (and the service, and archive runs) are fed scraped pages: a `.html` file, a `.txt` file or
a JSONL `text` / Parquet cell that holds markup. `looks_like_html` tells them from plain text;
`extract_html` is the one function that turns a page into an `HtmlArticle`: the extracted main
text (one paragraph a line), the title and the date. The sentences (and any offsets into the
article) come from that text, one paragraph a line.

trafilatura (https://trafilatura.readthedocs.io) leaves out navigation, teasers, related links,
comments and footers; benchmarks/html_extraction.py measures it on 68 real pages against the
stdlib `<p>` parser newsroles used before (BENCHMARKS.md, "HTML extraction"). The settings below
are those measured there.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["looks_like_html", "extract_html", "decode_declared", "HtmlArticle", "HTML_SUFFIXES"]

HTML_SUFFIXES = (".html", ".htm", ".xhtml")
_SNIFF = 65536  # characters looked at to tell HTML from text
_DOCUMENT = re.compile(r"<(?:!doctype\s+html|html|body|head)[\s>/]", re.IGNORECASE)
_BLOCK_TAGS = re.compile(r"</?(?:p|br|div|article|section|h[1-6]|li|ul|ol|table|span|a)(?:\s[^<>]*)?/?>", re.IGNORECASE)

# <meta charset="..."> or <meta http-equiv="Content-Type" content="text/html; charset=...">, looked
# for in the first bytes of a page, as browsers do.
_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_CHARSET_SNIFF = 4096
# Labels that browsers read as windows-1252, a superset of them (the WHATWG Encoding Standard).
_AS_CP1252 = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp819", "windows-1252"}

# Taken out before extraction: on real pages it changes nothing that was measured, and a page whose
# only text is its menu or footer then has no main text (an error) instead of a menu to label.
_PRUNE = ["//nav", "//footer", "//aside"]


def looks_like_html(text: str, document_only: bool = False) -> bool:
    """Whether `text` is an HTML page or fragment rather than plain text: it has an <html>, <head>
    or <body> tag or a doctype, or (unless `document_only`) at least two paragraph-like tags
    (<p>, </p>, <br>, <div> ...)."""
    head = text[:_SNIFF]
    if "<" not in head:
        return False
    if _DOCUMENT.search(head):
        return True
    return not document_only and len(_BLOCK_TAGS.findall(head)) >= 2


def decode_declared(data: bytes) -> str | None:
    """A saved page's text in the encoding its markup declares, when it is not UTF-8 (an older
    page in windows-1252, ISO-8859-x, Shift_JIS ...); None when the bytes are UTF-8, or declare no
    known encoding, or do not decode with the one declared (the UTF-8 path then replaces what it
    cannot read, and says so)."""
    if b"\x00" in data:
        return None  # binary: refused on the UTF-8 path
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(data[:_CHARSET_SNIFF])
    if m is None:
        return None
    label = m.group(1).decode("ascii").lower()
    try:
        codec = codecs.lookup("cp1252" if label in _AS_CP1252 else label)
    except LookupError:
        return None
    if codec.name.startswith(("utf-8", "utf-16", "utf-32")):
        return None  # the UTF-8 path, which handles byte-order marks and bad bytes
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError:
        return None


@dataclass(frozen=True)
class HtmlArticle:
    text: str  # the main text, one paragraph a line ("\n" between paragraphs); "" when none was found
    title: str | None = None
    date: str | None = None  # publication date from the page's markup, YYYY-MM-DD

    @property
    def paragraphs(self) -> list[str]:
        return self.text.split("\n") if self.text else []


@lru_cache(maxsize=1)
def _config():
    from trafilatura.settings import use_config

    config = use_config()
    # A date only from the page's markup (meta tags, JSON-LD, <time>): the extensive search also
    # guesses from copyright lines and URLs ("Copyright 2024" -> 2024-01-01).
    config.set("DEFAULT", "EXTENSIVE_DATE_SEARCH", "off")
    return config


def extract_html(html: str) -> HtmlArticle:
    """The main text, title and publication date of an HTML page (or fragment).

    Each line of `text` is one paragraph (a `<p>`, a list item, a heading, a table cell ...), its
    whitespace squashed; a first line that only repeats the title is left out (the title is kept
    apart). No main text (only menus, scripts, styles ...) gives `text == ""`.
    """
    from trafilatura import bare_extraction

    doc = bare_extraction(
        html, with_metadata=True, include_comments=False, include_tables=True, prune_xpath=_PRUNE, config=_config()
    )
    if doc is None:
        return HtmlArticle("")
    title = " ".join((doc.title or "").split()) or None
    lines = [" ".join(line.split()) for line in (doc.text or "").split("\n")]
    lines = [line for line in lines if line]
    if lines and title is not None and lines[0] == title:
        lines = lines[1:]
    return HtmlArticle("\n".join(lines), title, doc.date or None)
