"""Synthetic labeled articles a small model can learn: each role has its own vocabulary."""

from __future__ import annotations

import json
import random
from pathlib import Path

from newsroles.model.article import Article, Sentence

PHRASES = {
    "quote": ["he said", "officials told reporters", "the spokesman said in a statement", "she said according to"],
    "fact": ["police killed people in an attack on monday", "the earthquake killed people", "the court vote was friday"],
    "background": ["years ago in 1998", "since 2018 the war", "earlier history of the talks", "last year the election"],
    "stance": ["analysts expected future talks", "it is likely analysts believe", "could be expected"],
}
SOURCE = {"quote": ["Speech", "Cause_General"], "fact": ["Main"], "background": ["Distant_Historical"], "stance": ["Distant_Evaluation"]}


def synthetic_articles(n: int, seed: int = 0) -> list[Article]:
    rng = random.Random(seed)
    articles = []
    for i in range(n):
        sentences = [Sentence("police killed people in an attack on monday", "fact", ["Main"])]
        for _ in range(rng.randint(3, 9)):
            role = rng.choice(sorted(PHRASES))
            filler = rng.choice(["the", "a", "it", "they"])
            sentences.append(Sentence(f"{filler} {rng.choice(PHRASES[role])} {filler}", role, list(SOURCE[role])))
        sentences.append(Sentence("reuters", None, ["NA"]))
        articles.append(Article(f"a{i}", sentences, title="police attack"))
    return articles


def write_jsonl(articles: list[Article], path: Path) -> Path:
    path.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in articles), encoding="utf-8")
    return path
