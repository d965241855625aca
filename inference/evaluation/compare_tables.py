"""`newsroles compare` on the terminal: rich tables of a comparison (training/evaluation/compare.py's result)."""

from __future__ import annotations

import textwrap

from rich.table import Table
from rich.text import Text

from newsroles.training.evaluation.compare import model_label


def _f(x: float) -> str:
    return f"{x:.3f}"


def _d(x: float) -> str:
    s = f"{x:+.3f}"
    if s in ("+0.000", "-0.000"):
        return "[dim] 0.000[/dim]"
    return f"[green]{s}[/green]" if x > 0 else f"[red]{s}[/red]"


def comparison_tables(result: dict, top: int = 15, width: int = 120) -> list:
    """Rich renderables: side by side (two models) or a table against the first (more); `width`: the console's."""
    labels = result["labels"]
    models = result["models"]
    comps = result["comparisons"]
    out: list = []
    d = result["data"]
    title = f"{d.get('path', 'data')}: {d['articles']} articles, {d['labeled_sentences']} labeled sentences"
    if len(models) == 2:
        a, b = models
        c = comps[0]
        table = Table(title=title)
        table.add_column("metric")
        table.add_column(f"A  {model_label(a)}", justify="right")
        table.add_column(f"B  {model_label(b)}", justify="right")
        table.add_column("Δ (B − A)", justify="right")
        for key, name in (("macro_f1", "macro-F1"), ("accuracy", "accuracy")):
            table.add_row(name, _f(a["metrics"][key]), _f(b["metrics"][key]), _d(c["delta"][key]))
        table.add_section()
        for label in labels:
            table.add_row(
                f"F1 {label}",
                _f(a["metrics"]["per_label"][label]["f1"]),
                _f(b["metrics"]["per_label"][label]["f1"]),
                _d(c["delta"]["per_label_f1"][label]),
            )
        out.append(table)
    else:
        table = Table(title=title + f"; Δ against {model_label(models[0])}")
        table.add_column("model")
        table.add_column("macro-F1", justify="right")
        table.add_column("Δ", justify="right")
        table.add_column("95% CI of Δ", justify="right")
        table.add_column("accuracy", justify="right")
        table.add_column("Δ", justify="right")
        for label in labels:
            table.add_column(f"Δ F1 {label}", justify="right")
        table.add_column("McNemar p", justify="right")
        table.add_column("changed", justify="right")
        first = models[0]
        table.add_row(
            f"{model_label(first)} (reference)", _f(first["metrics"]["macro_f1"]), "", "", _f(first["metrics"]["accuracy"]), "",
            *["" for _ in labels], "", "",
        )
        for c in comps:
            row = models[c["b"]]
            bs = c["bootstrap"]
            table.add_row(
                model_label(row),
                _f(row["metrics"]["macro_f1"]),
                _d(c["delta"]["macro_f1"]),
                f"[{bs['low']:+.3f}, {bs['high']:+.3f}]",
                _f(row["metrics"]["accuracy"]),
                _d(c["delta"]["accuracy"]),
                *[_d(c["delta"]["per_label_f1"][label]) for label in labels],
                f"{c['mcnemar']['p_value']:.3g}",
                str(len(c["changed"])),
            )
        out.append(table)

    for c in comps:
        a, b = models[c["a"]], models[c["b"]]
        bs, mc = c["bootstrap"], c["mcnemar"]
        prefix = "" if len(models) == 2 else f"{model_label(b)} vs {model_label(a)}: "
        lines = Text()
        lines.append(
            f"{prefix}paired bootstrap over {bs['articles']} articles ({bs['samples']} resamples, seed {bs['seed']}): "
            f"macro-F1 Δ {bs['delta']:+.3f}, {round(bs['confidence'] * 100)}% CI [{bs['low']:+.3f}, {bs['high']:+.3f}]; "
            f"B better in {bs['b_better_share']:.1%} of resamples\n"
        )
        lines.append(
            f"{prefix}McNemar ({mc['method']}): A-only correct {mc['a_only_correct']}, B-only correct "
            f"{mc['b_only_correct']}, statistic {mc['statistic']:.3f}, p = {mc['p_value']:.3g}\n"
        )
        counts = c["changed_counts"]
        lines.append(
            f"{prefix}{len(c['changed'])} labeled sentences changed label: {counts['regression']} regressions, "
            f"{counts['fix']} fixes, {counts['still wrong']} still wrong\n"
        )
        lines.append(f"{prefix}{c['verdict']}", style="bold")
        out.append(lines)
        if len(models) == 2 and c["changed"] and top > 0:
            out.append(changed_sentences(c, top, width))
    return out


def changed_sentences(comparison: dict, top: int, width: int) -> Text:
    """The changed sentences, worst first: one line of columns each, its text wrapped beneath. A
    table with the text as a column would not fit a 100-column terminal and be cut at its edge."""
    changed = comparison["changed"][:top]
    style = {"regression": "red", "fix": "green", "still wrong": "yellow"}
    rows = []
    for row in changed:
        article = row["article"] if len(row["article"]) <= 20 else "…" + row["article"][-19:]
        rows.append([
            row["change"], f"{article}:{row['sentence']}", row["gold"],
            f"{row['a']['label']} {row['a']['confidence']:.2f}", f"{row['b']['label']} {row['b']['confidence']:.2f}",
            f"{row['p_gold_a']:.2f}→{row['p_gold_b']:.2f}",
        ])
    headers = ["change", "article:sent", "gold", "A", "B", "p(gold)"]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    indent = " " * (widths[0] + 2)
    out = Text(f"Changed sentences, worst first (top {len(changed)} of {len(comparison['changed'])})\n", style="italic")
    out.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip() + "\n", style="bold")
    for row, cells in zip(changed, rows):
        out.append(cells[0].ljust(widths[0]), style=style[cells[0]])
        out.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells[1:], widths[1:])).rstrip() + "\n")
        text = " ".join(row["text"].split())
        wrapped = textwrap.wrap(text, width=max(40, width - len(indent)), max_lines=3, placeholder=" …")
        out.append("".join(indent + line + "\n" for line in wrapped), style="dim")
    out.rstrip()
    return out
