"""Fine-tuning a sentence-role classifier.

A plain PyTorch loop rather than Hugging Face's Trainer: the model takes variable-size windows
with per-sentence targets and is scored per article through the same windowing as inference,
so Trainer's collation and evaluation would have to be overridden anyway. The loop is small:
AdamW, linear warm-up and decay, clipping, best-epoch keeping. Hugging Face Accelerate does the
rest (training/distributed.py): devices, mixed precision, DDP over processes and machines.

How to read it: `fit` is the loop. What a run trains with and never changes (model, optimizer,
schedule, data, device) is one `Setup`; everything the loop changes as it goes (step, epoch,
position in the epoch, history, best epoch) is one `LoopState`, which is also exactly what a
checkpoint holds and `--resume` restores. Each step of the loop is a plain function below it.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from accelerate.utils import gather_object
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from newsroles.model.article import Article
from newsroles.model.network.classifier import SentenceRoleModel
from newsroles.model.network.device import resolve_precision
from newsroles.model.errors import UserError
from newsroles.model.network.forward import article_probabilities, is_out_of_memory, out_of_memory_error
from newsroles.model.windows import Window, collate_windows
from newsroles.training.checkpoint import (
    config_fingerprint,
    load_checkpoint,
    restore_rng_states,
    rng_states,
    save_checkpoint,
)
from newsroles.training.config import RunConfig
from newsroles.training.data.auxiliary import loss_groups
from newsroles.training.distributed import make_accelerator, micro_batches, process_share, targets_weight
from newsroles.training.examples import TrainingExamples, epoch_examples
from newsroles.training.losses import class_weights, grouped_aux_loss, role_loss
from newsroles.training.recipes.distill import blend_distillation
from newsroles.training.tracking import close as close_trackers
from newsroles.training.tracking import epoch_values, hyperparameters
from newsroles.training.weight_average import WeightAverage


def epoch_line(record: dict) -> str:
    """One epoch's line as training prints it: scores to 4 decimals, seconds to 1 (metrics.json
    keeps the full values)."""

    def shown(key: str, value) -> str:
        if isinstance(value, float):
            return f"{value:.1f}" if key == "seconds" else f"{value:.4f}"
        return str(value)

    return f"epoch {record['epoch']}: " + ", ".join(f"{k}={shown(k, v)}" for k, v in record.items() if k != "epoch")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def shuffled_batches(windows: list[Window], batch_size: int, rng: random.Random, whole_articles: bool = False) -> list[list[int]]:
    """Random batches of similar-length windows: shuffle, sort within chunks, shuffle the batches.

    `whole_articles` (a context layer over the article): an article's windows stay together, in
    order, and a batch holds whole articles up to `batch_size` windows (a longer article alone)."""
    units = batch_units(list(range(len(windows))), windows, whole_articles)
    rng.shuffle(units)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for at in range(0, len(units), chunk):
        part = sorted(units[at : at + chunk], key=lambda unit: max(len(windows[i].input_ids) for i in unit))
        current: list[int] = []
        for unit in part:
            if current and len(current) + len(unit) > batch_size:
                batches.append(current)
                current = []
            current = current + unit
        if current:
            batches.append(current)
    rng.shuffle(batches)
    return batches


def batch_units(batch_ids: list[int], windows: list[Window], whole_articles: bool) -> list[list[int]]:
    """`batch_ids` as the pieces that may not be split: single windows, or each article's windows."""
    if not whole_articles:
        return [[i] for i in batch_ids]
    units: list[list[int]] = []
    for i in batch_ids:
        if units and windows[units[-1][-1]].article == windows[i].article:
            units[-1].append(i)
        else:
            units.append([i])
    return units


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
    processes: int = 1  # how many trained together (DDP)
    accelerator: object = None  # its trackers (train.report_to) are still open: training/tracking.py's finish closes them


@dataclass
class Setup:
    """What a run trains with: made once, before the first step, and never changed by the loop."""

    config: RunConfig
    model: SentenceRoleModel  # the plain model: dev scoring, weight averaging, checkpoints
    train_model: torch.nn.Module  # what the training steps call: the model, or its DDP wrapper
    accelerator: object  # accelerate.Accelerator
    tokenizer: object
    plans: list[TrainingExamples]  # one per epoch
    aux_labels: list[str]
    device: torch.device  # this process's
    dtype: torch.dtype | None  # autocast precision, None for fp32
    class_weights: torch.Tensor | None
    pad_id: int
    optimizer: torch.optim.Optimizer
    scheduler: object
    average: WeightAverage | None
    rng: random.Random  # batch order
    total_steps: int
    # (columns, weight) of each part of the auxiliary loss (training/data/auxiliary.py loss_groups).
    aux_groups: list = field(default_factory=list)


