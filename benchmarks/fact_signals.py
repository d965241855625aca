"""Is there a cheap signal for fact that the default lacks? Word overlap with the headline and lead.

    python benchmarks/fact_signals.py    # seconds; needs data/newsdiscourse (make demo converts it)

Session 12 named "shares the main event's names with the lead" as the next lever for fact. Before
training with it, this measures on validation how well four such per-sentence counts tell fact from
the other roles *within* each band of positions (position alone the default already has): ROC AUC
of each count (0.5 = no signal), and a logistic regression on train with position features only
against position plus the four counts, scored on validation (fact against the rest).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
BANDS = [(0, 3), (3, 9), (9, 20), (20, 10_000)]
FEATURES = ("in headline", "in lead", "names in headline/lead", "centrality")

# Words too common to say which event a sentence is about.
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not now of off on once only or other our ours ourselves out over own said same says she should so some
    such than that the their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your yours yourself mr mrs
    ms one two new year years last first told according""".split()
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|\d[\d,.]*")
LEAD_SENTENCES = 2  # the lead: the article's first two sentences (a sentence of them is compared with the other)
N_OVERLAP_FEATURES = 4


def _stem(word: str) -> str:
    """A crude plural fold (attacks/attack, talks/talk): enough for overlap counts."""
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def content_words(text: str) -> tuple[set[str], set[str]]:
    """(content words, name-like words and numbers) of `text`, lowercased and folded.

    Name-like: capitalized words (also a sentence's first word, a small cost) and numbers, which
    say *which* event more than common words do."""
    words, names = set(), set()
    for token in _WORD.findall(text):
        lower = token.lower().strip("'-.,")
        if len(lower) < 3 or lower in STOPWORDS:
            continue
        folded = _stem(lower)
        words.add(folded)
        if token[0].isupper() or token[0].isdigit():
            names.add(folded)
    return words, names


def _share(part: set[str], whole: set[str]) -> float:
    return len(part & whole) / len(part) if part else 0.0


def overlap_features(title: str | None, sentences: list[str]) -> list[list[float]]:
    """Per sentence: share of its content words in the headline; in the lead (its other
    sentences); of its names and numbers in the headline or lead; and its centrality, the mean
    share of the article's other sentences that each of its content words occurs in."""
    parsed = [content_words(s) for s in sentences]
    title_words, title_names = content_words(title or "")
    n = len(sentences)
    document_frequency: dict[str, int] = {}
    for words, _ in parsed:
        for w in words:
            document_frequency[w] = document_frequency.get(w, 0) + 1
    rows = []
    for k, (words, names) in enumerate(parsed):
        lead_words, lead_names = set(), set()
        for j in range(min(LEAD_SENTENCES, n)):
            if j != k:
                lead_words |= parsed[j][0]
                lead_names |= parsed[j][1]
        others = max(1, n - 1)
        centrality = sum(document_frequency[w] - 1 for w in words) / (len(words) * others) if words else 0.0
        rows.append([
            _share(words, title_words),
            _share(words, lead_words),
            _share(names, title_names | lead_names),
            min(1.0, 4.0 * centrality),  # scaled: most words occur in a few of the other sentences at most
        ])
    return rows


def position_features(k: int, n: int) -> list[float]:
    """As the model's (model/windows.py): relative position, first, last, 1/(k+1)."""
    return [k / (n - 1) if n > 1 else 0.0, float(k == 0), float(k == n - 1), 1.0 / (k + 1)]


def load(path: Path):
    overlap, position, is_fact, index = [], [], [], []
    for line in path.read_text().splitlines():
        article = json.loads(line)
        sentences = article["sentences"]
        rows = overlap_features(article.get("title"), [s["text"] for s in sentences])
        for k, sentence in enumerate(sentences):
            if sentence.get("label") is None:
                continue
            overlap.append(rows[k])
            position.append(position_features(k, len(sentences)))
            is_fact.append(sentence["label"] == "fact")
            index.append(k)
    return np.array(overlap), np.array(position), np.array(is_fact), np.array(index)


def main() -> None:
    data = ROOT / "data" / "newsdiscourse"
    if not (data / "validation.jsonl").exists():
        sys.exit("data/newsdiscourse/validation.jsonl not found: run `make demo` (or `newsroles data convert`) first")
    train, dev = load(data / "train.jsonl"), load(data / "validation.jsonl")
    overlap, _, is_fact, index = dev
    print("| sentence index | scored | gold fact | " + " | ".join(f"AUC {name}" for name in FEATURES) + " |")
    print("|---|---:|---:|" + "---:|" * len(FEATURES))
    for lo, hi in BANDS:
        band = (index >= lo) & (index < hi)
        aucs = [roc_auc_score(is_fact[band], overlap[band, j]) for j in range(len(FEATURES))]
        name = f"{lo}+" if hi == 10_000 else f"{lo}-{hi - 1}"
        print(f"| {name} | {band.sum()} | {is_fact[band].sum()} | " + " | ".join(f"{a:.3f}" for a in aucs) + " |")
    print()
    late = index >= 3
    for name, columns in (("position only", lambda d: d[1]), ("position + overlap", lambda d: np.hstack([d[1], d[0]]))):
        model = LogisticRegression(max_iter=2000).fit(columns(train), train[2])
        scores = model.predict_proba(columns(dev))[:, 1]
        print(f"{name}: fact AUC {roc_auc_score(is_fact, scores):.3f} (sentences 3+: {roc_auc_score(is_fact[late], scores[late]):.3f})")


if __name__ == "__main__":
    main()
