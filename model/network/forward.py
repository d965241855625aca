"""Running a classifier over whole articles: windows in, one probability row per sentence out."""

from __future__ import annotations

import numpy as np
import torch

from newsroles.model.article import Article
from newsroles.model.batching import DEFAULT_BATCH_SIZE, run_windows
from newsroles.model.network.classifier import SentenceRoleModel
from newsroles.model.network.device import autocast, resolve_precision
from newsroles.model.errors import UserError
from newsroles.model.windows import Window, collate_windows


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
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    dtype = resolve_precision("auto", device)
    want_aux = aux_out is not None

    def run_batch(windows: list[Window]):
        batch = {k: v.to(device) for k, v in collate_windows(windows, pad_id, article_context=model.spec.article_context).items()}
        try:
            with autocast(device, dtype):
                logits, aux = model(batch)
        except (RuntimeError, MemoryError) as exc:
            if not is_out_of_memory(exc):
                raise
            raise out_of_memory_error(device, batch_size, batch_option) from None
        probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        aux_probs = torch.sigmoid(aux.float()).cpu().numpy() if want_aux and aux is not None else None
        return probs, aux_probs

    return run_windows(tokenizer, articles, model.spec, run_batch, model.head.out_features, batch_size, progress, aux_out)


class TorchRunner:
    """A PyTorch classifier (fp32, or an int8 / bf16 copy: model/network/runtimes.py) as a runner
    (model/loading.py): articles in, per-article probabilities out, on its device."""

    int8_kernel = None

    def __init__(self, model: SentenceRoleModel, tokenizer, device: torch.device):
        self.model = model
        self.tokenizer = tokenizer
        self.device = device

    def predict(self, articles: list[Article], batch_size: int | None = None, progress=None, aux_out: list | None = None):
        size = batch_size or DEFAULT_BATCH_SIZE.get(self.device.type, 32)
        return article_probabilities(self.model, self.tokenizer, articles, self.device, size, progress, aux_out=aux_out)
