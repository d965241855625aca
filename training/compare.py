"""Comparing model versions on the same data: is the new one better, on which roles, and is it real?

Plain functions, used by `newsroles compare`:

* `paired_bootstrap` -- confidence interval of the macro-F1 difference B - A, resampling whole
  articles with replacement (sentences of one article are not independent), both models scored
  on the same resample;
* `mcnemar` / `mcnemar_counts` -- McNemar's test on per-sentence correctness: exact two-sided
  binomial test when the discordant count is small, chi-square with continuity correction otherwise;
* `changed_sentences` -- the labeled sentences whose predicted label changed, worst first;
* `compare_predictions` / `compare_models` -- everything above as one plain-JSON dict, the first
  model being the reference every other one is compared against;
* `comparison_tables` (rich tables for the terminal) and `write_report` (a self-contained HTML
  report, pictures embedded as base64 PNG).
"""

from __future__ import annotations

import datetime as dt
import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.training.evaluate import compute_metrics

DEFAULT_SAMPLES = 1000
DEFAULT_SEED = 13
EXACT_BELOW = 25  # McNemar: exact binomial test when b + c < this, chi-square otherwise

# ---------------------------------------------------------------------------------------------
# Statistics


def macro_f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices (..., k, k), rows gold, columns predicted.

    Per label F1 = 2tp / (2tp + fp + fn), 0 when that is 0/0 -- the same as `compute_metrics`
    (scikit-learn with zero_division=0), averaged over the whole label set.
    """
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    fp = cm.sum(axis=-2) - tp
    fn = cm.sum(axis=-1) - tp
    denom = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)
    return f1.mean(axis=-1)


def _encode(values: Sequence, index: dict, what: str) -> np.ndarray:
    try:
        return np.array([index[v] for v in values], dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"{what} label {exc.args[0]!r} is not in the label set {list(index)}") from None


def paired_bootstrap(
    gold: Sequence[str],
    pred_a: Sequence[str],
    pred_b: Sequence[str],
    groups: Sequence,
    labels: Sequence[str],
    *,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Paired bootstrap over articles of the macro-F1 difference B - A.

    `gold`, `pred_a`, `pred_b` hold one label per sentence, `groups` the article each sentence
    belongs to. Each of `samples` resamples draws as many articles as there are, with replacement,
    and scores both models on the same drawn sentences. Returns the observed difference, the
    percentile interval at `confidence`, the share of resamples where B beats A, and the settings.
    """
    labels = list(labels)
    n = len(gold)
    if not (len(pred_a) == len(pred_b) == len(groups) == n):
        raise ValueError("gold, pred_a, pred_b and groups must have the same length")
    if samples < 1:
        raise ValueError("samples must be >= 1")
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    g, a, b = _encode(gold, index, "gold"), _encode(pred_a, index, "predicted"), _encode(pred_b, index, "predicted")
    group_ids: dict = {}
    art = np.array([group_ids.setdefault(x, len(group_ids)) for x in groups], dtype=np.int64)
    m = len(group_ids)
    # One confusion matrix per article and model: a resample's matrix is a count-weighted sum.
    cm_a = np.zeros((m, k * k))
    cm_b = np.zeros((m, k * k))
    np.add.at(cm_a, (art, g * k + a), 1)
    np.add.at(cm_b, (art, g * k + b), 1)
    observed_a = float(macro_f1_from_confusion(cm_a.sum(axis=0).reshape(k, k))) if n else 0.0
    observed_b = float(macro_f1_from_confusion(cm_b.sum(axis=0).reshape(k, k))) if n else 0.0
    if m == 0:
        deltas = np.zeros(samples)
    else:
        rng = np.random.default_rng(seed)
        counts = rng.multinomial(m, np.full(m, 1.0 / m), size=samples).astype(float)
        f1_a = macro_f1_from_confusion((counts @ cm_a).reshape(samples, k, k))
        f1_b = macro_f1_from_confusion((counts @ cm_b).reshape(samples, k, k))
        deltas = f1_b - f1_a
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(deltas, [tail, 100 - tail])
    return {
        "metric": "macro_f1",
        "a": observed_a,
        "b": observed_b,
        "delta": observed_b - observed_a,
        "low": float(low),
        "high": float(high),
        "confidence": confidence,
        "b_better_share": float(np.mean(deltas > 0)),
        "samples": int(samples),
        "seed": int(seed),
        "articles": int(m),
        "resampled": "articles",
        "deltas": deltas,  # the bootstrap distribution (a numpy array; dropped from JSON output)
    }


