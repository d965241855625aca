"""Running a classifier over whole articles: windows in, one probability row per sentence out."""

from __future__ import annotations

import numpy as np
import torch

from newsroles.model.article import Article
from newsroles.model.classifier import SentenceRoleModel
from newsroles.model.errors import UserError
from newsroles.model.windows import (
    Window,
    assign_owners,
    build_windows,
    collate_windows,
    sentence_features,
    tokenize_articles,
)


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


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` says the GPU (or the CPU allocator) ran out of memory."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    if isinstance(exc, RuntimeError):
        text = str(exc).lower()
        return "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    return False


def out_of_memory_error(device: torch.device, batch_size: int, option: str = "--batch-size", what: str = "labeling") -> UserError:
    """The UserError for running out of memory: what was being done, and the batch size to try."""
    if device.type == "cuda":
        try:
            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - the message matters more than freeing the cache
            pass
    subject = "the GPU ran out of memory" if device.type == "cuda" else "ran out of memory"
    if batch_size > 1:
        hint = f"retry with a smaller batch: {option} {max(1, batch_size // 2)}"
    else:
        hint = "the batch size is already 1: use a smaller model.max_length or a device with more memory"
    return UserError(f"{subject} {what} with batch size {batch_size}; {hint}")


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


@torch.inference_mode()
def article_probabilities(
    model: SentenceRoleModel,
    tokenizer,
    articles: list[Article],
    device: torch.device,
    batch_size: int = 32,
    progress=None,
    batch_option: str = "--batch-size",
    aux_out: list | None = None,
) -> list[np.ndarray]:
    """Per article, an (n_sentences, n_labels) array of probabilities.

    `progress`, when given, is called with the number of sentences each batch finished. Running out
    of memory is a UserError saying to retry with half the batch size, as `batch_option` sets it.
    On a GPU it runs in half precision (same answers up to rounding, about twice the throughput);
    on a CPU as the model is (fp32, or what an exported copy's runtime does).
    `aux_out`, when given (and the model has an auxiliary head), receives per article an
    (n_sentences, n_aux) array of the corpus labels' probabilities, e.g. P(NA) for boilerplate.
    """
    from newsroles.model.device import autocast, resolve_precision

    model.eval()
    spec = model.spec
    windows, owners = article_windows(tokenizer, articles, spec)
    window_probs: list[np.ndarray | None] = [None] * len(windows)
    window_aux: list[np.ndarray | None] = [None] * len(windows)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    dtype = resolve_precision("auto", device)
    for batch_ids in batches_by_length(windows, batch_size, max_batch_tokens=batch_size * 128):
        batch = collate_windows([windows[i] for i in batch_ids], pad_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        try:
            with autocast(device, dtype):
                logits, aux = model(batch)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            raise out_of_memory_error(device, batch_size, batch_option) from None
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        for row, i in enumerate(batch_ids):
            window_probs[i] = probs[row, : len(windows[i].spans)]
        if aux_out is not None and aux is not None:
            aux_probs = torch.sigmoid(aux.float()).cpu().numpy()
            for row, i in enumerate(batch_ids):
                window_aux[i] = aux_probs[row, : len(windows[i].spans)]
        if progress is not None:
            progress(sum(len(windows[i].spans) for i in batch_ids))
    n_labels = model.head.out_features
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
