"""BENCHMARKS.md stays navigable: its links resolve, the scripts it names exist, the marked blocks
the benchmark scripts rewrite are there, and every section the code and docs cite by name exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "BENCHMARKS.md"


def headings(text: str) -> list[str]:
    """The headings' texts, in order, skipping lines inside fenced code blocks."""
    found, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            found.append(m.group(1))
    return found


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation but hyphens dropped, spaces to hyphens,
    a repeated slug numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    out = set()
    for heading in headings(text):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def plain(name: str) -> str:
    return " ".join(name.replace("`", "").split()).lower()


def test_slugs_follow_github():
    text = "# A\n## Calibration and --min-confidence\n```\n# not a heading\n```\n## Int8: `x` (y)\n## A\n"
    assert anchors(text) == {"a", "calibration-and---min-confidence", "int8-x-y", "a-1"}


def test_every_link_inside_the_file_resolves():
    text = DOC.read_text(encoding="utf-8")
    targets = anchors(text)
    links = re.findall(r"\]\(#([^)\s]+)\)", text)
    assert links, "BENCHMARKS.md has no table of contents links"
    assert sorted(set(links) - targets) == []


def test_links_from_the_readme_resolve():
    targets = anchors(DOC.read_text(encoding="utf-8"))
    links = re.findall(r"BENCHMARKS\.md#([^)\s]+)\)", (ROOT / "README.md").read_text(encoding="utf-8"))
    assert sorted(set(links) - targets) == []


def test_every_script_named_exists():
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"benchmarks/([\w-]+\.(?:py|sh))", text))
    assert named, "BENCHMARKS.md names no benchmark script"
    assert sorted(n for n in named if not (ROOT / "benchmarks" / n).is_file()) == []


def test_the_blocks_scripts_rewrite_are_marked_once():
    text = DOC.read_text(encoding="utf-8")
    names = set()
    for script in (ROOT / "benchmarks").glob("*.py"):
        names |= set(re.findall(r'replace_section\([^,]+,\s*"([\w-]+)"', script.read_text(encoding="utf-8")))
    assert names, "no benchmark script rewrites a block of BENCHMARKS.md"
    for name in sorted(names):
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        assert text.count(start) == 1 and text.count(end) == 1, name
        assert text.index(start) < text.index(end), name


def cited_sections() -> list[tuple[str, str]]:
    """(file, name) for every section name quoted after "BENCHMARKS.md," or "BENCHMARKS.md:" in the
    docs, configs and code."""
    files = [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml", *sorted((ROOT / "configs").glob("*.yaml"))]
    for layer in ("model", "training", "inference", "benchmarks", "tests", "docs"):
        files += sorted((ROOT / layer).rglob("*.py"))
    cited = []
    pattern = re.compile(r'BENCHMARKS\.md(?:\]\(BENCHMARKS\.md\))?[,:]\s+"([^"]+)"')
    for path in files:
        if path.is_file():
            for m in pattern.finditer(path.read_text(encoding="utf-8")):
                # a comment continued on the next line carries its comment marker into the name
                cited.append((str(path.relative_to(ROOT)), re.sub(r"\s*#\s*", " ", m.group(1))))
    return cited


def test_every_section_cited_by_name_exists():
    names = [plain(h) for h in headings(DOC.read_text(encoding="utf-8"))]
    cited = cited_sections()
    assert cited, "nothing cites a BENCHMARKS.md section by name"
    missing = [(f, c) for f, c in cited if not any(h.startswith(plain(c)) for h in names)]
    assert missing == []