@dataclass
class Best:
    """The best epoch so far."""

    score: float = -1.0  # dev macro-F1 (the epoch number when there is no dev set)
    weights: dict | None = None  # on the CPU
    epoch: int = 0
    metrics: dict | None = None
    probs: list | None = None


@dataclass
class LoopState:
    """Everything the loop changes as it runs: what a checkpoint holds and `--resume` restores."""

    epoch: int = 1  # the epoch running, or the next one to run
    step: int = 0
    batches: list[list[int]] | None = None  # the epoch's batch order, once drawn
    batch_index: int = 0  # the next batch of it to train on
    losses: list[float] = field(default_factory=list)  # the epoch's batch losses so far
    history: list[dict] = field(default_factory=list)  # one record per finished epoch
    best: Best = field(default_factory=Best)
    elapsed: float = 0.0  # training seconds before this process took over (not counting `started`)
    started: float = field(default_factory=time.perf_counter)  # this process's clock, never saved

    def seconds(self) -> float:
        return self.elapsed + time.perf_counter() - self.started


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
    soft_targets: list[np.ndarray] | None = None,
    unlabeled=None,
    trackers: list | None = None,
    auxiliary=None,
) -> FitResult:
    """Train `model`; `evaluate(probs) -> metrics dict` scores dev predictions after each epoch.

    With `checkpoint`, the loop saves its state there every `train.checkpoint_steps` steps and
    after each epoch; `resume` continues from that state. `soft_targets`: per training article, a
    teacher's probabilities to distil (training/recipes/distill.py), or None. `unlabeled`: pseudo-labeled
    stories drawn into each epoch (training/recipes/semi_supervised.py), or None. `auxiliary`: the
    auxiliary corpora whose articles end `train` (training/data/auxiliary.py), or None. `trackers`
    (training/tracking.py) get the config, each step's loss and each epoch's scores; they stay open
    for the final figures unless the loop fails.
    """
    run = make_setup(config, model, tokenizer, train, labels, aux_labels, soft_targets, unlabeled, trackers, auxiliary)
    if trackers:
        run.accelerator.init_trackers("newsroles", config=hyperparameters(config.to_dict()))
    try:
        return _fit(run, config, model, dev, evaluate, progress, checkpoint, resume)
    except BaseException:
        close_trackers(run.accelerator)  # the logs so far stay readable
        raise


def _fit(run: Setup, config: RunConfig, model: SentenceRoleModel, dev, evaluate, progress: bool, checkpoint, resume: bool) -> FitResult:
    tc = config.train
    fingerprint = config_fingerprint(config)
    main = run.accelerator.is_main_process
    progress = progress and main
    state = LoopState()
    if resume and checkpoint is not None:  # every process loads it: they go on from the same state
        state = restore(run, load_checkpoint(checkpoint, fingerprint))
        if progress:
            tqdm.write(f"resuming at epoch {state.epoch}, step {state.step}", file=sys.stderr)

    def save() -> None:  # called by every process at the same steps
        if checkpoint is None:
            return
        dropout_rngs = process_rng_states(run)
        if main:
            save_checkpoint(checkpoint, checkpoint_state(run, state, fingerprint, dropout_rngs))

    state.started = time.perf_counter()
    for epoch in range(state.epoch, tc.epochs + 1):
        if state.step >= run.total_steps:
            break
        state.epoch = epoch
        if state.batches is None:  # a new epoch; a resumed one goes on in the order it had drawn
            state.batches = shuffled_batches(run.plans[epoch - 1].windows, tc.batch_size, run.rng, run.model.spec.article_context)
            state.batch_index, state.losses = 0, []
        train_epoch(run, state, progress, save)
        record = {
            "epoch": epoch,
            "step": state.step,
            "loss": round(float(np.mean(state.losses)), 5) if state.losses else None,
            "seconds": round(state.seconds(), 1),
        }
        # Dev is scored on the main process only (the others wait at the next step's all-reduce).
        score, metrics, probs, use_average = score_epoch(run, dev if main else None, evaluate, record)
        run.accelerator.log(epoch_values(record, metrics), step=state.step)  # no-op without trackers
        state.history.append(record)
        if progress:
            tqdm.write(epoch_line(record), file=sys.stderr)
        if score > state.best.score:
            state.best = Best(score, kept_weights(run, use_average), epoch, metrics, probs)
        state.epoch, state.batches, state.batch_index, state.losses = epoch + 1, None, 0, []
        if epoch < tc.epochs and state.step < run.total_steps:
            save()
    if state.best.weights is not None:
        model.load_state_dict(state.best.weights)
    precision = str(run.dtype).replace("torch.", "") if run.dtype is not None else "float32"
    best = state.best
    return FitResult(
        model, best.epoch, state.history, state.seconds(), state.step, best.metrics, best.probs, precision, run.accelerator.num_processes,
        run.accelerator,
    )


