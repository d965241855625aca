"""The stdlib `<p>` parser newsroles used for HTML pages before trafilatura, kept only as the
baseline of benchmarks/html_extraction.py (the package no longer uses it).

`extract_article` takes the title from the first `<h1>` (else `<title>`) and the paragraphs from
the `<p>` elements (those inside `<article>` when there are any), leaving out scripts, styles,
navigation, forms, figures and page footers. A page without `<p>` paragraphs falls back to its
visible text, one paragraph per block element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["extract_article", "HtmlArticle"]

# Elements whose content is never article text.
_SKIP = {
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "button", "select",
    "svg", "math", "iframe", "object", "canvas", "figure",
}
# Elements whose content is a block of its own (a paragraph break before and after).
_BLOCK = {
    "address", "article", "blockquote", "body", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html", "li",
    "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "ul", "br",
}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


@dataclass
class HtmlArticle:
    title: str | None
    paragraphs: list[str] = field(default_factory=list)
    from_paragraphs: bool = True  # False: no <p> elements, the visible text was taken instead


def _squash(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


class _Extractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0  # depth inside elements that are never article text
        self.article = 0  # depth inside <article>
        self.h1: list[str] | None = None
        self.h1_text: str | None = None
        self.in_title = False
        self.title_parts: list[str] = []
        self.p: list[str] | None = None
        self.p_in_article = False
        self.paragraphs: list[tuple[str, bool]] = []  # (text, inside <article>)
        self.blocks: list[str] = []  # visible text, for pages without <p>
        self.block: list[str] = []

    # -- helpers
    def _end_p(self) -> None:
        if self.p is not None:
            text = _squash(self.p)
            if text:
                self.paragraphs.append((text, self.p_in_article))
            self.p = None

    def _end_block(self) -> None:
        text = _squash(self.block)
        if text:
            self.blocks.append(text)
        self.block = []

    def _end_h1(self) -> None:
        if self.h1 is not None:
            text = _squash(self.h1)
            if text and self.h1_text is None:
                self.h1_text = text
            self.h1 = None

    # -- parser callbacks
    def handle_starttag(self, tag, attrs):
        if tag == "title" and not self.skip:
            self.in_title = True  # <title> sits in <head>, which is otherwise skipped
            return
        if tag in _SKIP and tag not in _VOID:
            self._end_p()
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "article":
            self.article += 1
        if tag in _BLOCK:
            if tag != "br":
                self._end_p()  # a block element closes an open <p>
            self._end_block()
        if tag == "br" and self.p is not None:
            self.p.append(" ")
        if tag == "p":
            self.p = []
            self.p_in_article = self.article > 0
        elif tag == "h1":
            self.h1 = []

    def handle_startendtag(self, tag, attrs):
        if tag in _VOID or tag not in _SKIP:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
            return
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "p":
            self._end_p()
        elif tag == "h1":
            self._end_h1()
        elif tag == "article":
            self._end_p()
            self.article = max(0, self.article - 1)
        if tag in _BLOCK:
            self._end_block()

    def handle_data(self, data):
        if self.in_title:
            self.title_parts.append(data)
            return
        if self.skip:
            return
        if self.h1 is not None:
            self.h1.append(data)
        if self.p is not None:
            self.p.append(data)
        self.block.append(data)

    def finish(self) -> HtmlArticle:
        self.close()
        self._end_p()
        self._end_h1()
        self._end_block()
        title = self.h1_text or _squash(self.title_parts) or None
        in_article = [text for text, inside in self.paragraphs if inside]
        paragraphs = in_article or [text for text, _ in self.paragraphs]
        if paragraphs:
            return HtmlArticle(title, paragraphs, from_paragraphs=True)
        blocks = [b for b in self.blocks if b != title]
        return HtmlArticle(title, blocks, from_paragraphs=False)


def extract_article(html: str) -> HtmlArticle:
    """The title and the paragraphs of the article in an HTML page (see the module doc)."""
    parser = _Extractor()
    parser.feed(html)
    return parser.finish()
