"""What a model is made of: the architecture settings stored in every model folder's config.

The default of every setting is the default model's, read from configs/default.yaml (shipped as
package data): that file is the one place the default model is written down.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

DEFAULT_CONFIG = "default.yaml"


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
    # article: encode consecutive sentences together and classify each in context (Cohan et al. 2019);
    # sentence: one sentence per window, no context (the classic per-sentence classifier).
    type: str = _DEFAULT["type"]
    base: str = _DEFAULT["base"]
    max_length: int = _DEFAULT["max_length"]  # tokens per window, special tokens and headline included
    max_sentence_tokens: int = _DEFAULT["max_sentence_tokens"]  # longer sentences are truncated inside a window
    max_title_tokens: int = _DEFAULT["max_title_tokens"]
    window_overlap: float = _DEFAULT["window_overlap"]  # share of a window's sentences repeated in the next window
    use_title: bool = _DEFAULT["use_title"]
    # Windows after the first also see the article's lead sentence (the main event, usually),
    # as context that is not classified again.
    lead_context: bool = _DEFAULT["lead_context"]
    # Each sentence also meets the headline: its vector times the headline's (and their cosine),
    # so "does this sentence tell the headline's event" is one step for the head (Choubey et al.
    # 2020 found the headline the strongest cue for the main event).
    headline_features: bool = _DEFAULT["headline_features"]
    position_features: bool = _DEFAULT["position_features"]
    # Where the sentence stands among the article's paragraphs (when the input has paragraphs).
    paragraph_features: bool = _DEFAULT["paragraph_features"]
    pooling: str = _DEFAULT["pooling"]  # mean | sep | mean+sep
    context_layer: str = _DEFAULT["context_layer"]  # gru | none: a BiGRU over the window's sentence vectors
    context_hidden: int = _DEFAULT["context_hidden"]
    dropout: float = _DEFAULT["dropout"]

    CHOICES = {"type": ("article", "sentence"), "pooling": ("mean", "sep", "mean+sep"), "context_layer": ("gru", "none")}
    RANGES = {
        "max_length": (16, 8192),
        "max_sentence_tokens": (4, 8192),
        "max_title_tokens": (0, 512),
        "window_overlap": (0.0, 0.9),
        "context_hidden": (8, 4096),
        "dropout": (0.0, 0.9),
    }

    @property
    def is_article(self) -> bool:
        return self.type == "article"
