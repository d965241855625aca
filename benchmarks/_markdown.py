"""Rewrite one marked section of BENCHMARKS.md, leaving the rest as it is."""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, name: str, body: str) -> None:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip() + ("\n\n" if text else "") + block + "\n"
    tmp = path.with_suffix(".md.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
