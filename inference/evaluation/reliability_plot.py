"""The reliability diagram of `newsroles evaluate --plot PATH`: confidence against accuracy.

One curve per evaluated model from its result's `calibration.reliability` bins (training/evaluation/withheld.py);
a calibrated model lies on the diagonal. Written with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_file

FORMATS = ("png", "svg", "pdf")


def check_plot_path(path: str | Path) -> Path:
    """The plot's path, if its suffix names a format matplotlib writes here; else a UserError."""
    path = Path(path)
    if path.suffix.lstrip(".").lower() not in FORMATS:
        raise UserError(f"the reliability plot is written as {', '.join(FORMATS)}: give a path ending in one of them", path)
    return path


def write_reliability_plot(results: list[dict], path: str | Path, names: list[str] | None = None) -> Path:
    """Draw every result's reliability curve (bins with sentences only) into one PNG (or the
    format `path`'s suffix names), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    path = check_plot_path(path)
    fig = Figure(figsize=(5.0, 5.0))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfect calibration")
    for i, result in enumerate(results):
        calibration = result["calibration"]
        bins = [b for b in calibration["reliability"] if b["n"]]
        name = names[i] if names else Path(str(result.get("model", f"model {i + 1}"))).name
        ax.plot(
            [b["confidence"] for b in bins],
            [b["accuracy"] for b in bins],
            marker="o",
            label=f"{name} (ECE {calibration['ece']:.3f})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (top label)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability ({results[0]['calibration']['bins']} bins)" if results else "Reliability")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    with atomic_file(path, mode="wb") as fh:
        fig.savefig(fh, format=path.suffix.lstrip(".").lower())
    return path