def parameter_groups(model: SentenceRoleModel, tc) -> list[dict]:
    """The optimizer's groups: the head at head_learning_rate; the encoder at learning_rate, each
    layer below the top at `layer_decay` times the rate of the layer above (embeddings lowest)."""
    n_layers = model.encoder.config.num_hidden_layers
    rates: dict[float, list] = {}
    head = []
    for name, param in model.named_parameters():
        if not name.startswith("encoder."):
            head.append(param)
            continue
        depth = encoder_depth(name, n_layers)  # 0 = embeddings, n_layers = the top layer and above
        rates.setdefault(tc.learning_rate * tc.layer_decay ** (n_layers - depth), []).append(param)
    groups = [{"params": params, "lr": lr} for lr, params in sorted(rates.items(), reverse=True)]
    return groups + [{"params": head, "lr": tc.head_learning_rate}]


def encoder_depth(name: str, n_layers: int) -> int:
    """How high an encoder parameter sits: 0 for the embeddings, i + 1 for layer i, n_layers for
    anything above the layers (a pooler), as BERT-, RoBERTa- and DeBERTa-style names say."""
    match = re.search(r"\.layers?\.(\d+)\.", name)
    if match:
        return int(match.group(1)) + 1
    return 0 if "embeddings" in name else n_layers


def make_setup(
    config: RunConfig, model: SentenceRoleModel, tokenizer, train: list[Article], labels: list[str], aux_labels: list[str],
    soft_targets: list[np.ndarray] | None = None,
    unlabeled=None,
    trackers: list | None = None,
    auxiliary=None,
) -> Setup:
    """The device, the epochs' examples, the optimizer (encoder and head at their own rates) and the schedule."""
    tc = config.train
    accelerator = make_accelerator(tc, trackers)
    device = accelerator.device
    dtype = resolve_precision(tc.precision, device, training=True)
    if tc.threads:
        torch.set_num_threads(tc.threads)
    # Places the model on this process's device and, under a launcher, wraps it in DDP. Accelerate
    # would also run every forward (dev scoring too) under autocast: undone, and train_step asks
    # for autocast itself, so that dev scoring stays fp32 as with one process.
    train_model = accelerator.prepare_model(model)
    accelerator.unwrap_model(train_model, keep_fp32_wrapper=False)
    train_spec = dataclasses.replace(model.spec, window_overlap=tc.window_overlap)
    plans = epoch_examples(config, tokenizer, train, train_spec, labels, aux_labels, soft_targets, unlabeled, auxiliary)
    if not plans[0].windows:
        raise UserError("the training data has no sentences", config.data.train)
    weights = class_weights(train, labels, tc.class_weighting)
    optimizer = torch.optim.AdamW(parameter_groups(model, tc), weight_decay=tc.weight_decay)
    optimizer = accelerator.prepare_optimizer(optimizer)  # the fp16 gradient scaler steps it
    # The steps the loop will take: its batches drawn as it will draw them (the same seed), since
    # whole-article batches (an article context layer) do not all fill to batch_size.
    draw = random.Random(config.seed)
    planned = sum(len(shuffled_batches(plan.windows, tc.batch_size, draw, model.spec.article_context)) for plan in plans)
    total_steps = planned if tc.max_steps is None else min(tc.max_steps, planned)
    return Setup(
        config=config,
        model=model,
        train_model=train_model,
        accelerator=accelerator,
        tokenizer=tokenizer,
        plans=plans,
        aux_labels=aux_labels,
        device=device,
        dtype=dtype,
        class_weights=weights.to(device) if weights is not None else None,
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
        optimizer=optimizer,
        # Not prepared by Accelerate (which would step it once per process): it counts global steps.
        scheduler=get_linear_schedule_with_warmup(optimizer.optimizer, int(tc.warmup_ratio * total_steps), total_steps),
        average=WeightAverage(model, tc.ema_decay) if tc.ema_decay > 0 else None,
        rng=random.Random(config.seed),
        total_steps=total_steps,
        aux_groups=loss_groups(config, aux_labels),
    )