def mcnemar_counts(b: int, c: int, exact_below: int = EXACT_BELOW) -> dict:
    """McNemar's test from the discordant counts.

    `b`: sentences model A got right and B wrong; `c`: B right and A wrong. When b + c is below
    `exact_below`, the exact two-sided binomial test (p = min(1, 2 P[X <= min(b, c)]), X ~
    Bin(b + c, 1/2)); otherwise chi-square with continuity correction, (|b - c| - 1)^2 / (b + c), 1 dof.
    """
    from scipy.stats import binom, chi2

    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError("counts must be >= 0")
    n = b + c
    if n == 0:
        return {"method": "none (no discordant sentences)", "statistic": 0.0, "p_value": 1.0, "discordant": 0}
    if n < exact_below:
        p = min(1.0, 2 * float(binom.cdf(min(b, c), n, 0.5)))
        return {"method": "exact binomial", "statistic": float(min(b, c)), "p_value": p, "discordant": n}
    stat = (abs(b - c) - 1) ** 2 / n if abs(b - c) >= 1 else 0.0
    return {"method": "chi-square, continuity-corrected", "statistic": float(stat), "p_value": float(chi2.sf(stat, 1)), "discordant": n}


def mcnemar(gold: Sequence[str], pred_a: Sequence[str], pred_b: Sequence[str], exact_below: int = EXACT_BELOW) -> dict:
    """McNemar's test on per-sentence correctness of two models; also returns the 2x2 table."""
    if not len(gold) == len(pred_a) == len(pred_b):
        raise ValueError("gold, pred_a and pred_b must have the same length")
    ok_a = np.array([x == y for x, y in zip(gold, pred_a)], dtype=bool)
    ok_b = np.array([x == y for x, y in zip(gold, pred_b)], dtype=bool)
    table = {
        "both_correct": int(np.sum(ok_a & ok_b)),
        "a_only_correct": int(np.sum(ok_a & ~ok_b)),
        "b_only_correct": int(np.sum(~ok_a & ok_b)),
        "both_wrong": int(np.sum(~ok_a & ~ok_b)),
    }
    return {**table, **mcnemar_counts(table["a_only_correct"], table["b_only_correct"], exact_below), "n": len(gold)}


# ---------------------------------------------------------------------------------------------
# Per-sentence view


@dataclass
class Scored:
    """The labeled sentences of a data set, flattened, with each model's probabilities."""

    labels: list[str]
    article_ids: list[str]  # one per labeled sentence
    sentence_numbers: list[int]  # 1-based position in its article
    texts: list[str]
    gold: list[str]
    probs: list[np.ndarray]  # per model: (n_labeled, k)

    def predicted(self, i: int) -> list[str]:
        return [self.labels[j] for j in self.probs[i].argmax(axis=1)] if len(self.gold) else []


def flatten(articles: Sequence[Article], model_probs: Sequence[Sequence[np.ndarray]], labels: Sequence[str]) -> Scored:
    """Keep the labeled sentences; `model_probs[m][i]` is model m's (sentences, k) array for article i."""
    labels = list(labels)
    k = len(labels)
    keep = []
    ids, numbers, texts, gold = [], [], [], []
    for i, article in enumerate(articles):
        for j, sentence in enumerate(article.sentences):
            if sentence.label is None:
                continue
            if sentence.label not in labels:
                raise UserError(f"article {article.id!r}, sentence {j + 1}: gold label {sentence.label!r} is not one of {labels}")
            keep.append((i, j))
            ids.append(str(article.id))
            numbers.append(j + 1)
            texts.append(sentence.text)
            gold.append(sentence.label)
    probs = []
    for per_article in model_probs:
        if len(per_article) != len(articles):
            raise ValueError(f"{len(articles)} articles but {len(per_article)} probability arrays")
        rows = [np.asarray(per_article[i])[j] for i, j in keep]
        probs.append(np.array(rows, dtype=float).reshape(len(rows), k))
    return Scored(labels, ids, numbers, texts, gold, probs)


CHANGE_ORDER = {"regression": 0, "still wrong": 1, "fix": 2}


