"""Pictures of a comparison for the HTML report: confusion matrices, the bootstrap distribution, F1 per role.

Drawn on bare matplotlib Figures (no pyplot, so no display or backend is needed) and returned as
base64 PNG data URIs.
"""

from __future__ import annotations

import base64
import io

import numpy as np

from newsroles.training.evaluation.compare import model_label


def _figure(width: float, height: float):
    """A bare matplotlib Figure; matplotlib is imported here, when a report is drawn, not with the module."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(result: dict, comparison: dict | None = None) -> str:
    """Confusion matrices of the models (and the B - A difference for a pair), as a PNG data URI."""
    labels = result["labels"]
    models = result["models"] if comparison is None else [result["models"][comparison["a"]], result["models"][comparison["b"]]]
    panels = [(f"{chr(65 + i) if comparison is not None else i + 1}: {model_label(m)}", np.array(m["metrics"]["confusion_matrix"])) for i, m in enumerate(models)]
    diff = None
    if comparison is not None:
        diff = panels[1][1] - panels[0][1]
    n = len(panels) + (diff is not None)
    k = len(labels)
    size = 1.0 + 0.75 * k
    fig = _figure(size * n + 0.5, size + 0.6)
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
    bs = comparison["bootstrap"]
    deltas = bs.get("deltas")
    if deltas is None or len(deltas) == 0:
        return None
    fig = _figure(6.2, 2.4)
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
    labels = result["labels"] + ["macro"]
    models = result["models"]
    fig = _figure(6.2, 2.6)
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
