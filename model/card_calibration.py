"""The model card's "Calibration" section: how far the model's confidences can be trusted.

Kept apart from model/card.py so the card's layout can change without touching it: the card only
calls `calibration_markdown` with metrics.json's `calibration` entry (training/temperature.py).
"""

from __future__ import annotations


def calibration_markdown(calibration: dict | None) -> str | None:
    """Markdown for the card, or None when the model was not calibrated (no dev set, older model)."""
    if not calibration:
        return None
    bins = calibration.get("ece_bins", 15)
    lines = [
        "## Calibration\n",
        f"Confidences are divided by a temperature of {calibration['temperature']:.3f}, fitted on dev "
        f"({calibration.get('n', '?')} sentences) after the label biases, and stored in the weights, so every runtime applies it. "
        f"Expected calibration error (top label, {bins} bins) on dev: {calibration['ece_before']:.3f} before, "
        f"{calibration['ece_after']:.3f} after (the same sentences it was fitted on).\n",
    ]
    coverage = calibration.get("coverage")
    if coverage:
        lines.append("`newsroles label --min-confidence P` leaves sentences below P unlabeled; on dev:\n\n" + coverage_markdown(coverage) + "\n")
    return "\n".join(lines)


def coverage_markdown(rows: list[dict]) -> str:
    """The coverage table as markdown: threshold, share kept, sentences kept, accuracy of those kept."""
    lines = ["| min confidence | kept | sentences | accuracy of kept |", "| ---: | ---: | ---: | ---: |"]
    for r in rows:
        accuracy = "–" if r["accuracy"] is None else f"{r['accuracy']:.3f}"
        lines.append(f"| {r['threshold']:.1f} | {r['coverage']:.1%} | {r['kept']} | {accuracy} |")
    return "\n".join(lines)
