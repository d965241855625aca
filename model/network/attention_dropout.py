"""Dropout on a base encoder's attention probabilities (`train.attention_dropout`).

On a CPU, PyTorch's fused attention (scaled_dot_product_attention) cannot drop attention
probabilities: with a dropout above 0 every training step falls back to the unfused attention, which
writes out each head's full attention matrix, and MiniLM's training steps took twice as long
(BENCHMARKS.md, "Training speed: attention dropout"). Labeling never drops anything, so only
training is affected. A fresh base is built with the setting; a parent model folder (model.base)
keeps the one it was trained with, which its saved config records.
"""

from __future__ import annotations

# What the Hugging Face configs call it: BERT, RoBERTa, MPNet, DeBERTa, ELECTRA...; DistilBERT, ModernBERT.
CONFIG_KEYS = ("attention_probs_dropout_prob", "attention_dropout")


def with_attention_dropout(config, p: float | None):
    """`config` (a transformers config) with its attention dropout set to `p`, changed in place;
    None, or a config without such a setting, leaves it as it is."""
    if p is None:
        return config
    for key in CONFIG_KEYS:
        if isinstance(getattr(config, key, None), (int, float)):
            setattr(config, key, float(p))
    return config