def changed_sentences(scored: Scored, a: int = 0, b: int = 1) -> list[dict]:
    """Labeled sentences whose predicted label differs between models `a` and `b`, worst first.

    Each is a `regression` (A right, B wrong), a `fix` (A wrong, B right) or `still wrong`; within
    each kind, the larger the drop in the gold label's probability from A to B, the earlier.
    """
    labels = scored.labels
    pa, pb = scored.probs[a], scored.probs[b]
    out = []
    for n, gold in enumerate(scored.gold):
        ia, ib = int(pa[n].argmax()), int(pb[n].argmax())
        if ia == ib:
            continue
        g = labels.index(gold)
        la, lb = labels[ia], labels[ib]
        kind = "regression" if la == gold else "fix" if lb == gold else "still wrong"
        out.append(
            {
                "article": scored.article_ids[n],
                "sentence": scored.sentence_numbers[n],
                "text": scored.texts[n],
                "gold": gold,
                "a": {"label": la, "confidence": round(float(pa[n][ia]), 4)},
                "b": {"label": lb, "confidence": round(float(pb[n][ib]), 4)},
                "p_gold_a": round(float(pa[n][g]), 4),
                "p_gold_b": round(float(pb[n][g]), 4),
                "change": kind,
                "severity": round(float(pa[n][g] - pb[n][g]), 4),
            }
        )
    return sorted(out, key=lambda r: (CHANGE_ORDER[r["change"]], -r["severity"]))


# ---------------------------------------------------------------------------------------------
# The comparison


def _metric_deltas(ma: dict, mb: dict, labels: list[str]) -> dict:
    out = {k: mb[k] - ma[k] for k in ("macro_f1", "micro_f1", "weighted_f1", "accuracy")}
    out["per_label_f1"] = {label: mb["per_label"][label]["f1"] - ma["per_label"][label]["f1"] for label in labels}
    return out


def verdict(bootstrap: dict, mc: dict, alpha: float = 0.05) -> str:
    """One sentence saying whether B differs from A, and how sure that is."""
    d, lo, hi = bootstrap["delta"], bootstrap["low"], bootstrap["high"]
    level = round(bootstrap["confidence"] * 100)
    ci = f"{level}% CI [{lo:+.3f}, {hi:+.3f}]"
    if lo > 0:
        head = f"B is better: macro-F1 {d:+.3f}, {ci} excludes 0"
    elif hi < 0:
        head = f"B is worse: macro-F1 {d:+.3f}, {ci} excludes 0"
    else:
        head = f"no clear macro-F1 difference: {d:+.3f}, {ci} includes 0"
    sig = "significant" if mc["p_value"] < alpha else "not significant"
    net = mc["b_only_correct"] - mc["a_only_correct"] if "b_only_correct" in mc else 0
    noun = "sentence" if abs(net) == 1 else "sentences"
    direction = f"B gets {abs(net)} {'more' if net > 0 else 'fewer'} {noun} right" if net else "B gets as many sentences right"
    return f"{head}; {direction}, McNemar p = {mc['p_value']:.3g} ({sig} at {alpha:g})"


