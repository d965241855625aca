"""Articles to windows to batches, and the batches' outputs back to one row per sentence.

The part of running a classifier that does not depend on how the network runs: PyTorch
(model/network/forward.py) and ONNX Runtime without torch (model/onnx_runtime.py) both call `run_windows`
with their own function for one batch.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from newsroles.model.article import Article
from newsroles.model.windows import Window, assign_owners, build_windows, sentence_features, tokenize_articles

# One batch's windows -> (probabilities (windows, sentences, labels), auxiliary probabilities or None).
BatchRunner = Callable[[list[Window]], "tuple[np.ndarray, np.ndarray | None]"]


# Windows per batch when the caller gives none, by device type.
DEFAULT_BATCH_SIZE = {"cpu": 32, "cuda": 128}


def article_windows(
    tokenizer, articles: list[Article], spec, first_shares: list[float] | None = None, tokens=None
) -> tuple[list[Window], list[list[tuple[int, int]]]]:
    """All windows of `articles` and, per article, each sentence's owning (window, position).

    `first_shares` (training only): per article, the share of its first window to keep (see
    build_windows). `tokens`: the articles' `tokenize_articles` output, when already at hand.
    """
    windows: list[Window] = []
    owners: list[list[tuple[int, int]]] = []
    tokens = tokens if tokens is not None else tokenize_articles(tokenizer, articles, spec)
    for i, (title_ids, sentence_ids) in enumerate(tokens):
        share = first_shares[i] if first_shares is not None else None
        own = build_windows(i, title_ids, sentence_ids, spec, tokenizer.cls_token_id, tokenizer.sep_token_id, share)
        features = sentence_features([s.paragraph for s in articles[i].sentences], spec)
        for w in own:
            w.features = features[w.start : w.end]
        offset = len(windows)
        owners.append([(offset + w, j) for w, j in assign_owners(own, len(sentence_ids))])
        windows.extend(own)
    return windows, owners


def batches_by_length(windows: list[Window], batch_size: int, max_batch_tokens: int | None = None) -> list[list[int]]:
    """Window indices grouped into batches of similar length, so padding is minimal."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    batches, current, longest = [], [], 0
    for i in order:
        longest_if_added = max(longest, len(windows[i].input_ids))
        too_many_tokens = max_batch_tokens is not None and current and longest_if_added * (len(current) + 1) > max_batch_tokens
        if len(current) >= batch_size or too_many_tokens:
            batches.append(current)
            current, longest_if_added = [], len(windows[i].input_ids)
        current.append(i)
        longest = longest_if_added
    if current:
        batches.append(current)
    return batches


def batches_by_article(windows: list[Window], batch_size: int) -> list[list[int]]:
    """Window indices in batches of whole articles (an article's windows together, in order), for a
    context layer over the article; articles of similar window length share a batch, and an article
    with more windows than `batch_size` is a batch of its own."""
    groups: dict[int, list[int]] = {}
    for i, w in enumerate(windows):
        groups.setdefault(w.article, []).append(i)
    by_length = sorted(groups.values(), key=lambda rows: max(len(windows[i].input_ids) for i in rows))
    batches: list[list[int]] = []
    for rows in by_length:
        if batches and len(batches[-1]) + len(rows) <= batch_size:
            batches[-1].extend(rows)
        else:
            batches.append(list(rows))
    return batches


def run_windows(
    tokenizer,
    articles: list[Article],
    spec,
    run_batch: BatchRunner,
    n_labels: int,
    batch_size: int = 32,
    progress=None,
    aux_out: list | None = None,
) -> list[np.ndarray]:
    """Per article, an (n_sentences, n_labels) array of probabilities, `run_batch` running each batch.

    Windows are tokenized once, sorted by length and padded to their batch's longest (not to the
    encoder's maximum length). `progress` gets the number of sentences each batch finished;
    `aux_out` (when given and the model has an auxiliary head) receives per article an
    (n_sentences, n_aux) array.
    """
    windows, owners = article_windows(tokenizer, articles, spec)
    window_probs: list[np.ndarray | None] = [None] * len(windows)
    window_aux: list[np.ndarray | None] = [None] * len(windows)
    # Overlapping windows read some sentences twice; progress counts each sentence once, in the
    # window whose prediction it keeps, so a bar's total is the number of sentences.
    owned = np.bincount([w for own in owners for w, _ in own], minlength=len(windows))
    if spec.article_context:
        batches = batches_by_article(windows, batch_size)
    else:
        batches = batches_by_length(windows, batch_size, max_batch_tokens=batch_size * 128)
    for batch_ids in batches:
        probs, aux_probs = run_batch([windows[i] for i in batch_ids])
        for row, i in enumerate(batch_ids):
            window_probs[i] = probs[row, : len(windows[i].spans)]
            if aux_out is not None and aux_probs is not None:
                window_aux[i] = aux_probs[row, : len(windows[i].spans)]
        if progress is not None:
            progress(int(owned[batch_ids].sum()))
    aux_width = next((x.shape[1] for x in window_aux if x is not None), None)
    out = []
    for article, own in zip(articles, owners):
        arr = np.zeros((len(article.sentences), n_labels), dtype=np.float32)
        for k, (w, j) in enumerate(own):
            arr[k] = window_probs[w][j]  # type: ignore[index]
        out.append(arr)
        if aux_out is not None and aux_width is not None:
            aux_out.append(np.array([window_aux[w][j] for w, j in own], dtype=np.float32).reshape(len(own), aux_width))
    return out
