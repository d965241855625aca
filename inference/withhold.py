"""Leaving a sentence unlabeled rather than labeling it wrong.

Two reasons: the sentence is boilerplate (a byline, a photo credit: not story text, so no role;
model/text/boilerplate.py), or the user asked for a minimum confidence (`newsroles label
--min-confidence P`) and the best role's probability is below it. Either way the sentence keeps its
confidence and scores, its `label` becomes None and its `reason` says why.
"""

from __future__ import annotations

import numpy as np

from newsroles.model.article import Article
from newsroles.model.text.boilerplate import REASON as BOILERPLATE

LOW_CONFIDENCE = "low confidence"


def withhold(article: Article, boilerplate: np.ndarray | None = None, min_confidence: float | None = None) -> int:
    """Unlabel `article`'s boilerplate sentences (mask `boilerplate`) and, when `min_confidence` is
    set, those whose confidence is below it. Returns how many sentences were left unlabeled."""
    n = 0
    for k, sentence in enumerate(article.sentences):
        if boilerplate is not None and boilerplate[k]:
            sentence.label, sentence.reason = None, BOILERPLATE
        elif min_confidence is not None and sentence.confidence is not None and sentence.confidence < min_confidence:
            sentence.label, sentence.reason = None, LOW_CONFIDENCE
        else:
            continue
        n += 1
    return n
