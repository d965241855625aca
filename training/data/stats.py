"""Corpus statistics: how many articles and sentences, how the labels are spread, how long things are.

Lengths are in whitespace-separated tokens ("tokens-ish"): a cheap stand-in for subword counts
(a transformer's tokenizer gives roughly 1.3x as many for English news).
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any, Iterable

from rich.table import Table

from newsroles.model.article import Article


def _summary(values: list[int]) -> dict[str, float | int | None]:
    if not values:
        return {"min": None, "median": None, "mean": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, -(-95 * len(ordered) // 100) - 1))]  # nearest-rank
    return {
        "min": ordered[0],
        "median": statistics.median(ordered),
        "mean": round(statistics.fmean(ordered), 2),
        "p95": p95,
        "max": ordered[-1],
    }


def compute_stats(
    articles: Iterable[Article], labels: Iterable[str] | None = None, skipped: Iterable[str] | None = None
) -> dict[str, Any]:
    """Counts and length statistics of a list of articles.

    `labels`, when given, fixes the order of the label distribution and lists labels with no
    sentence as 0; otherwise labels are ordered by count. Shares are fractions of the labeled
    sentences. Auxiliary targets (`Sentence.targets`) are counted when any sentence has them;
    `skipped`, when given, lists what the reader left out (one line each). Returns plain JSON-able data.
    """
    articles = list(articles)
    counts: Counter = Counter()
    source: Counter = Counter()
    per_article: list[int] = []
    tokens_sentence: list[int] = []
    tokens_article: list[int] = []
    unlabeled = 0
    targets: Counter = Counter()
    with_targets = 0
    for article in articles:
        per_article.append(len(article.sentences))
        total = 0
        for s in article.sentences:
            n = len(s.text.split())
            tokens_sentence.append(n)
            total += n
            if s.label is None:
                unlabeled += 1
            else:
                counts[s.label] += 1
            source.update(s.source_labels)
            if s.targets is not None:
                with_targets += 1
                targets.update({name: int(value >= 0.5) for name, value in s.targets.items()})
        tokens_article.append(total)
    labeled = sum(counts.values())
    if labels is not None:
        order = list(labels)
        order += sorted(lab for lab in counts if lab not in order)  # labels outside the given set too
    else:
        order = [lab for lab, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    distribution = {
        lab: {"count": counts[lab], "share": round(counts[lab] / labeled, 4) if labeled else 0.0} for lab in order
    }
    out: dict[str, Any] = {
        "articles": len(articles),
        "sentences": len(tokens_sentence),
        "labeled": labeled,
        "unlabeled": unlabeled,
        "labels": distribution,
        "sentences_per_article": _summary(per_article),
        "tokens_per_sentence": _summary(tokens_sentence),
        "tokens_per_article": _summary(tokens_article),
    }
    if with_targets:
        # Auxiliary targets (training/data/): sentences whose value is at least 0.5, as a share of
        # the sentences that carry targets.
        out["with_targets"] = with_targets
        out["targets"] = {
            name: {"count": n, "share": round(n / with_targets, 4)} for name, n in sorted(targets.items())
        }
    if skipped is not None:
        out["skipped"] = list(skipped)
    if source:
        out["source_labels"] = dict(sorted(source.items(), key=lambda kv: (-kv[1], kv[0])))
    return out


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.1f}" if not x.is_integer() else f"{int(x):,}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def stats_table(stats: dict[str, Any], title: str | None = None) -> Table:
    """A rich table of `compute_stats` output."""
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("", style="bold")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_row("articles", _fmt(stats["articles"]), "")
    table.add_row("sentences", _fmt(stats["sentences"]), "")
    sentences = stats["sentences"] or 0
    for key in ("labeled", "unlabeled"):
        share = f"{stats[key] / sentences:.1%}" if sentences else "-"
        table.add_row(key, _fmt(stats[key]), share)
    if stats["labels"]:
        table.add_section()
        for lab, d in stats["labels"].items():
            table.add_row(f"  {lab}", _fmt(d["count"]), f"{d['share']:.1%}")
    if stats.get("targets"):
        table.add_section()
        table.add_row("with targets", _fmt(stats["with_targets"]), f"{stats['with_targets'] / sentences:.1%}")
        for name, d in stats["targets"].items():
            table.add_row(f"  {name}", _fmt(d["count"]), f"{d['share']:.1%}")
    if "skipped" in stats:
        table.add_section()
        table.add_row("skipped", _fmt(len(stats["skipped"])), "")
    table.add_section()
    for key, name in (
        ("sentences_per_article", "sentences / article"),
        ("tokens_per_sentence", "tokens / sentence"),
        ("tokens_per_article", "tokens / article"),
    ):
        s = stats[key]
        text = " / ".join(_fmt(s[k]) for k in ("min", "median", "p95", "max"))
        table.add_row(name, text, "")
    table.caption = "lengths: min / median / p95 / max; tokens are whitespace-separated words"
    if stats.get("targets"):
        table.caption += "; a target counts sentences where it is 1 (>= 0.5), its share is of those with targets"
    return table
