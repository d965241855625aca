"""Checking an exported copy against its original, and tuning the copy's label biases.

Both load the copy and the original as labelers and predict: plain functions over two `Labeler`s
(inference/predictor.py) and labeled articles, scored with training/evaluation/metrics.py's metrics.
"""

from __future__ import annotations

import time
from pathlib import Path

from newsroles.model.errors import UserError
from newsroles.model.probe import agreement
from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions
from newsroles.training.recipes.label_bias import labeled_log_probs, tune_label_bias


def check_models(reference, exported, articles) -> dict:
    """Macro-F1 of both labelers on labeled `articles`, and how their predictions differ."""
    labels = reference.labels
    out: dict = {}
    probs = {}
    for name, labeler in (("fp32", reference), ("exported", exported)):
        started = time.perf_counter()
        probs[name] = labeler.predict(articles)
        out[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
        gold, pred = gold_and_predictions(articles, probs[name], labels)
        out[f"{name}_macro_f1"] = round(compute_metrics(gold, pred, labels)["macro_f1"], 6)
    differ = agreement(probs["fp32"], probs["exported"])
    out["sentences"] = differ["sentences"]
    out["label_agreement"] = differ["label_agreement"]
    out["max_prob_diff"] = differ["max_prob_diff"]
    out["macro_f1_drop_points"] = round(100 * (out["fp32_macro_f1"] - out["exported_macro_f1"]), 4)
    return out


def retune_bias(labeler, articles, weights: Path) -> dict:
    """Tune `labeler`'s per-label logit biases on labeled `articles` and write them into `weights`."""
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(weights))
    old = tensors["label_bias"].double().numpy()
    # Logits are (head + bias) / temperature (model/network/classifier.py); folders before it have none (T = 1).
    temperature = float(tensors["temperature"]) if "temperature" in tensors else 1.0
    probs = labeler.predict(articles)
    log_probs, gold = labeled_log_probs(articles, probs, labeler.labels, offset=old / temperature)  # the copy's logits, up to a constant
    if not len(gold):
        raise UserError("the data for tuning label biases has no labeled sentences")
    new, _, after = tune_label_bias(log_probs, gold)
    new = new * temperature  # tuned on the scaled logits; stored before the division
    before = compute_metrics(*gold_and_predictions(articles, probs, labeler.labels), labeler.labels)["macro_f1"]
    if after < before:  # the search starts from zero biases: never end worse than the original's
        new, after = old, before
    tensors["label_bias"] = torch.as_tensor(new, dtype=tensors["label_bias"].dtype)
    save_file(tensors, str(weights))
    labels = labeler.labels
    return {
        "before": {name: round(float(b), 3) for name, b in zip(labels, old)},
        "after": {name: round(float(b), 3) for name, b in zip(labels, new)},
        "macro_f1_before": round(before, 6),
        "macro_f1_after": round(float(after), 6),
    }
