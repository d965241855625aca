"""What a model is made of: the architecture settings stored in every model folder's config."""

from __future__ import annotations

from dataclasses import dataclass

from newsroles.model.base import DEFAULT_BASE_MODEL


@dataclass
class ModelSpec:
    # article: encode consecutive sentences together and classify each in context (Cohan et al. 2019);
    # sentence: one sentence per window, no context (the classic per-sentence classifier).
    type: str = "article"
    base: str = DEFAULT_BASE_MODEL
    max_length: int = 512  # tokens per window, special tokens and headline included
    max_sentence_tokens: int = 96  # longer sentences are truncated inside a window
    max_title_tokens: int = 24
    window_overlap: float = 0.5  # share of a window's sentences repeated in the next window
    use_title: bool = True
    # Windows after the first also see the article's lead sentence (the main event, usually),
    # as context that is not classified again.
    lead_context: bool = True
    # Each sentence also meets the headline: its vector times the headline's (and their cosine),
    # so "does this sentence tell the headline's event" is one step for the head (Choubey et al.
    # 2020 found the headline the strongest cue for the main event).
    headline_features: bool = False
    position_features: bool = True
    # Where the sentence stands among the article's paragraphs (when the input has paragraphs).
    paragraph_features: bool = False
    pooling: str = "mean"  # mean | sep | mean+sep
    context_layer: str = "gru"  # gru | none: a BiGRU over the window's sentence vectors
    context_hidden: int = 192
    dropout: float = 0.1

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
