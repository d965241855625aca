"""`newsroles compare --report`: a self-contained HTML report of a comparison, pictures embedded."""

from __future__ import annotations

import html
from pathlib import Path

from newsroles.inference.evaluation.compare_figures import bootstrap_figure, confusion_figure, f1_figure
from newsroles.model.fileio import atomic_file
from newsroles.training.evaluation.compare import model_label


CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1180px;padding:0 1rem;color:#1d2329;line-height:1.45}
h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde3ea;padding-bottom:.3rem}
.sub{color:#5b6773;font-size:.9rem}table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem}
th,td{padding:.3rem .6rem;border-bottom:1px solid #e6eaef;text-align:left;vertical-align:top}th{background:#f4f6f8}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.pos{color:#1a7f37}.neg{color:#c62828}.zero{color:#8a949e}
.verdict{background:#f4f8fd;border-left:4px solid #1f4e8c;padding:.6rem .9rem;margin:.8rem 0;font-weight:600}
.tag{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.78rem;white-space:nowrap}
.regression{background:#fde2e1;color:#9b1c1c}.fix{background:#dcf5e3;color:#146c2e}.still{background:#fff3cd;color:#7a5b00}
img{max-width:100%}code{background:#f4f6f8;padding:0 .25rem;border-radius:3px}
table.changes{width:100%}td.text{min-width:340px}td.nw{white-space:nowrap}td.art{overflow-wrap:anywhere;min-width:110px;max-width:170px;font-size:.8rem}
"""


def _e(x) -> str:
    return html.escape(str(x))


def _delta_cell(x: float) -> str:
    cls = "zero" if abs(x) < 5e-4 else "pos" if x > 0 else "neg"
    return f'<td class="n {cls}">{x:+.3f}</td>'


def write_report(result: dict, path: str | Path, max_changed: int = 300) -> Path:
    """A self-contained HTML report of a comparison, written atomically."""
    labels = result["labels"]
    models = result["models"]
    d = result["data"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>newsroles compare: {_e(', '.join(model_label(m) for m in models))}</title><style>{CSS}</style></head><body>",
        "<h1>Model comparison</h1>",
        f"<div class='sub'>{_e(d.get('path'))} (sha256 <code>{_e(str(d.get('sha256', ''))[:12])}</code>): "
        f"{d['articles']} articles, {d['labeled_sentences']} labeled sentences. Generated {_e(result['created'])} by newsroles.</div>",
    ]
    parts.append("<h2>Models</h2><table><tr><th></th><th>id</th><th>name</th><th>kind</th><th>created</th><th>parent</th><th>folder</th></tr>")
    for i, m in enumerate(models):
        tag = chr(65 + i) if len(models) == 2 else str(i + 1)
        parts.append(
            f"<tr><td>{tag}</td><td><code>{_e(m['id'])}</code></td><td>{_e(m['name'])}</td><td>{_e(m['kind'])}</td>"
            f"<td>{_e(m.get('created') or '')}</td><td>{_e(m.get('parent') or '–')}</td><td><code>{_e(m['path'])}</code></td></tr>"
        )
    parts.append("</table>")

    parts.append("<h2>Scores</h2>")
    if len(models) == 2:
        c = result["comparisons"][0]
        a, b = models
        parts.append(f"<div class='verdict'>{_e(c['verdict'])}</div>")
        parts.append("<table><tr><th>metric</th><th>A</th><th>B</th><th>Δ (B − A)</th></tr>")
        rows = [("macro-F1", a["metrics"]["macro_f1"], b["metrics"]["macro_f1"], c["delta"]["macro_f1"]),
                ("accuracy", a["metrics"]["accuracy"], b["metrics"]["accuracy"], c["delta"]["accuracy"])]
        rows += [(f"F1 {label}", a["metrics"]["per_label"][label]["f1"], b["metrics"]["per_label"][label]["f1"], c["delta"]["per_label_f1"][label]) for label in labels]
        for name, x, y, delta in rows:
            parts.append(f"<tr><td>{_e(name)}</td><td class='n'>{x:.3f}</td><td class='n'>{y:.3f}</td>{_delta_cell(delta)}</tr>")
        parts.append("</table>")
    else:
        head = "".join(f"<th>Δ F1 {_e(label)}</th>" for label in labels)
        parts.append(f"<table><tr><th>model</th><th>macro-F1</th><th>Δ</th><th>95% CI of Δ</th><th>accuracy</th><th>Δ</th>{head}<th>McNemar p</th><th>changed</th></tr>")
        first = models[0]
        parts.append(
            f"<tr><td>{_e(model_label(first))} (reference)</td><td class='n'>{first['metrics']['macro_f1']:.3f}</td><td></td><td></td>"
            f"<td class='n'>{first['metrics']['accuracy']:.3f}</td><td></td>{'<td></td>' * len(labels)}<td></td><td></td></tr>"
        )
        for c in result["comparisons"]:
            m = models[c["b"]]
            bs = c["bootstrap"]
            cells = "".join(_delta_cell(c["delta"]["per_label_f1"][label]) for label in labels)
            parts.append(
                f"<tr><td>{_e(model_label(m))}</td><td class='n'>{m['metrics']['macro_f1']:.3f}</td>{_delta_cell(c['delta']['macro_f1'])}"
                f"<td class='n'>[{bs['low']:+.3f}, {bs['high']:+.3f}]</td><td class='n'>{m['metrics']['accuracy']:.3f}</td>"
                f"{_delta_cell(c['delta']['accuracy'])}{cells}<td class='n'>{c['mcnemar']['p_value']:.3g}</td><td class='n'>{len(c['changed'])}</td></tr>"
            )
        parts.append("</table>")
    parts.append(f"<img alt='F1 per role' src='{f1_figure(result)}'>")

    for c in result["comparisons"]:
        a, b = models[c["a"]], models[c["b"]]
        bs, mc = c["bootstrap"], c["mcnemar"]
        heading = "Is the difference real?" if len(models) == 2 else f"{_e(model_label(b))} against {_e(model_label(a))}"
        parts.append(f"<h2>{heading}</h2>")
        if len(models) > 2:
            parts.append(f"<div class='verdict'>{_e(c['verdict'])}</div>")
        parts.append(
            f"<p><b>Paired bootstrap over articles</b>: {bs['samples']} resamples of the {bs['articles']} articles (seed {bs['seed']}), "
            f"both models scored on each resample. Macro-F1 difference {bs['delta']:+.3f}, "
            f"{round(bs['confidence'] * 100)}% confidence interval [{bs['low']:+.3f}, {bs['high']:+.3f}]; "
            f"B scored higher in {bs['b_better_share']:.1%} of resamples.</p>"
        )
        fig = bootstrap_figure(c)
        if fig:
            parts.append(f"<img alt='bootstrap distribution' src='{fig}'>")
        parts.append(
            f"<p><b>McNemar's test</b> on per-sentence correctness ({_e(mc['method'])}): statistic {mc['statistic']:.3f}, "
            f"p = {mc['p_value']:.3g}.</p>"
            "<table><tr><th></th><th>B correct</th><th>B wrong</th></tr>"
            f"<tr><th>A correct</th><td class='n'>{mc['both_correct']}</td><td class='n'>{mc['a_only_correct']}</td></tr>"
            f"<tr><th>A wrong</th><td class='n'>{mc['b_only_correct']}</td><td class='n'>{mc['both_wrong']}</td></tr></table>"
        )
        parts.append("<h2>Confusion matrices</h2><p class='sub'>Rows are gold labels, columns predicted; colour is the share of the row. "
                     "In the difference B − A, blue cells are better for B (more on the diagonal, fewer off it), red cells worse.</p>")
        parts.append(f"<img alt='confusion matrices' src='{confusion_figure(result, c)}'>")
        counts = c["changed_counts"]
        parts.append(
            f"<h2>Changed sentences</h2><p>{len(c['changed'])} labeled sentences changed label: "
            f"<span class='tag regression'>{counts['regression']} regressions</span> "
            f"<span class='tag fix'>{counts['fix']} fixes</span> "
            f"<span class='tag still'>{counts['still wrong']} still wrong</span>. Worst first: regressions, then "
            "changes that stay wrong, then fixes; within each, by how much the gold label's probability fell."
            + (f" Showing the first {max_changed}." if len(c["changed"]) > max_changed else "")
            + "</p>"
        )
        parts.append(
            "<table class='changes'><tr><th>change</th><th>article</th><th>#</th><th>sentence</th><th>gold</th><th>A</th><th>B</th>"
            "<th>p(gold) A → B</th></tr>"
        )
        for row in c["changed"][:max_changed]:
            cls = "still" if row["change"] == "still wrong" else row["change"]
            parts.append(
                f"<tr><td><span class='tag {cls}'>{_e(row['change'])}</span></td><td class='art'>{_e(row['article'])}</td>"
                f"<td class='n'>{row['sentence']}</td><td class='text'>{_e(row['text'])}</td><td class='nw'>{_e(row['gold'])}</td>"
                f"<td class='nw'>{_e(row['a']['label'])} <span class='sub'>{row['a']['confidence']:.2f}</span></td>"
                f"<td class='nw'>{_e(row['b']['label'])} <span class='sub'>{row['b']['confidence']:.2f}</span></td>"
                f"<td class='n'>{row['p_gold_a']:.2f} → {row['p_gold_b']:.2f}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    path = Path(path)
    with atomic_file(path) as fh:
        fh.write("\n".join(parts))
    return path
