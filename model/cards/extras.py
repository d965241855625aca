"""Model card sections of their own: calibration (how far the confidences can be trusted), the
final fit (which data the model saw, where its dev figures come from) and distillation (which
teacher's soft labels it learned from).

Kept apart from model/cards/card.py so the card's layout can change without touching them: the card
takes `extra_card_fields(metrics)` into its JSON and appends `extra_sections(card)` to its markdown.
"""

from __future__ import annotations


def extra_card_fields(metrics: dict) -> dict:
    """The card JSON's entries from metrics.json: `calibration` (training/recipes/temperature.py),
    `final_fit` (training/recipes/final_fit.py) and `distillation` (training/recipes/distill.py), None where absent."""
    return {key: metrics.get(key) for key in ("calibration", "final_fit", "distillation")}


def extra_sections(card: dict) -> list[str]:
    """Markdown sections for the card, in order; none for a model with none of the entries."""
    sections = (
        distillation_markdown(card.get("distillation")),
        final_fit_markdown(card.get("final_fit")),
        calibration_markdown(card.get("calibration")),
    )
    return [s for s in sections if s]


def distillation_markdown(distillation: dict | None) -> str | None:
    if not distillation:
        return None
    teacher = distillation.get("teacher") or {}
    score = teacher.get("dev_macro_f1")
    shown = f"`{teacher.get('name') or '?'}` (id `{teacher.get('id') or '?'}`, base `{teacher.get('base') or '?'}`"
    shown += f", dev macro-F1 {score:.3f})" if isinstance(score, (int, float)) else ")"
    matches = "" if distillation.get("train_data_matches", True) else (
        " The targets were computed on a training file with other bytes (same article ids and sentences)."
    )
    return "\n".join(
        [
            "## Distillation\n",
            f"Trained on the soft labels of the teacher {shown} together with the gold labels: "
            f"weight {distillation['weight']} on the teacher's probabilities, {1 - distillation['weight']:.2g} on the gold labels, "
            f"temperature {distillation['temperature']}. Teacher targets: `{distillation['targets']['path']}` "
            f"(sha256 {distillation['targets']['sha256'][:12]}...).{matches}\n",
        ]
    )


def final_fit_markdown(final_fit: dict | None) -> str | None:
    if not final_fit:
        return None
    selection = final_fit.get("selection_id") or final_fit.get("selection_model")
    return "\n".join(
        [
            "## Final fit\n",
            f"Trained on all labeled data ({' + '.join(final_fit['trained_on'])}: {final_fit['articles']} articles) for "
            f"{final_fit['epochs']} epoch(s), the best epoch of the selection run `{selection}` "
            f"({final_fit.get('selection_model')}), whose label biases and temperature it uses. It has seen the dev data: "
            "**the dev figures in this card are the selection run's**, not this model's; score it on other held-out data.\n",
        ]
    )


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
