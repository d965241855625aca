"""Fine-tuning a sentence-role classifier.

A plain PyTorch loop rather than Hugging Face's Trainer: the model takes variable-size windows
with per-sentence targets and is scored per article through the same windowing as inference,
so Trainer's collation and evaluation would have to be overridden anyway, and it would need
`accelerate`. The loop is small: AdamW, linear warm-up and decay, clipping, best-epoch keeping.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from newsroles.model.article import Article
from newsroles.model.classifier import SentenceRoleModel
from newsroles.model.device import resolve_device
from newsroles.model.errors import UserError
from newsroles.model.forward import article_probabilities, article_windows, is_out_of_memory, out_of_memory_error
from newsroles.model.windows import Window, collate_windows
from newsroles.training.checkpoint import (
    config_fingerprint,
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from newsroles.training.config import RunConfig


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


@dataclass
class TrainingExamples:
    windows: list[Window]
    labels: list[list[int]]  # per window, per sentence: label index or -100 (unlabeled)
    aux: list[list[list[float]]]  # per window, per sentence: multi-hot corpus labels, -1 rows = unknown


def make_examples(
    tokenizer, articles: list[Article], spec, labels: list[str], aux_labels: list[str], first_shares=None, tokens=None
) -> TrainingExamples:
    label_index = {name: i for i, name in enumerate(labels)}
    aux_index = {name: i for i, name in enumerate(aux_labels)}
    windows, _ = article_windows(tokenizer, articles, spec, first_shares=first_shares, tokens=tokens)
    window_labels, window_aux = [], []
    for w in windows:
        sentences = articles[w.article].sentences[w.start : w.end]
        window_labels.append([label_index[s.label] if s.label is not None else -100 for s in sentences])
        rows = []
        for s in sentences:
            row = [-1.0] * len(aux_labels)
            if s.source_labels:
                row = [0.0] * len(aux_labels)
                for name in s.source_labels:
                    if name in aux_index:
                        row[aux_index[name]] = 1.0
            rows.append(row)
        window_aux.append(rows)
    return TrainingExamples(windows, window_labels, window_aux)


def epoch_examples(config: RunConfig, tokenizer, train: list[Article], spec, labels, aux_labels) -> list[TrainingExamples]:
    """The training windows of each epoch: the same every epoch, or with `train.shift_windows` cut
    differently each epoch (from the seed and the epoch alone, so a resumed run sees the same)."""
    from newsroles.model.windows import tokenize_articles

    tc = config.train
    tokens = tokenize_articles(tokenizer, train, spec)
    if not (tc.shift_windows and spec.is_article):
        return [make_examples(tokenizer, train, spec, labels, aux_labels, tokens=tokens)] * tc.epochs
    out = []
    for epoch in range(1, tc.epochs + 1):
        draw = random.Random(f"window-shift-{config.seed}-{epoch}")
        shares = [draw.random() for _ in train]
        out.append(make_examples(tokenizer, train, spec, labels, aux_labels, first_shares=shares, tokens=tokens))
    return out


class WeightAverage:
    """An exponential moving average of a model's floating-point weights and buffers.

    The decay ramps up over the first steps, (1 + t) / (10 + t), so the average is not dominated by
    the initial head weights in a short run.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in model.state_dict().items():
            if name in self.shadow:
                self.shadow[name].mul_(decay).add_(value.detach(), alpha=1 - decay)

    def state(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def restore(self, state: dict) -> None:
        self.updates, self.shadow = state["updates"], state["shadow"]

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        """The averaged weights in `model` for the duration of the block, the raw ones after."""
        raw = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.shadow}
        model.load_state_dict(self.shadow, strict=False)
        try:
            yield model
        finally:
            model.load_state_dict(raw, strict=False)


def class_weights(articles: list[Article], labels: list[str], scheme: str) -> torch.Tensor | None:
    if scheme == "none":
        return None
    counts = np.array([sum(s.label == name for a in articles for s in a.sentences) for name in labels], dtype=float)
    counts = np.maximum(counts, 1.0)
    weights = counts.sum() / (len(labels) * counts)
    if scheme == "sqrt":
        weights = np.sqrt(weights)
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def role_loss(logits, targets, weights, focal_gamma: float, label_smoothing: float) -> torch.Tensor:
    logits, targets = logits.reshape(-1, logits.size(-1)), targets.reshape(-1)
    keep = targets != -100
    if not keep.any():
        return logits.sum() * 0.0
    logits, targets = logits[keep].float(), targets[keep]
    if focal_gamma <= 0:
        return nn.functional.cross_entropy(logits, targets, weight=weights, label_smoothing=label_smoothing)
    log_p = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).squeeze(1)
    loss = -((1 - log_p.exp()) ** focal_gamma) * log_p
    if weights is not None:
        w = weights[targets]
        return (loss * w).sum() / w.sum()
    return loss.mean()


