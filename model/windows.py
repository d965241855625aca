"""Turning articles into encoder windows: the one code path training and inference share.

An article model reads consecutive sentences together: `[CLS] headline [SEP] s1 [SEP] s2 [SEP] ...`.
Articles longer than the encoder's window are covered by overlapping windows, and each sentence
takes its prediction from the window where it has the most context on both sides. A sentence
model is the same thing with exactly one sentence (and no headline) per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from newsroles.model.article import Article
from newsroles.model.spec import ModelSpec

if TYPE_CHECKING:
    import torch

POSITION_BUCKETS = 32  # sentence index embeddings; later sentences share the last bucket
POSITION_EMBEDDING_DIM = 16
N_POSITION_FEATURES = 4
N_PARAGRAPH_FEATURES = 5


@dataclass
class Window:
    article: int  # index of the article in the list being processed
    start: int  # first sentence (inclusive)
    end: int  # last sentence (exclusive)
    input_ids: list[int]
    spans: list[tuple[int, int]]  # token span of each sentence in input_ids, its separator excluded
    n_article_sentences: int
    features: list[list[float]] | None = None  # per sentence: position (and paragraph) features
    title_span: tuple[int, int] | None = None  # token span of the headline in input_ids


def tokenize_articles(tokenizer, articles: list[Article], spec: ModelSpec) -> list[tuple[list[int], list[list[int]]]]:
    """(headline ids, ids of each sentence) per article, without special tokens, truncated."""
    texts = [s.text for a in articles for s in a.sentences]
    per_sentence = max(1, min(spec.max_sentence_tokens, spec.max_length - 2))
    ids = _token_ids(tokenizer, texts, per_sentence)
    use_title = spec.is_article and spec.use_title and spec.max_title_tokens > 0
    titles = [a.title or "" for a in articles] if use_title else []
    title_ids = _token_ids(tokenizer, titles, spec.max_title_tokens)
    out, at = [], 0
    for i, article in enumerate(articles):
        n = len(article.sentences)
        out.append((title_ids[i] if title_ids else [], ids[at : at + n]))
        at += n
    return out


TOKENIZE_SLICE = 1024  # texts per tokenizer call: a huge article's encodings never all sit in memory at once


def _token_ids(tokenizer, texts: list[str], max_length: int) -> list[list[int]]:
    """Token ids of each text, without special tokens, truncated to `max_length`.

    Tokenized in slices: a fast tokenizer keeps offsets, masks and more for every text of a call,
    several kilobytes each, which for a 5 MB article would be hundreds of megabytes at once.
    """
    ids: list[list[int]] = []
    for at in range(0, len(texts), TOKENIZE_SLICE):
        ids.extend(
            tokenizer(
                texts[at : at + TOKENIZE_SLICE],
                add_special_tokens=False,
                truncation=True,
                max_length=max_length,
            )["input_ids"]
        )
    return ids


def build_windows(
    article_index: int,
    title_ids: list[int],
    sentence_ids: list[list[int]],
    spec: ModelSpec,
    cls_id: int,
    sep_id: int,
    first_share: float | None = None,
) -> list[Window]:
    """The windows covering one article. `first_share` (training only) cuts the first window to that
    share of the sentences it would hold, so the later windows start elsewhere: a random share per
    epoch shows each sentence with different neighbours and at different places in its window."""
    n = len(sentence_ids)
    prefix = [cls_id] + (title_ids + [sep_id] if title_ids else [])
    title_span = (1, 1 + len(title_ids)) if title_ids else None
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
        if first_share is not None and start == 0 and spec.is_article:
            keep = max(1, min(end, round(first_share * end)))
            ids, spans, end = ids[: spans[keep - 1][1] + 1], spans[:keep], keep
        windows.append(Window(article_index, start, end, ids, spans, n, title_span=title_span))
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
            score = context_score(w, k)
            if best[k] is None or score > best[k][0]:
                best[k] = (score, w_index, k - w.start)
    return [(b[1], b[2]) for b in best]  # type: ignore[index]


def context_score(w: Window, k: int) -> tuple[int, int]:
    """How much context sentence k has in window w: (the smaller side, both sides); an article edge counts as complete."""
    n = w.n_article_sentences
    left = k - w.start if w.start > 0 else n
    right = w.end - 1 - k if w.end < n else n
    return (min(left, right), left + right)


def article_layout(windows: list[Window], max_sents: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each article's sentences sit in a batch, for a context layer over whole articles.

    Returns (order, slot). order (articles, longest article): each article's sentences in article
    order, as flat indices into the batch's (windows x max_sents) grid, -1 past the article's end.
    slot (windows, max_sents): for each window sentence, its row in order's flattened grid (-1 for
    padding). A sentence that several windows read (overlap) enters the article's sequence once,
    from the window where it has the most context, and every copy gets that sequence's output.
    """
    groups: dict[int, list[int]] = {}
    for b, w in enumerate(windows):
        groups.setdefault(w.article, []).append(b)
    chosen: list[dict[int, tuple[tuple[int, int], int]]] = []  # per article: sentence -> (score, grid index)
    for rows in groups.values():
        best: dict[int, tuple[tuple[int, int], int]] = {}
        for b in rows:
            w = windows[b]
            for k in range(w.start, w.end):
                score = context_score(w, k)
                if k not in best or score > best[k][0]:
                    best[k] = (score, b * max_sents + k - w.start)
        chosen.append(best)
    longest = max((len(best) for best in chosen), default=0)
    order = np.full((len(chosen), max(longest, 1)), -1, dtype=np.int64)
    slot = np.full((len(windows), max_sents), -1, dtype=np.int64)
    for a, (rows, best) in enumerate(zip(groups.values(), chosen)):
        sentences = sorted(best)
        row_of = {k: a * order.shape[1] + i for i, k in enumerate(sentences)}
        order[a, : len(best)] = [best[k][1] for k in sentences]
        for b in rows:
            w = windows[b]
            slot[b, : w.end - w.start] = [row_of[k] for k in range(w.start, w.end)]
    return order, slot


