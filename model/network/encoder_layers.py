"""Shortening a base encoder to its first N transformer layers (`model.encoder_layers`).

Every layer costs the same per token, so keeping N of L layers makes the encoder about L/N times
faster; the lower layers keep their pretrained weights and fine-tuning adapts them to the head.
The shortened config (num_hidden_layers = N) is what a model folder saves, so a saved model and
its exports rebuild the short encoder without knowing it was cut.
"""

from __future__ import annotations

from newsroles.model.errors import UserError


def keep_first_layers(encoder, n: int | None, base: str = "the base encoder", setting: str = "model.encoder_layers"):
    """`encoder` with only its first `n` layers (all of them when `n` is None), changed in place;
    `setting` is what the user set `n` with, as errors name it."""
    if n is None:
        return encoder
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    total = getattr(encoder.config, "num_hidden_layers", None)
    if layers is None or total is None or len(layers) != total:
        raise UserError(f"{setting}: cannot find the transformer layers of {base} ({type(encoder).__name__})")
    if n > total:
        raise UserError(f"{setting} is {n}, more than the {total} layer(s) of {base}")
    del layers[n:]
    encoder.config.num_hidden_layers = n
    return encoder
