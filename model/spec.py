"""What a model is made of: the architecture settings stored in every model folder's config.

The default of every setting is the default model's, read from configs/default.yaml (shipped as
package data): that file is the one place the default model is written down. Types, choices
(`Literal`) and ranges (`Between`) are declared on the fields and checked by pydantic when a
config is loaded (training/config.py); building a ModelSpec in code checks nothing.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, ClassVar, Literal

import yaml
from annotated_types import Interval
from pydantic import BeforeValidator, ConfigDict, Strict

DEFAULT_CONFIG = "default.yaml"


def _number_from_text(value):
    """YAML 1.1 reads "1e-3" (no dot) as a string: take it as the number it spells."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


# Field types of a config: no silent conversion (true is not 1, "3" is not 3), except that a float
# field takes an int or a number written as text.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Float = Annotated[float, Strict(), BeforeValidator(_number_from_text)]
# Unknown keys are errors (with a "did you mean" from training/config.py).
STRICT_KEYS = ConfigDict(extra="forbid")


def Between(low: float, high: float) -> Interval:
    """An inclusive range for a numeric field."""
    return Interval(ge=low, le=high)


def declared_ranges(cls) -> dict[str, tuple[float, float]]:
    """{field: (low, high)} for the fields of `cls` declared with Between."""
    out = {}
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        for meta in getattr(hint, "__metadata__", ()):
            if isinstance(meta, Interval):
                out[name] = (meta.ge, meta.le)
    return out


@cache
def packaged_default_text() -> str:
    """The text of the packaged configs/default.yaml."""
    return (resources.files("newsroles.configs") / DEFAULT_CONFIG).read_text(encoding="utf-8")


def packaged_default_config() -> dict:
    """The packaged default config as a dict (a fresh copy each call)."""
    return yaml.safe_load(packaged_default_text())


_DEFAULT = packaged_default_config()["model"]


@dataclass
class ModelSpec:
    __pydantic_config__: ClassVar = STRICT_KEYS
    # article: encode consecutive sentences together and classify each in context (Cohan et al. 2019);
    # sentence: one sentence per window, no context (the classic per-sentence classifier).
    type: Literal["article", "sentence"] = _DEFAULT["type"]
    base: Str = _DEFAULT["base"]
    # Keep only the base encoder's first N transformer layers (null: all of them): fewer layers,
    # proportionally less encoder work per token (BENCHMARKS.md: "Fewer encoder layers").
    encoder_layers: Annotated[Int, Between(1, 128)] | None = _DEFAULT["encoder_layers"]
    # Tokens per window, special tokens and headline included; longer sentences are truncated inside a window.
    max_length: Annotated[Int, Between(16, 8192)] = _DEFAULT["max_length"]
    max_sentence_tokens: Annotated[Int, Between(4, 8192)] = _DEFAULT["max_sentence_tokens"]
    max_title_tokens: Annotated[Int, Between(0, 512)] = _DEFAULT["max_title_tokens"]
    # Share of a window's sentences repeated in the next window.
    window_overlap: Annotated[Float, Between(0.0, 0.9)] = _DEFAULT["window_overlap"]
    use_title: Bool = _DEFAULT["use_title"]
    # Windows after the first also see the article's lead sentence (the main event, usually),
    # as context that is not classified again.
    lead_context: Bool = _DEFAULT["lead_context"]
    # Each sentence also meets the headline: its vector times the headline's (and their cosine),
    # so "does this sentence tell the headline's event" is one step for the head (Choubey et al.
    # 2020 found the headline the strongest cue for the main event).
    headline_features: Bool = _DEFAULT["headline_features"]
    position_features: Bool = _DEFAULT["position_features"]
    # Where the sentence stands among the article's paragraphs (when the input has paragraphs).
    paragraph_features: Bool = _DEFAULT["paragraph_features"]
    pooling: Literal["mean", "sep", "mean+sep"] = _DEFAULT["pooling"]
    # gru: a BiGRU over the window's sentence vectors; article: a BiGRU over the whole article's
    # (all its windows in one batch), so a sentence in a later window still reads the lead.
    context_layer: Literal["gru", "article", "none"] = _DEFAULT["context_layer"]
    context_hidden: Annotated[Int, Between(8, 4096)] = _DEFAULT["context_hidden"]
    dropout: Annotated[Float, Between(0.0, 0.9)] = _DEFAULT["dropout"]

    @property
    def is_article(self) -> bool:
        return self.type == "article"

    @property
    def article_context(self) -> bool:
        """Whether batches must hold whole articles (the context layer reads all of an article's windows)."""
        return self.is_article and self.context_layer == "article"


ModelSpec.RANGES = declared_ranges(ModelSpec)  # {field: (low, high)}, e.g. for a CLI option's check


# What a folder written before a setting existed means by its absence: the behaviour before it
# (not today's default, which may differ).
SETTINGS_ADDED_LATER = {"lead_context": True, "headline_features": False, "paragraph_features": False, "encoder_layers": None}


def spec_from_config(config: dict) -> ModelSpec:
    known = {f for f in ModelSpec.__dataclass_fields__}
    saved = {k: v for k, v in (config.get("model") or {}).items() if k in known}
    return ModelSpec(**{**SETTINGS_ADDED_LATER, **saved})
