"""Temperature scaling fitted on dev, after the label biases, and stored in the model's weights.

A fine-tuned classifier is usually over-confident; dividing its logits by one temperature fitted
on dev (minimum NLL) makes its confidences match its accuracy without changing any arg-max label.
"""

from __future__ import annotations

import numpy as np
import torch

from newsroles.training.recipes.label_bias import labeled_log_probs
from newsroles.training.evaluation.calibration import (
    ECE_BINS,
    coverage_table,
    expected_calibration_error,
    fit_temperature,
    softmax,
)


def calibrate_temperature(model, dev, probs: list[np.ndarray], labels: list[str]) -> dict:
    """Fit and install `model.temperature` on dev; `probs` are the dev probabilities the model gave
    before its label biases were tuned (the biases now in `model.label_bias` are added here).
    Returns the metrics.json entry: the temperature, and ECE before and after."""
    bias = model.label_bias.detach().double().cpu().numpy()
    logits, gold = labeled_log_probs(dev, probs, labels)
    logits = logits + bias
    temperature = fit_temperature(logits, gold)
    with torch.no_grad():
        model.temperature.fill_(temperature)
    calibrated = softmax(logits / temperature)
    return {
        "temperature": round(temperature, 6),
        "ece_bins": ECE_BINS,
        "ece_before": round(expected_calibration_error(softmax(logits), gold), 6),
        "ece_after": round(expected_calibration_error(calibrated, gold), 6),
        "n": int(len(gold)),
        "coverage": coverage_table(calibrated, gold),
    }
