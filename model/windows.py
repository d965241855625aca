"""Turning articles into encoder windows: the one code path training and inference share.

An article model reads consecutive sentences together: `[CLS] headline [SEP] s1 [SEP] s2 [SEP] ...`.
Articles longer than the encoder's window are covered by overlapping windows, and each sentence
takes its prediction from the window where it has the most context on both sides. A sentence
model is the same thing with exactly one sentence (and no headline) per window.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from newsroles.model.article import Article
from newsroles.model.spec import ModelSpec

POSITION_BUCKETS = 32  # sentence index embeddings; later sentences share the last bucket
N_POSITION_FEATURES = 4


@dataclass
class Window:
    article: int  # index of the article in the list being processed
    start: int  # first sentence (inclusive)
    end: int  # last sentence (exclusive)
    input_ids: list[int]
    spans: list[tuple[int, int]]  # token span of each sentence in input_ids, its separator excluded
    n_article_sentences: int


def tokenize_articles(tokenizer, articles: list[Article], spec: ModelSpec) -> list[tuple[list[int], list[list[int]]]]:
    """(headline ids, ids of each sentence) per article, without special tokens, truncated."""
    texts = [s.text for a in articles for s in a.sentences]
    per_sentence = max(1, min(spec.max_sentence_tokens, spec.max_length - 2))
    ids = tokenizer(texts, add_special_tokens=False, truncation=True, max_length=per_sentence)["input_ids"] if texts else []
    use_title = spec.is_article and spec.use_title and spec.max_title_tokens > 0
    titles = [a.title or "" for a in articles] if use_title else []
    title_ids = (
        tokenizer(titles, add_special_tokens=False, truncation=True, max_length=spec.max_title_tokens)["input_ids"]
        if titles
        else []
    )
    out, at = [], 0
    for i, article in enumerate(articles):
        n = len(article.sentences)
        out.append((title_ids[i] if title_ids else [], ids[at : at + n]))
        at += n
    return out


def build_windows(
    article_index: int, title_ids: list[int], sentence_ids: list[list[int]], spec: ModelSpec, cls_id: int, sep_id: int
) -> list[Window]:
    n = len(sentence_ids)
    prefix = [cls_id] + (title_ids + [sep_id] if title_ids else [])
    use_lead = spec.is_article and spec.lead_context and n > 1
    lead = sentence_ids[0][: max(1, (spec.max_length - len(prefix)) // 4)] + [sep_id] if use_lead else []
    windows: list[Window] = []
    start = 0
    while start < n:
        ids, spans, end = prefix + (lead if start > 0 else []), [], start
        budget = spec.max_length - len(ids)
        while end < n:
            if not spec.is_article and end > start:
                break  # sentence model: one sentence per window
            piece = sentence_ids[end][: max(1, budget - 1)]
            if end > start and len(ids) + len(piece) + 1 > spec.max_length:
                break
            spans.append((len(ids), len(ids) + len(piece)))
            ids.extend(piece)
            ids.append(sep_id)
            end += 1
        windows.append(Window(article_index, start, end, ids, spans, n))
        if end >= n:
            break
        step = max(1, round((end - start) * (1.0 - spec.window_overlap))) if spec.is_article else 1
        start = start + step
    return windows


def assign_owners(windows: list[Window], n_sentences: int) -> list[tuple[int, int]]:
    """For each sentence, (window index, position in window) of the window with the most context.

    Context on a side counts as complete where the window reaches the article's edge.
    """
    best: list[tuple[tuple[int, int], int, int] | None] = [None] * n_sentences
    for w_index, w in enumerate(windows):
        for k in range(w.start, w.end):
            left = k - w.start if w.start > 0 else n_sentences
            right = w.end - 1 - k if w.end < n_sentences else n_sentences
            score = (min(left, right), left + right)
            if best[k] is None or score > best[k][0]:
                best[k] = (score, w_index, k - w.start)
    return [(b[1], b[2]) for b in best]  # type: ignore[index]


def position_features(k: int, n: int) -> list[float]:
    return [k / (n - 1) if n > 1 else 0.0, float(k == 0), float(k == n - 1), 1.0 / (k + 1)]


def collate_windows(
    windows: list[Window],
    pad_id: int,
    labels: list[list[int]] | None = None,
    aux: list[list[list[float]]] | None = None,
) -> dict[str, torch.Tensor]:
    """Pad a batch of windows into tensors. `labels[i]`/`aux[i]` are per sentence of window i."""
    batch = len(windows)
    max_tokens = max(len(w.input_ids) for w in windows)
    max_sents = max(len(w.spans) for w in windows)
    input_ids = torch.full((batch, max_tokens), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, max_tokens), dtype=torch.long)
    pool = torch.zeros((batch, max_sents, max_tokens))
    sep_index = torch.zeros((batch, max_sents), dtype=torch.long)
    sent_mask = torch.zeros((batch, max_sents), dtype=torch.bool)
    pos_feats = torch.zeros((batch, max_sents, N_POSITION_FEATURES))
    pos_index = torch.zeros((batch, max_sents), dtype=torch.long)
    for b, w in enumerate(windows):
        input_ids[b, : len(w.input_ids)] = torch.tensor(w.input_ids)
        attention[b, : len(w.input_ids)] = 1
        for j, (lo, hi) in enumerate(w.spans):
            pool[b, j, lo:hi] = 1.0 / max(1, hi - lo)
            sep_index[b, j] = hi
            sent_mask[b, j] = True
            k = w.start + j
            pos_feats[b, j] = torch.tensor(position_features(k, w.n_article_sentences))
            pos_index[b, j] = min(k, POSITION_BUCKETS - 1)
    out = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "pool": pool,
        "sep_index": sep_index,
        "sentence_mask": sent_mask,
        "position_features": pos_feats,
        "position_index": pos_index,
    }
    if labels is not None:
        lab = torch.full((batch, max_sents), -100, dtype=torch.long)
        for b, row in enumerate(labels):
            lab[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        out["labels"] = lab
    if aux is not None:
        width = len(aux[0][0]) if aux and aux[0] else 0
        aux_t = torch.zeros((batch, max_sents, width))
        for b, rows in enumerate(aux):
            if rows:
                aux_t[b, : len(rows)] = torch.tensor(rows)
        out["aux_targets"] = aux_t
    return out