def aux_loss(aux_logits, aux_targets) -> torch.Tensor:
    keep = aux_targets >= 0
    if aux_logits is None or not keep.any():
        return torch.zeros(())
    return nn.functional.binary_cross_entropy_with_logits(aux_logits.float()[keep], aux_targets[keep])


def shuffled_batches(windows: list[Window], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Random batches of similar-length windows: shuffle, sort within chunks, shuffle the batches."""
    order = list(range(len(windows)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for at in range(0, len(order), chunk):
        part = sorted(order[at : at + chunk], key=lambda i: len(windows[i].input_ids))
        batches.extend(part[b : b + batch_size] for b in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


@dataclass
class FitResult:
    model: SentenceRoleModel
    best_epoch: int
    history: list[dict]
    seconds: float
    steps: int
    best_metrics: dict | None = None  # dev metrics of the kept epoch
    best_probs: list | None = None  # its dev predictions
    precision: str = "float32"  # what the training steps computed in


def fit(
    config: RunConfig,
    model: SentenceRoleModel,
    tokenizer,
    train: list[Article],
    dev: list[Article] | None,
    labels: list[str],
    aux_labels: list[str],
    evaluate,
    progress: bool = True,
    checkpoint: Path | None = None,
    resume: bool = False,
) -> FitResult:
    """Train `model`; `evaluate(probs) -> metrics dict` scores dev predictions after each epoch.

    With `checkpoint`, the loop saves its state there every `train.checkpoint_steps` steps and
    after each epoch; `resume` continues from that state.
    """
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    from newsroles.model.device import autocast, resolve_precision

    tc = config.train
    device = resolve_device(tc.device)
    dtype = resolve_precision(tc.precision, device, training=True)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    model.to(device)
    train_spec = dataclasses.replace(model.spec, window_overlap=tc.window_overlap)
    plans = epoch_examples(config, tokenizer, train, train_spec, labels, aux_labels)
    if not plans[0].windows:
        raise UserError("the training data has no sentences", config.data.train)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    weights = class_weights(train, labels, tc.class_weighting)
    weights = weights.to(device) if weights is not None else None

    encoder_params = [p for n, p in model.named_parameters() if n.startswith("encoder.")]
    head_params = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": tc.learning_rate},
            {"params": head_params, "lr": tc.head_learning_rate},
        ],
        weight_decay=tc.weight_decay,
    )
    planned = sum(math.ceil(len(plan.windows) / tc.batch_size) for plan in plans)
    total_steps = planned if tc.max_steps is None else min(tc.max_steps, planned)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(tc.warmup_ratio * total_steps), total_steps)

    average = WeightAverage(model, tc.ema_decay) if tc.ema_decay > 0 else None
    rng = random.Random(config.seed)
    history: list[dict] = []
    best_score, best_state, best_epoch, best_metrics, best_probs = -1.0, None, 0, None, None
    step, elapsed, first_epoch, resume_batches, resume_at, resumed_losses = 0, 0.0, 1, None, 0, []
    fingerprint = config_fingerprint(config)
    if resume and checkpoint is not None:
        state = load_checkpoint(checkpoint, fingerprint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        restore_rng_states(state["rng"], rng)
        history, step, elapsed = state["history"], state["step"], state["elapsed"]
        best_score, best_state, best_epoch, best_metrics, best_probs = state["best"]
        first_epoch, resume_batches, resume_at = state["epoch"], state["batches"], state["batch_index"]
        resumed_losses = state["epoch_losses"]
        if average is not None:
            average.restore(state["weight_average"])
        if progress:
            tqdm.write(f"resuming at epoch {first_epoch}, step {step}", file=sys.stderr)

    def save(epoch: int, batches, batch_index: int, epoch_losses: list[float]) -> None:
        if checkpoint is None:
            return
        save_checkpoint(
            checkpoint,
            {
                "config_fingerprint": fingerprint,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": rng_states(rng),
                "history": history,
                "step": step,
                "elapsed": elapsed + time.perf_counter() - started,
                "best": (best_score, best_state, best_epoch, best_metrics, best_probs),
                "epoch": epoch,
                "batches": batches,
                "batch_index": batch_index,
                "epoch_losses": epoch_losses,
                "weight_average": average.state() if average is not None else None,
            },
        )

    started = time.perf_counter()
    for epoch in range(first_epoch, tc.epochs + 1):
        if step >= total_steps:
            break
        model.train()
        examples = plans[epoch - 1]
        losses: list[float] = []
        if resume_batches is not None:
            batches, begin, losses, resume_batches = resume_batches, resume_at, list(resumed_losses), None
        else:
            batches, begin = shuffled_batches(examples.windows, tc.batch_size, rng), 0
        bar = tqdm(total=len(batches), initial=begin, desc=f"epoch {epoch}/{tc.epochs}", unit="batch", disable=not progress, leave=False)
        for index in range(begin, len(batches)):
            batch_ids = batches[index]
            batch = collate_windows(
                [examples.windows[i] for i in batch_ids],
                pad_id,
                labels=[examples.labels[i] for i in batch_ids],
                aux=[examples.aux[i] for i in batch_ids] if aux_labels else None,
            )
            try:
                batch = {k: v.to(device) for k, v in batch.items()}
                with autocast(device, dtype):
                    logits, aux_logits = model(batch)
                loss = role_loss(logits, batch["labels"], weights, tc.focal_gamma, tc.label_smoothing)
                if aux_labels and tc.aux_weight > 0:
                    loss = loss + tc.aux_weight * aux_loss(aux_logits, batch["aux_targets"]).to(loss.device)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            except (RuntimeError, MemoryError) as exc:
                if not is_out_of_memory(exc):
                    raise
                bar.close()
                raise out_of_memory_error(device, tc.batch_size, "--train.batch_size", "training") from None
            if tc.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            optimizer.step()
            scheduler.step()
            if average is not None:
                average.update(model)
            step += 1
            losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            if step >= total_steps:
                break
            if tc.checkpoint_steps and step % tc.checkpoint_steps == 0:
                save(epoch, batches, index + 1, losses)
        bar.close()
        record = {
            "epoch": epoch,
            "step": step,
            "loss": round(float(np.mean(losses)), 5) if losses else None,
            "seconds": round(elapsed + time.perf_counter() - started, 1),
        }

        def dev_scores():
            probs = article_probabilities(
                model, tokenizer, dev, device, batch_size=tc.eval_batch_size, batch_option="--train.eval_batch_size"
            )
            return evaluate(probs), probs

        # With a weight average, both the raw and the averaged weights are scored on dev and the
        # better is the epoch's candidate (a choice on dev, like the choice of epoch).
        use_average = average is not None

        def kept():
            return average.applied(model) if use_average else contextlib.nullcontext()

        if dev:
            metrics, metrics_probs = dev_scores()
            if average is not None:
                with average.applied(model):
                    averaged, averaged_probs = dev_scores()
                record.update(raw_dev_macro_f1=metrics["macro_f1"], average_dev_macro_f1=averaged["macro_f1"])
                use_average = averaged["macro_f1"] >= metrics["macro_f1"]
                if use_average:
                    metrics, metrics_probs = averaged, averaged_probs
                record["weights"] = "average" if use_average else "raw"
            record.update(dev_macro_f1=metrics["macro_f1"], dev_accuracy=metrics["accuracy"])
            score = metrics["macro_f1"]
        else:
            metrics, metrics_probs, score = None, None, float(epoch)  # no dev set: keep the last epoch
        history.append(record)
        if progress:
            shown = ", ".join(f"{k}={v}" for k, v in record.items() if k != "epoch")
            tqdm.write(f"epoch {epoch}: {shown}", file=sys.stderr)
        if score > best_score:
            best_score, best_epoch, best_metrics, best_probs = score, epoch, metrics, metrics_probs
            with kept():
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        if epoch < tc.epochs and step < total_steps:
            save(epoch + 1, None, 0, [])
    if best_state is not None:
        model.load_state_dict(best_state)
    precision = str(dtype).replace("torch.", "") if dtype is not None else "float32"
    return FitResult(model, best_epoch, history, elapsed + time.perf_counter() - started, step, best_metrics, best_probs, precision)