def compare_predictions(
    articles: Sequence[Article],
    labels: Sequence[str],
    models: Sequence[dict],
    model_probs: Sequence[Sequence[np.ndarray]],
    *,
    data: dict | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Compare every model against the first on the same articles.

    `models[m]` describes model m (ref, id, name, path, kind...), `model_probs[m]` its per-article
    probabilities with columns in `labels` order. Returns plain JSON except each comparison's
    `bootstrap.deltas` (a numpy array; `to_json` drops it).
    """
    labels = list(labels)
    if len(models) < 2:
        raise UserError("compare needs at least two models")
    if len(models) != len(model_probs):
        raise ValueError("one probability list per model")
    scored = flatten(articles, model_probs, labels)
    preds = [scored.predicted(m) for m in range(len(models))]
    model_rows = []
    for m, info in enumerate(models):
        metrics = compute_metrics(scored.gold, preds[m], labels)
        model_rows.append({**info, "metrics": metrics})
    comparisons = []
    for m in range(1, len(models)):
        boot = paired_bootstrap(
            scored.gold, preds[0], preds[m], scored.article_ids, labels, samples=samples, seed=seed, confidence=confidence
        )
        mc = mcnemar(scored.gold, preds[0], preds[m])
        changes = changed_sentences(scored, 0, m)
        comparisons.append(
            {
                "a": 0,
                "b": m,
                "delta": _metric_deltas(model_rows[0]["metrics"], model_rows[m]["metrics"], labels),
                "bootstrap": boot,
                "mcnemar": mc,
                "changed": changes,
                "changed_counts": {kind: sum(1 for c in changes if c["change"] == kind) for kind in CHANGE_ORDER},
                "verdict": verdict(boot, mc),
            }
        )
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {
            **(data or {}),
            "articles": len(articles),
            "labeled_sentences": len(scored.gold),
        },
        "labels": labels,
        "models": model_rows,
        "comparisons": comparisons,
    }


def to_json(result: dict) -> dict:
    """The comparison without the bootstrap distributions (numpy arrays)."""
    out = dict(result)
    out["comparisons"] = [
        {**c, "bootstrap": {k: v for k, v in c["bootstrap"].items() if k != "deltas"}} for c in result["comparisons"]
    ]
    return out


def _align(probs: list[np.ndarray], own: list[str], labels: list[str]) -> list[np.ndarray]:
    order = [own.index(label) for label in labels]
    return [np.asarray(p)[:, order] for p in probs]


def compare_models(
    refs: Sequence[str],
    data: str | Path,
    *,
    models_dir: str | Path = "models",
    device: str = "auto",
    batch_size: int | None = None,
    samples: int = DEFAULT_SAMPLES,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> dict:
    """Load each referenced model (id, name, name/version or folder), label `data`, compare against the first.

    Every comparison also carries, per model, an `evaluation` in the form `evaluate_model` returns,
    so the caller can record it in the model's folder.
    """
    from newsroles.inference.predictor import load_labeler
    from newsroles.model.folder import file_fingerprint
    from newsroles.model.registry import resolve
    from newsroles.training.readers import read_articles

    if len(refs) < 2:
        raise UserError("compare needs at least two models")
    versions = [resolve(ref, models_dir) for ref in refs]
    labels = list(versions[0].manifest["labels"])
    for v in versions[1:]:
        own = list(v.manifest["labels"])
        if set(own) != set(labels) or len(own) != len(labels):
            raise UserError(
                f"label sets differ: {versions[0].ref} has {labels}, {v.ref} has {own}; "
                "only models with the same labels can be compared",
            )
    labelers = [load_labeler(v.path, device) for v in versions]
    articles = read_articles(data, labels, labels_name="the models' labels")
    from newsroles.training.evaluate import check_has_labels

    check_has_labels(articles, data)
    n_sentences = sum(len(a.sentences) for a in articles)
    data_info = {"path": str(data), "sha256": file_fingerprint(data), "sentences": n_sentences}
    all_probs = []
    infos = []
    for ref, v, lab in zip(refs, versions, labelers):
        started = time.perf_counter()
        probs = _align(lab.predict(articles, batch_size), list(lab.labels), labels)
        seconds = time.perf_counter() - started
        all_probs.append(probs)
        infos.append(
            {
                "ref": str(ref),
                "id": v.id,
                "name": v.name,
                "path": str(v.path),
                "kind": v.kind,
                "created": v.created,
                "parent": v.parent,
                "seconds": round(seconds, 3),
            }
        )
    result = compare_predictions(
        articles, labels, infos, all_probs, data=data_info, samples=samples, seed=seed, confidence=confidence
    )
    for row in result["models"]:
        n = result["data"]["sentences"]
        # The same metrics in the model's own label order, as `evaluate_model` would record them.
        own = read_labels(row["path"])
        metrics = row["metrics"]
        if own != labels:
            metrics = reorder_metrics(metrics, own)
        row["evaluation"] = {
            "model": row["path"],
            "data": {**data_info, "articles": len(articles), "sentences": n},
            "seconds": row["seconds"],
            "sentences_per_second": round(n / row["seconds"], 1) if row["seconds"] > 0 else None,
            **metrics,
        }
    return result


def read_labels(folder: str | Path) -> list[str]:
    from newsroles.model.folder import read_manifest

    return list(read_manifest(folder)["labels"])


def reorder_metrics(metrics: dict, labels: list[str]) -> dict:
    """`compute_metrics` output with its label order changed to `labels` (same set)."""
    old = metrics["labels"]
    idx = [old.index(label) for label in labels]
    cm = metrics["confusion_matrix"]
    return {
        **metrics,
        "labels": list(labels),
        "per_label": {label: metrics["per_label"][label] for label in labels},
        "confusion_matrix": [[cm[i][j] for j in idx] for i in idx],
    }


# ---------------------------------------------------------------------------------------------
# Terminal output


def _f(x: float) -> str:
    return f"{x:.3f}"


def _d(x: float) -> str:
    s = f"{x:+.3f}"
    if s in ("+0.000", "-0.000"):
        return "[dim] 0.000[/dim]"
    return f"[green]{s}[/green]" if x > 0 else f"[red]{s}[/red]"


def model_label(row: dict) -> str:
    return f"{row['name']} {row['id']}"


def comparison_tables(result: dict, top: int = 15, width: int = 120) -> list:
    """Rich renderables: side by side (two models) or a table against the first (more); `width`: the console's."""
    from rich.table import Table
    from rich.text import Text

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
            t = Table(title=f"Changed sentences, worst first (top {min(top, len(c['changed']))} of {len(c['changed'])})")
            style = {"regression": "red", "fix": "green", "still wrong": "yellow"}
            rows = []
            for row in c["changed"][:top]:
                article = row["article"] if len(row["article"]) <= 24 else "…" + row["article"][-23:]
                rows.append(
                    [
                        row["change"],
                        f"{article}:{row['sentence']}",
                        row["gold"],
                        f"{row['a']['label']} {row['a']['confidence']:.2f}",
                        f"{row['b']['label']} {row['b']['confidence']:.2f}",
                        f"{row['p_gold_a']:.2f}→{row['p_gold_b']:.2f}",
                        " ".join(row["text"].split()),
                    ]
                )
            headers = ["change", "article:sent", "gold", "A", "B", "p(gold)"]
            widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
            for header, w in zip(headers, widths):
                t.add_column(header, no_wrap=True, min_width=w, justify="right" if header == "p(gold)" else "left")
            room = max(20, width - sum(widths) - 3 * (len(headers) + 1) - 1)
            t.add_column("text", no_wrap=True)
            for r in rows:
                text = r[-1] if len(r[-1]) <= room else r[-1][: room - 1] + "…"
                t.add_row(f"[{style[r[0]]}]{r[0]}[/]", *r[1:-1], text)
            out.append(t)
    return out


# ---------------------------------------------------------------------------------------------
# HTML report


def _png(fig) -> str:
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(result: dict, comparison: dict | None = None) -> str:
    """Confusion matrices of the models (and the B - A difference for a pair), as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = result["labels"]
    models = result["models"] if comparison is None else [result["models"][comparison["a"]], result["models"][comparison["b"]]]
    panels = [(f"{chr(65 + i) if comparison is not None else i + 1}: {model_label(m)}", np.array(m["metrics"]["confusion_matrix"])) for i, m in enumerate(models)]
    diff = None
    if comparison is not None:
        diff = panels[1][1] - panels[0][1]
    n = len(panels) + (diff is not None)
    k = len(labels)
    size = 1.0 + 0.75 * k
    fig = Figure(figsize=(size * n + 0.5, size + 0.6))
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, (title, cm) in zip(axes, panels):
        rows = cm.sum(axis=1, keepdims=True)
        share = np.divide(cm, rows, out=np.zeros_like(cm, dtype=float), where=rows > 0)
        ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=9, color="white" if share[i, j] > 0.6 else "black")
        _axes(ax, labels, title)
    if diff is not None:
        ax = axes[-1]
        # Colour says better (blue) or worse (red): more on the diagonal, fewer off it, is better.
        good = np.where(np.eye(k, dtype=bool), diff, -diff)
        lim = max(1, int(np.abs(diff).max()))
        ax.imshow(good, cmap="RdBu", vmin=-lim, vmax=lim)
        for i in range(k):
            for j in range(k):
                strong = abs(good[i, j]) > 0.6 * lim
                ax.text(j, i, f"{diff[i, j]:+d}" if diff[i, j] else "0", ha="center", va="center", fontsize=9,
                        color="white" if strong else "black")
        _axes(ax, labels, "B − A (counts; blue = better)")
    fig.tight_layout()
    return _png(fig)


def _axes(ax, labels: list[str], title: str) -> None:
    ax.set_xticks(range(len(labels)), labels, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("gold", fontsize=8)
    ax.set_title(title, fontsize=9)


def bootstrap_figure(comparison: dict) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    bs = comparison["bootstrap"]
    deltas = bs.get("deltas")
    if deltas is None or len(deltas) == 0:
        return None
    fig = Figure(figsize=(6.2, 2.4))
    ax = fig.subplots()
    ax.hist(deltas, bins=40, color="#9ab8d8", edgecolor="white")
    ax.axvline(0, color="black", linewidth=1)
    ax.axvline(bs["delta"], color="#1f4e8c", linewidth=2, label=f"observed {bs['delta']:+.3f}")
    for x in (bs["low"], bs["high"]):
        ax.axvline(x, color="#c0392b", linestyle="--", linewidth=1)
    ax.set_xlabel("macro-F1 difference B − A over article resamples", fontsize=8)
    ax.set_ylabel("resamples", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)


def f1_figure(result: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    labels = result["labels"] + ["macro"]
    models = result["models"]
    fig = Figure(figsize=(6.2, 2.6))
    ax = fig.subplots()
    width = 0.8 / len(models)
    x = np.arange(len(labels))
    for i, m in enumerate(models):
        vals = [m["metrics"]["per_label"][label]["f1"] for label in result["labels"]] + [m["metrics"]["macro_f1"]]
        ax.bar(x + (i - (len(models) - 1) / 2) * width, vals, width, label=model_label(m))
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return _png(fig)


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
    from newsroles.model.fileio import atomic_file

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
