"""The sentence splitter, kept importable here: it lives in model/text/splitter.py so that training/ (the
corpus readers) can split text too without importing the inference layer."""

from newsroles.model.text.splitter import (  # noqa: F401
    Unit,
    __all__,
    article_from_text,
    normalize_lines,
    paragraph_units,
    sentence_spans,
    split_article,
    split_paragraphs,
    split_sentences,
    text_sentences,
)
