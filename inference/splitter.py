"""The sentence splitter, kept importable here: it lives in model/splitter.py so that training/ (the
corpus readers) can split text too without importing the inference layer."""

from newsroles.model.splitter import (  # noqa: F401
    __all__,
    article_from_text,
    sentence_spans,
    split_article,
    split_paragraphs,
    split_sentences,
)