def train_epoch(run: Setup, state: LoopState, progress: bool, save) -> None:
    """Train on the epoch's batches from `state.batch_index` on; `save()` every `checkpoint_steps` steps."""
    tc = run.config.train
    run.model.train()  # dropout on (scoring dev turns it off)
    bar = tqdm(
        total=len(state.batches), initial=state.batch_index, desc=f"epoch {state.epoch}/{tc.epochs}", unit="batch",
        disable=not progress, leave=False,
    )
    try:
        while state.batch_index < len(state.batches):
            state.losses.append(train_step(run, state.batches[state.batch_index], run.plans[state.epoch - 1]))
            state.step += 1
            if run.accelerator.trackers:
                run.accelerator.log({"train/loss": state.losses[-1], "train/learning_rate": run.scheduler.get_last_lr()[0]}, step=state.step)
            state.batch_index += 1
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(state.losses[-50:]):.3f}")
            if state.step >= run.total_steps:
                break
            if tc.checkpoint_steps and state.step % tc.checkpoint_steps == 0:
                save()
    finally:
        bar.close()


def known_targets(aux_rows: list[list[list[float]]]) -> int:
    """How many auxiliary targets these windows know (entries >= 0; -1 is unknown)."""
    return sum(v >= 0 for window in aux_rows for row in window for v in row)


def train_step(run: Setup, batch_ids: list[int], examples: TrainingExamples) -> float:
    """One optimizer step on the windows `batch_ids` (the global batch); returns the batch's loss.

    This process trains on its share of the batch, in `train.grad_accumulation` parts; each part's
    loss is weighted by its share of the batch's labeled sentences, so the gradients summed over
    parts and averaged over processes (DDP) are those of the whole batch (with one process and
    one part the weight is 1 and unused).
    """
    tc, acc = run.config.train, run.accelerator
    whole_articles = run.model.spec.article_context
    units = batch_units(batch_ids, examples.windows, whole_articles)  # an article context layer needs its whole article
    share_units = process_share(units, acc.process_index, acc.num_processes)
    share = [i for unit in share_units for i in unit]
    # A short last batch may leave a process nothing: it computes a window at weight 0, because
    # every process must join each step's gradient all-reduce.
    parts = [[i for unit in part for i in unit] for part in micro_batches(share_units or units[:1], tc.grad_accumulation)]
    whole_batch_here = len(parts) == 1 and acc.num_processes == 1  # weight 1: no total needed
    total = None if whole_batch_here else targets_weight([examples.labels[i] for i in batch_ids], run.class_weights)
    # With auxiliary corpora (data.auxiliary) a part may hold only their windows, nothing labeled:
    # the auxiliary loss is then weighted by the part's share of the batch's known auxiliary targets.
    aux_total = None if whole_batch_here or not run.config.data.auxiliary else known_targets([examples.aux[i] for i in batch_ids])
    run.optimizer.zero_grad(set_to_none=True)
    loss_sum = 0.0
    try:
        for k, part in enumerate(parts):
            if not share:
                weight = 0.0
            elif whole_batch_here:
                weight = 1.0
            elif total > 0:
                weight = acc.num_processes * targets_weight([examples.labels[i] for i in part], run.class_weights) / total
            else:  # nothing labeled in the whole batch: the loss is 0 anyway
                weight = acc.num_processes * len(part) / len(batch_ids)
            aux_weight = weight
            if aux_total is not None:
                aux_weight = acc.num_processes * known_targets([examples.aux[i] for i in part]) / aux_total if share and aux_total else 0.0
            batch = collate_windows(
                [examples.windows[i] for i in part],
                run.pad_id,
                labels=[examples.labels[i] for i in part],
                aux=[examples.aux[i] for i in part] if run.aux_labels else None,
                article_context=whole_articles,
            )
            batch = {key: v.to(run.device) for key, v in batch.items()}
            last = k == len(parts) - 1
            with contextlib.nullcontext() if last else acc.no_sync(run.train_model):  # all-reduce once, at the last part
                with acc.autocast():
                    logits, aux_logits = run.train_model(batch)
                loss = role_loss(logits, batch["labels"], run.class_weights, tc.focal_gamma, tc.label_smoothing)
                if examples.soft is not None:  # distillation: the teacher's soft labels share the role loss (training/recipes/distill.py)
                    loss = blend_distillation(loss, logits, batch["labels"], [examples.soft[i] for i in part], tc)
                scaled = loss if weight == 1.0 else loss * weight
                if run.aux_labels and run.aux_groups:  # the corpus's labels and any auxiliary corpora's targets
                    aux = grouped_aux_loss(aux_logits, batch["aux_targets"], run.aux_groups).to(loss.device)
                    scaled = scaled + (aux if aux_weight == 1.0 else aux * aux_weight)
                acc.backward(scaled)
            loss_sum += scaled.item() / acc.num_processes
    except (RuntimeError, MemoryError) as exc:
        if not is_out_of_memory(exc):
            raise
        raise out_of_memory_error(run.device, tc.batch_size, "--train.batch_size", "training") from None
    if tc.grad_clip > 0:
        acc.clip_grad_norm_(run.train_model.parameters(), tc.grad_clip)
    run.optimizer.step()
    run.scheduler.step()
    if run.average is not None:
        run.average.update(run.model)
    if acc.num_processes > 1:  # the whole batch's loss, for the log
        loss_sum = acc.reduce(torch.tensor(loss_sum, device=run.device), reduction="sum").item()
    return loss_sum


