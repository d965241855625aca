"""Self-contained HTML pages of labeled stories: inline CSS and JS, no request to any other host.

* `HtmlStoryWriter` streams records (`newsroles label --format jsonl` lines, as dicts) into one page;
  the page keeps them as a JSON island and renders a page of stories at a time in the browser, so a
  file of thousands of stories opens at once and the writer's memory stays flat.
* `render_stories_html` is the same for a list in memory.
* `render_service_page` is the paste-a-story page of `newsroles serve` (the same view).

Story text reaches the page only as JSON data that the script puts in with textContent: a story
holding `<script>` shows it as text.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Iterable, Sequence

ASSETS = Path(__file__).parent / "assets"
DEFAULT_MIN_CONFIDENCE = 0.5
PAGE_SIZE = 20

# Okabe-Ito colours (safe for the common colour-vision deficiencies); a badge beside each sentence
# names its role as well, so colour is never the only cue.
ROLE_COLORS = {"stance": "#CC79A7", "quote": "#56B4E9", "background": "#E69F00", "fact": "#009E73"}
SPARE_COLORS = ("#0072B2", "#D55E00", "#F0E442", "#999999")


@lru_cache(maxsize=None)
def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def role_legend(labels: Sequence[str]) -> list[dict[str, str]]:
    """Name, colour and badge (its shortest unique upper-case prefix, at least one letter) per label."""
    spare = iter(SPARE_COLORS)
    roles = []
    for name in dict.fromkeys(labels):
        color = ROLE_COLORS.get(name) or next(spare, "#777777")
        others = [other for other in labels if other != name]
        size = 1
        while size < len(name) and any(other[:size].lower() == name[:size].lower() for other in others):
            size += 1
        roles.append({"name": name, "color": color, "badge": name[:size].upper()})
    return roles


def script_json(obj: Any) -> str:
    """JSON that is safe inside a <script> element: no `</script>`, no `<!--`, no line separators."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def view_config(labels: Sequence[str], min_confidence: float = DEFAULT_MIN_CONFIDENCE, **extra: Any) -> dict:
    return {"roles": role_legend(labels), "min_confidence": float(min_confidence), "page_size": PAGE_SIZE, **extra}


def _fill(template: str, **values: str) -> str:
    """{{name}} -> values[name], in one pass (a value holding "{{...}}" is never filled in again)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)


def _head(title: str, connect_self: bool = False) -> str:
    """The shared <head>: inline CSS, and a policy that lets the page load nothing (the service's
    page may call its own API)."""
    return _fill(asset("head.html"), title=html.escape(title), css=asset("view.css"),
                 connect="connect-src 'self'; " if connect_self else "")


class HtmlStoryWriter:
    """Write a stories page to `fh` record by record: `start()`, `add(record)` ..., `finish()`."""

    def __init__(self, fh: IO[str], labels: Sequence[str], title: str = "Labeled stories",
                 min_confidence: float = DEFAULT_MIN_CONFIDENCE, meta: str = ""):
        self.fh = fh
        self.labels = list(labels)
        self.title = title
        self.min_confidence = min_confidence
        self.meta = meta
        self.count = 0

    def start(self) -> None:
        self.fh.write(_fill(
            asset("stories.html"),
            head=_head(self.title),
            title=html.escape(self.title),
            meta=html.escape(self.meta),
            config=script_json(view_config(self.labels, self.min_confidence)),
        ))
        self.fh.write("[")

    def add(self, record: dict) -> None:
        self.fh.write(("," if self.count else "") + script_json(record) + "\n")
        self.count += 1

    def finish(self) -> None:
        self.fh.write("]\n")
        self.fh.write(_fill(asset("stories-end.html"), js=asset("view.js")))


def render_stories_html(records: Iterable[dict], labels: Sequence[str], title: str = "Labeled stories",
                        min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    """The whole page for `records` as a string."""
    import io

    out = io.StringIO()
    writer = HtmlStoryWriter(out, labels, title, min_confidence)
    writer.start()
    for record in records:
        writer.add(record)
    writer.finish()
    return out.getvalue()


def render_service_page(model: dict, api_key_required: bool = False,
                        min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> str:
    """The page of `newsroles serve`: paste a story, see it labeled; `model` is GET /v1/model's answer."""
    name, version = str(model.get("name", "model")), str(model.get("version", "?"))
    meta = f"model {name}, version {version}" + (f" ({model['kind']})" if model.get("kind") else "")
    config = view_config(model.get("labels") or [], min_confidence, api_key_required=api_key_required)
    return _fill(
        asset("service.html"),
        head=_head(f"newsroles: {name} {version}", connect_self=True),
        meta=html.escape(meta),
        config=script_json(config),
        js=asset("view.js"),
    )
