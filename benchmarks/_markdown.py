"""Rewrite one marked section of BENCHMARKS.md, leaving the rest as it is."""

from __future__ import annotations

from pathlib import Path


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def read_section(path: Path, name: str) -> str:
    """The text between the section's markers ("" when the file or the section is absent)."""
    start, end = _markers(name)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text.split(start, 1)[1].split(end, 1)[0] if start in text and end in text else ""


def replace_section(path: Path, name: str, body: str) -> None:
    start, end = _markers(name)
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