def position_features(k: int, n: int) -> list[float]:
    return [k / (n - 1) if n > 1 else 0.0, float(k == 0), float(k == n - 1), 1.0 / (k + 1)]


def paragraph_features(paragraphs: list[int | None]) -> list[list[float]]:
    """Per sentence: known?, relative paragraph, first paragraph?, first/last sentence of its paragraph."""
    if any(p is None for p in paragraphs):
        return [[0.0] * N_PARAGRAPH_FEATURES for _ in paragraphs]
    last_paragraph = max(paragraphs) if paragraphs else 0
    out = []
    for k, p in enumerate(paragraphs):
        first = k == 0 or paragraphs[k - 1] != p
        last = k == len(paragraphs) - 1 or paragraphs[k + 1] != p
        out.append([1.0, p / last_paragraph if last_paragraph else 0.0, float(p == paragraphs[0]), float(first), float(last)])
    return out


def sentence_features(paragraphs: list[int | None], spec: ModelSpec) -> list[list[float]]:
    n = len(paragraphs)
    rows = [position_features(k, n) for k in range(n)]
    if spec.paragraph_features:
        rows = [a + b for a, b in zip(rows, paragraph_features(paragraphs))]
    return rows


def n_features(spec: ModelSpec) -> int:
    return N_POSITION_FEATURES + (N_PARAGRAPH_FEATURES if spec.paragraph_features else 0)


def collate_arrays(windows: list[Window], pad_id: int, article_context: bool = False) -> dict[str, np.ndarray]:
    """Pad a batch of windows into numpy arrays, each window to the batch's longest (not to
    max_length): what the encoder and head read, without torch (the ONNX path runs on these).
    `article_context`: also the batch's `article_layout` (article_order, article_slot)."""
    batch = len(windows)
    max_tokens = max(len(w.input_ids) for w in windows)
    max_sents = max(len(w.spans) for w in windows)
    input_ids = np.full((batch, max_tokens), pad_id, dtype=np.int64)
    attention = np.zeros((batch, max_tokens), dtype=np.int64)
    pool = np.zeros((batch, max_sents, max_tokens), dtype=np.float32)
    title_pool = np.zeros((batch, 1, max_tokens), dtype=np.float32)  # all zero where a window has no headline
    sep_index = np.zeros((batch, max_sents), dtype=np.int64)
    sent_mask = np.zeros((batch, max_sents), dtype=bool)
    width = len(windows[0].features[0]) if windows[0].features else N_POSITION_FEATURES
    pos_feats = np.zeros((batch, max_sents, width), dtype=np.float32)
    pos_index = np.zeros((batch, max_sents), dtype=np.int64)
    for b, w in enumerate(windows):
        n, k = len(w.input_ids), len(w.spans)
        input_ids[b, :n] = w.input_ids
        attention[b, :n] = 1
        if w.title_span is not None:
            lo, hi = w.title_span
            title_pool[b, 0, lo:hi] = 1.0 / (hi - lo)
        for j, (lo, hi) in enumerate(w.spans):
            pool[b, j, lo:hi] = 1.0 / max(1, hi - lo)
            sep_index[b, j] = hi
        sent_mask[b, :k] = True
        rows = w.features if w.features else [position_features(w.start + j, w.n_article_sentences) for j in range(k)]
        if k:
            pos_feats[b, :k] = rows
        pos_index[b, :k] = np.minimum(np.arange(w.start, w.start + k), POSITION_BUCKETS - 1)
    out = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "pool": pool,
        "title_pool": title_pool,
        "sep_index": sep_index,
        "sentence_mask": sent_mask,
        "position_features": pos_feats,
        "position_index": pos_index,
    }
    if article_context:
        out["article_order"], out["article_slot"] = article_layout(windows, max_sents)
    return out


def collate_windows(
    windows: list[Window],
    pad_id: int,
    labels: list[list[int]] | None = None,
    aux: list[list[list[float]]] | None = None,
    article_context: bool = False,
) -> dict[str, torch.Tensor]:
    """Pad a batch of windows into tensors. `labels[i]`/`aux[i]` are per sentence of window i."""
    import torch

    out = {k: torch.from_numpy(v) for k, v in collate_arrays(windows, pad_id, article_context).items()}
    batch, max_sents = out["sentence_mask"].shape
    if labels is not None:
        lab = torch.full((batch, max_sents), -100, dtype=torch.long)
        for b, row in enumerate(labels):
            lab[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        out["labels"] = lab
    if aux is not None:
        width = len(aux[0][0]) if aux and aux[0] else 0
        aux_t = torch.full((batch, max_sents, width), -1.0)  # padding slots: unknown, not targets of 0
        for b, rows in enumerate(aux):
            if rows:
                aux_t[b, : len(rows)] = torch.tensor(rows)
        out["aux_targets"] = aux_t
    return out
