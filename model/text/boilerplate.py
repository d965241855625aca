"""Boilerplate is not a role: bylines, photo credits, captions' credits, datelines of wire
services, "Reporting by ...; Editing by ..." lines are not story text (NewsDiscourse's NA lines).

A sentence is boilerplate when the model's auxiliary head gives its corpus label `NA` a probability
of at least `threshold`, or when it matches one of a few rules that are (almost) never story text
(measured on the corpus: benchmarks/boilerplate_detection.py). Such sentences get no role.
"""

from __future__ import annotations

import re

import numpy as np

NA_LABEL = "NA"
# High on purpose: a story sentence withheld is an error for its role. On validation with the default
# model, P(NA) >= 0.9 or a rule finds 70% of the NA lines and withholds no gold-role sentence; at 0.5,
# 79% but 9 story sentences (7 of them fact) (BENCHMARKS.md, boilerplate).
DEFAULT_THRESHOLD = 0.9
REASON = "boilerplate"

# Whole-line patterns, each checked on NewsDiscourse train + validation: every match there is an NA line.
RULES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^by (?-i:[A-Z][\w.'-]+( (and )?[A-Z][\w.'-]+){1,4})$",  # byline: "By Jon Herskovitz"
        r"^\((reuters|yonhap|ap|afp|xinhua|upi|bloomberg|dpa|kyodo)\)\.?$",  # a wire service's tag alone
        r"^\(?(additional )?(reporting|editing|writing|compiled|graphic) by\b",
        r"^reuters/[^ ]",  # photo credit: REUTERS/Name/File Photo
        r"\bvia reuters\.?$",
        r"^\(xinhua/[^)]*\)$",
        r"^source: xinhua\s*\|",
        r"^video player close$",
        r"^slideshow \(\d+ images?\)$",
        r"^file photo:",
        r"^e-mail: \S+@\S+$",
        r"^\(\$1 = [^)]*\)$",  # currency conversion note
        r"^\(.*\b(refiled|refilled)\b.*\)$",  # "(This story was refiled to ...)"
        r"^picture taken\b",
        r"^(back to top|advertisement|skip to main content)$",  # web page furniture (none in the corpus)
        r"^\[?[\w-]+(\.[\w-]+)+/\S*\]?$",  # a bare link: [nyti.ms/2NnLG66]
    )
)


def matches_rule(text: str) -> bool:
    """Whether a sentence's text is boilerplate by one of the rules."""
    text = text.strip()
    return any(rule.search(text) for rule in RULES)


def na_column(aux_labels: list[str] | None) -> int | None:
    """Index of the `NA` corpus label among a model's auxiliary labels, or None (no such head)."""
    labels = list(aux_labels or [])
    return labels.index(NA_LABEL) if NA_LABEL in labels else None


def boilerplate_mask(
    texts: list[str], na_probs: np.ndarray | None, threshold: float = DEFAULT_THRESHOLD, rules: bool = True
) -> np.ndarray:
    """Per sentence, whether it is boilerplate: P(NA) >= threshold (when the model gives P(NA)) or a rule."""
    mask = np.zeros(len(texts), dtype=bool)
    if na_probs is not None:
        mask |= np.asarray(na_probs, dtype=float) >= threshold
    if rules:
        mask |= np.array([matches_rule(t) for t in texts], dtype=bool)
    return mask
