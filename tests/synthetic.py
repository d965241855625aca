"""Synthetic labeled articles a small model can learn (each role has its own vocabulary), and a
stand-in encoder for comparing heads."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

from torch import nn

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


def renamed(articles: list[Article], prefix: str) -> list[Article]:
    """The articles with `prefix` before each id (ids unique across files, as a final fit or a
    teacher-targets file keyed by id needs), in place."""
    for article in articles:
        article.id = prefix + article.id
    return articles


def write_jsonl(articles: list[Article], path: Path) -> Path:
    path.write_text("".join(json.dumps(a.to_dict()) + "\n" for a in articles), encoding="utf-8")
    return path


def write_splits(folder: Path) -> tuple[Path, Path]:
    """A train split of 40 synthetic articles and a dev split of 12 in `folder`, as JSONL."""
    return write_jsonl(synthetic_articles(40, seed=1), folder / "train.jsonl"), write_jsonl(synthetic_articles(12, seed=2), folder / "dev.jsonl")


class FixedEncoder(nn.Module):
    """Stands in for an encoder: returns given hidden states, so that only the heads are compared."""

    def __init__(self, hidden):
        super().__init__()
        self.hidden = hidden
        self.config = SimpleNamespace(hidden_size=hidden.shape[-1])

    def forward(self, input_ids, attention_mask):
        return SimpleNamespace(last_hidden_state=self.hidden)