def score_epoch(run: Setup, dev: list[Article] | None, evaluate, record: dict) -> tuple[float, dict | None, list | None, bool]:
    """(score, dev metrics, dev predictions, whether the weight average is the epoch's candidate).

    With a weight average, both the raw and the averaged weights are scored on dev and the better
    is the epoch's candidate (a choice on dev, like the choice of epoch). Without a dev set, the
    score is the epoch number: the last epoch is kept. Adds the dev figures to `record`.
    """
    use_average = run.average is not None
    if not dev:
        return float(record["epoch"]), None, None, use_average
    metrics, probs = dev_scores(run, dev, evaluate)
    if run.average is not None:
        with run.average.applied(run.model):
            averaged, averaged_probs = dev_scores(run, dev, evaluate)
        record.update(raw_dev_macro_f1=metrics["macro_f1"], average_dev_macro_f1=averaged["macro_f1"])
        use_average = averaged["macro_f1"] >= metrics["macro_f1"]
        if use_average:
            metrics, probs = averaged, averaged_probs
        record["weights"] = "average" if use_average else "raw"
    record.update(dev_macro_f1=metrics["macro_f1"], dev_accuracy=metrics["accuracy"])
    return metrics["macro_f1"], metrics, probs, use_average


def dev_scores(run: Setup, dev: list[Article], evaluate) -> tuple[dict, list]:
    tc = run.config.train
    probs = article_probabilities(
        run.model, run.tokenizer, dev, run.device, batch_size=tc.eval_batch_size, batch_option="--train.eval_batch_size"
    )
    return evaluate(probs), probs


def kept_weights(run: Setup, use_average: bool) -> dict:
    """A CPU copy of the weights the epoch keeps: the averaged ones or the raw ones."""
    with run.average.applied(run.model) if use_average else contextlib.nullcontext():
        return copy.deepcopy({k: v.detach().cpu() for k, v in run.model.state_dict().items()})


# ---------------------------------------------------------------------------------------------
# Checkpoints: the LoopState and the Setup's changing parts, as plain data (training/checkpoint.py
# writes them atomically). The keys and the `best` tuple are the checkpoint format.


def process_rng_states(run: Setup) -> list | None:
    """Every process's torch generator (each draws its own dropout masks), when there are several."""
    if run.accelerator.num_processes == 1:
        return None
    return gather_object([torch.get_rng_state()])


def checkpoint_state(run: Setup, state: LoopState, fingerprint: str, process_rngs: list | None = None) -> dict:
    best = state.best
    return {
        "config_fingerprint": fingerprint,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "rng": rng_states(run.rng),
        "history": state.history,
        "step": state.step,
        "elapsed": state.seconds(),
        "best": (best.score, best.weights, best.epoch, best.metrics, best.probs),
        "epoch": state.epoch,
        "batches": state.batches,
        "batch_index": state.batch_index,
        "epoch_losses": state.losses,
        "weight_average": run.average.state() if run.average is not None else None,
        **({"process_rngs": process_rngs} if process_rngs is not None else {}),
    }


def restore(run: Setup, saved: dict) -> LoopState:
    """Put a checkpoint's weights, optimizer, schedule and random states back; returns its LoopState."""
    run.model.load_state_dict(saved["model"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.scheduler.load_state_dict(saved["scheduler"])
    restore_rng_states(saved["rng"], run.rng)
    process_rngs = saved.get("process_rngs")
    if process_rngs is not None and len(process_rngs) == run.accelerator.num_processes:
        torch.set_rng_state(process_rngs[run.accelerator.process_index])
    if run.average is not None:
        run.average.restore(saved["weight_average"])
    return LoopState(
        epoch=saved["epoch"],
        step=saved["step"],
        batches=saved["batches"],
        batch_index=saved["batch_index"],
        losses=list(saved["epoch_losses"]),
        history=saved["history"],
        best=Best(*saved["best"]),
        elapsed=saved["elapsed"],
    )
