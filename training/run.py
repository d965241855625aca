"""`newsroles train` as a plain function: config in, complete model folder out.

`train_from_config` is the list of steps a run takes, each a function below:

1. `prepare`: seed every generator, resolve a packaged base model, find a final fit's selection run
   and check its settings against it, find the checkpoint, check the trackers' packages;
2. `load_data`: the train and dev splits and the label set, then what joins the batches: a final
   fit's dev articles, the teacher's soft labels, unlabeled stories, auxiliary corpora;
3. `build`: a fresh classifier on the base encoder, or the parent model to fine-tune further;
4. `train_model`: the loop (training/trainer.py), scoring dev after each epoch;
5. `score`: the kept epoch's dev metrics and the records of what the run added;
6. `calibrate`: label biases and temperature tuned on dev, or a final fit's from its selection run;
7. `save`: the trackers' final figures, then the model folder with its card; the checkpoint goes.

Under `accelerate launch` or `torchrun` every process takes steps 1 to 4 and only the main one goes
on (training/distributed.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer

from newsroles.model.article import Article, labeled_sentences
from newsroles.model.network.base import hub_id, resolve_base_model
from newsroles.model.cards.card import finish_version, write_card
from newsroles.model.network.attention_dropout import with_attention_dropout
from newsroles.model.network.classifier import SentenceRoleModel, fp32_encoder
from newsroles.model.network.encoder_layers import keep_first_layers
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.store.folder import MANIFEST
from newsroles.model.labels import load_mapping
from newsroles.model.store.packages import find_package
from newsroles.model.store.registry import next_free_dir, resolve_path, version_info
from newsroles.model.network.saved import load_transformer, save_transformer
from newsroles.model.spec import packaged_default_config
from newsroles.training.baseline import train_baseline
from newsroles.training.checkpoint import remove_checkpoint
from newsroles.training.config import RunConfig
from newsroles.training.data.auxiliary import Auxiliary, add_auxiliary, check_parent_head
from newsroles.training.data.readers import read_articles
from newsroles.training.data.sentence_tables import HUB_PREFIX, data_fingerprint
from newsroles.training.distributed import end_processes, is_main_process
from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions
from newsroles.training.recipes.distill import Distillation, prepare_distillation
from newsroles.training.recipes.final_fit import Selection, finish_final_fit, merge_train_and_dev, prepare_final_fit
from newsroles.training.recipes.label_bias import labeled_log_probs, tune_label_bias
from newsroles.training.recipes.semi_supervised import UnlabeledPool, prepare_unlabeled
from newsroles.training.recipes.temperature import calibrate_temperature
from newsroles.training.tracking import check_trackers, final_values, finish, make_trackers
from newsroles.training.trainer import FitResult, fit, seed_everything


@dataclass
class Run:
    """What every step of one run reads: its config and where it keeps things."""

    config: RunConfig
    config_path: Path | None
    output: Path | None
    name: str  # the model's name: its folder under the models dir, its trackers' experiment
    checkpoint: Path
    resume: bool
    selection: Selection | None  # a final fit: the selection run whose settings it repeats


@dataclass
class RunData:
    """What a run trains on: the labeled articles and what joins them in the batches."""

    labels: list[str]
    aux_labels: list[str]  # the auxiliary head's columns
    train: list[Article]  # the labeled training articles (train + dev in a final fit)
    dev: list[Article] | None  # scored after each epoch; None in a final fit
    batches_from: list[Article]  # train, then the auxiliary corpora's articles
    distillation: Distillation | None
    unlabeled: UnlabeledPool | None
    auxiliary: Auxiliary | None


def train_from_config(
    config: RunConfig,
    config_path: str | Path | None = None,
    output: str | Path | None = None,
    progress: bool = True,
    resume: bool = False,
    final_from: str | Path | None = None,
) -> Path | None:
    """Fine-tune the configured model and write a complete model folder; returns its path.
    `final_from`: a selection run's model (a folder, id, name or name/version, looked up in the
    config's models_dir); train on train + dev (training/recipes/final_fit.py).

    Under `accelerate launch` or `torchrun` every process trains and only the main one writes the
    folder; the others return None (training/distributed.py)."""
    run = prepare(config, config_path, output, resume, final_from)
    data = load_data(run)
    model, tokenizer = build(run, data)
    result, tracking = train_model(run, data, model, tokenizer, progress)
    if not is_main_process():
        end_processes()
        return None
    metrics = score(data, result)
    calibrate(run, data, result, metrics)
    folder = save(run, data, result, tokenizer, metrics, tracking)
    end_processes()
    return folder


# ---------------------------------------------------------------------------------------------
# The steps, in order


def prepare(
    config: RunConfig, config_path: str | Path | None, output: str | Path | None, resume: bool, final_from: str | Path | None
) -> Run:
    """Everything checked and settled before any data is read: the seed, the base model, a final
    fit's settings (its epochs and name), the checkpoint to resume, the trackers' packages."""
    seed_everything(config.seed)
    base_from_package(config)
    selection = prepare_final_fit(config, resolve_path(final_from, config.models_dir)) if final_from is not None else None
    checkpoint = checkpoint_dir(config, config_path, output)
    if resume and not (checkpoint / "state.pt").is_file():
        raise UserError("no checkpoint to resume from; run without --resume to start afresh", checkpoint)
    check_trackers(config.train.report_to)  # a missing package: one line, before any work
    return Run(
        config=config,
        config_path=Path(config_path) if config_path else None,
        output=Path(output) if output else None,
        name=run_name(config, config_path),
        checkpoint=checkpoint,
        resume=resume,
        selection=selection,
    )


def load_data(run: Run) -> RunData:
    """The splits and the label set, then what joins the training batches. The teacher targets,
    stories and auxiliary corpora are checked here, before any model is built."""
    config = run.config
    labels, train, dev = read_splits(config, run.config_path)
    if run.selection is not None:
        train, dev = merge_train_and_dev(train, dev, labels, run.selection), None
    aux_labels = sorted({name for a in train for s in a.sentences for name in s.source_labels})
    distillation = prepare_distillation(config, train, labels)
    unlabeled = prepare_unlabeled(config, labels, distillation.targets if distillation is not None else None)
    # data.auxiliary: corpora whose articles join the batches and add only their auxiliary loss
    auxiliary, batches_from, aux_labels = add_auxiliary(config, train, aux_labels, len(labels), distillation)
    return RunData(labels, aux_labels, train, dev, batches_from, distillation, unlabeled, auxiliary)


def build(run: Run, data: RunData):
    """(model, tokenizer) to train; `data.aux_labels` becomes the built model's auxiliary columns
    (a parent model keeps its own, which must cover the auxiliary corpora's)."""
    model, tokenizer, data.aux_labels = build_model(run.config, data.labels, data.aux_labels)
    check_parent_head(run.config, data.aux_labels)
    return model, tokenizer


def train_model(run: Run, data: RunData, model: SentenceRoleModel, tokenizer, progress: bool) -> tuple[FitResult, dict]:
    """The training loop, dev scored after each epoch; returns its result and the trackers' record."""

    def evaluate(probs):
        gold, pred = gold_and_predictions(data.dev, probs, data.labels)
        return compute_metrics(gold, pred, data.labels)

    trackers, tracking = make_trackers(run.config, run.name)
    result = fit(
        run.config, model, tokenizer, data.batches_from, data.dev, data.labels, data.aux_labels, evaluate,
        progress=progress, checkpoint=run.checkpoint, resume=run.resume,
        soft_targets=data.distillation.soft if data.distillation is not None else None, unlabeled=data.unlabeled,
        trackers=trackers, auxiliary=data.auxiliary,
    )
    return result, tracking


def score(data: RunData, result: FitResult) -> dict:
    """metrics.json's start: the epochs' history, the kept epoch and its dev metrics, and the
    records of the teacher targets, stories and auxiliary corpora the run used."""
    metrics = {"history": result.history, "best_epoch": result.best_epoch}
    if data.distillation is not None:
        metrics["distillation"] = data.distillation.record
    if data.unlabeled is not None:
        metrics["unlabeled"] = data.unlabeled.record
    if data.auxiliary is not None:
        metrics["auxiliary"] = data.auxiliary.record  # the corpora of data.auxiliary: source, path, weight, counts
    if result.best_metrics is not None:
        metrics["dev"] = result.best_metrics
    return metrics


def calibrate(run: Run, data: RunData, result: FitResult, metrics: dict) -> None:
    """Install the label biases (train.tune_label_bias) and the temperature, tuned on the kept
    epoch's dev predictions, and add what they did to `metrics`. A final fit has no dev: it takes
    its selection run's, and says where its dev figures come from."""
    if result.best_metrics is not None:
        if run.config.train.tune_label_bias:
            metrics.update(tune_bias(result.model, data.dev, result.best_probs, data.labels))
        metrics["calibration"] = calibrate_temperature(result.model, data.dev, result.best_probs, data.labels)
    if run.selection is not None:
        metrics.update(finish_final_fit(result.model, run.selection, len(data.train)))


def save(run: Run, data: RunData, result: FitResult, tokenizer, metrics: dict, tracking: dict) -> Path:
    """Log the final figures and close the trackers, write the model folder (weights, config,
    metrics, data fingerprints, card) atomically, then remove the checkpoint: nothing is left to resume."""
    config = run.config
    tracking = finish(result.accelerator, tracking, final_values(metrics, result.seconds), result.steps)
    out = run.output or next_free_dir(default_output(config, run.config_path))
    with atomic_dir(out, overwrite=run.output is not None) as tmp:
        save_transformer(
            tmp,
            result.model.cpu(),
            tokenizer,
            labels=data.labels,
            aux_labels=data.aux_labels,
            config=config.to_dict(),
            metrics=metrics,
            data=data_record(config),
            extra={
                "base_model": config.model.base,
                "training_seconds": round(result.seconds, 1),
                "training_steps": result.steps,
                "training_precision": result.precision,
                "training_processes": result.processes,
                "hardware": hardware(),
                "torch": torch.__version__,
                **version_info(run.name, config.model.base),  # id, name, parent (when fine-tuned from a version)
                **({"tracking": tracking} if tracking else {}),  # where train.report_to logged the run
            },
        )
        write_card(tmp)
    remove_checkpoint(run.checkpoint)
    return out


# ---------------------------------------------------------------------------------------------
# The TF-IDF baseline: read, train, write


def baseline_from_config(config: RunConfig, config_path: str | Path | None = None, output: str | Path | None = None) -> Path:
    """Train the TF-IDF + logistic regression baseline on the configured data."""
    labels, train, dev = read_splits(config, config_path)
    present = labels_in_data(train)
    if len(present) < 2:
        raise UserError(f"the training data has only one label ({present[0]!r}); a classifier needs at least two", config.data.train)
    base_name = run_name(config, config_path) + "-tfidf"
    out = Path(output) if output else next_free_dir(default_output(config, None, name=base_name))
    options = {**vars(config.baseline), "seed": config.seed}
    recorded = {**config.to_dict(), "model": {"type": "tfidf"}}
    started = time.perf_counter()
    folder = train_baseline(train, dev, labels, options, out, recorded, data_record(config), overwrite=output is not None)
    # train_baseline takes no extra=: add the version info and the model card to the written folder.
    extra = {**version_info(base_name), "training_seconds": round(time.perf_counter() - started, 1), "hardware": hardware()}
    finish_version(folder, extra)
    return folder


# ---------------------------------------------------------------------------------------------
# What the steps use


def run_name(config: RunConfig, config_path: str | Path | None) -> str:
    """The config's name, else its file's stem, else "model"."""
    return config.name or (Path(config_path).stem if config_path else "model")


def resolve_labels(config: RunConfig) -> list[str] | None:
    """The model's label set: the mapping's labels, or None to take them from the training data."""
    return list(load_mapping(config.data.mapping).labels) if config.data.mapping else None


def labels_in_data(articles: list[Article]) -> list[str]:
    """The labels the data's sentences carry, in order of first appearance."""
    return list(dict.fromkeys(item.label for item in labeled_sentences(articles)))


def read_splits(config: RunConfig, config_path: str | Path | None) -> tuple[list[str], list[Article], list[Article] | None]:
    """(labels, train, dev): the label set is the mapping's, else the training data's."""
    if not config.data.train:
        raise UserError("no training data: set data.train in the config or pass --data.train PATH", config_path)
    labels = resolve_labels(config)
    train = load_split(config, labels, "train")
    dev = load_split(config, labels, "dev")
    return labels or labels_in_data(train), train, dev


def load_split(config: RunConfig, labels: list[str] | None, what: str) -> list[Article] | None:
    """The `what` split (data.train or data.dev): read and validated, every error naming file and line (or row)."""
    path = getattr(config.data, what)
    if path is None:
        return None
    if not str(path).startswith(HUB_PREFIX) and not Path(path).exists():
        raise UserError(f"{what} data not found (set data.{what} in the config or --data.{what} PATH)", path)
    articles = read_articles(path, labels, "the label mapping's labels", columns=config.data.columns)
    if next(labeled_sentences(articles), None) is None:
        raise UserError(f"the {what} data has no labeled sentences (every sentence's `label` is missing or null)", path)
    return articles


def data_record(config: RunConfig) -> dict:
    """Fingerprints that say whether two models saw the same data."""
    out = {}
    for split in ("train", "dev"):
        path = getattr(config.data, split)
        if path:
            out[split] = {"path": str(path), "sha256": data_fingerprint(path)}
    return out


def default_output(config: RunConfig, config_path: str | Path | None, name: str | None = None) -> Path:
    name = name or run_name(config, config_path)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(config.models_dir) / re.sub(r"[^\w.-]+", "-", name) / stamp


def hardware() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def base_from_package(config: RunConfig) -> None:
    """`model.base` naming an installed model package (`newsroles package`): fine-tune the model it
    holds, recorded by its folder (config.yaml says exactly what trained it)."""
    if config.model.base and not Path(config.model.base).exists():
        package = find_package(config.model.base)
        if package is not None:
            config.model = dataclasses.replace(config.model, base=str(package.folder()))


def build_model(config: RunConfig, labels: list[str], aux_labels: list[str]):
    """A fresh classifier on the base encoder, or, when `model.base` is a newsroles model folder,
    that model itself to fine-tune further (same architecture and label set)."""
    if (Path(config.model.base) / MANIFEST).is_file():
        model, tokenizer, manifest = load_transformer(config.model.base, torch.device("cpu"))
        if list(manifest["labels"]) != list(labels):
            raise UserError(f"parent model's labels {manifest['labels']} differ from the data's {labels}", config.model.base)
        config.model = dataclasses.replace(model.spec, base=config.model.base)
        with torch.no_grad():  # train at temperature 1; it is fitted again after training
            model.temperature.fill_(1.0)
        return model, tokenizer, list(manifest.get("aux_labels") or [])
    base = resolve_base_model(config.model.base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        # The base's own config with train.attention_dropout in it: the layers are built with it.
        base_config = with_attention_dropout(AutoConfig.from_pretrained(base), config.train.attention_dropout)
        encoder = fp32_encoder(AutoModel.from_pretrained(base, config=base_config))
    except OSError as exc:
        raise UserError(f"cannot load base model '{config.model.base}' ({str(exc).splitlines()[0]})")
    keep_first_layers(encoder, config.model.encoder_layers, f"base model '{config.model.base}'")
    has_aux = config.train.aux_weight > 0 or bool(config.data.auxiliary)
    model = SentenceRoleModel(encoder, config.model, len(labels), len(aux_labels) if has_aux else 0)
    return model, tokenizer, aux_labels if model.aux_head is not None else []


def layer_cut_notice(config: RunConfig) -> str | None:
    """A note for a run that cuts another base to the default's layer count: model.encoder_layers
    is inherited from the default config, whose choice was measured on MiniLM alone."""
    default = packaged_default_config()["model"]
    n = config.model.encoder_layers
    if n is None or n != default.get("encoder_layers") or hub_id(config.model.base) == hub_id(default["base"]):
        return None
    layers = _local_base_layers(config.model.base)
    if layers is not None and layers <= n:
        return None  # a local base with no more layers than that (as `newsroles adapt-base` writes): nothing is cut
    return (f"note: model.encoder_layers is {n}, the default's choice for {default['base']}: only the first {n} layers of "
            f"{config.model.base} are trained (--model.encoder_layers null keeps them all)")


def _local_base_layers(base: str) -> int | None:
    """The layer count a local base folder's config.json gives; None for a hub id or a shipped name."""
    path = Path(base).expanduser() / "config.json"
    try:
        layers = json.loads(path.read_text(encoding="utf-8")).get("num_hidden_layers")
    except (OSError, ValueError, AttributeError):
        return None
    return layers if isinstance(layers, int) else None


def checkpoint_dir(config: RunConfig, config_path: str | Path | None, output: str | Path | None) -> Path:
    """Where a run keeps its resumable state: beside an explicit output, else under the models dir."""
    if output is not None:
        output = Path(output)
        return output.with_name(f".{output.name}.checkpoint")
    return Path(config.models_dir) / ".checkpoints" / re.sub(r"[^\w.-]+", "-", run_name(config, config_path))


def tune_bias(model: SentenceRoleModel, dev: list[Article], probs: list, labels: list[str]) -> dict:
    """Tune and install per-label logit biases on dev; returns the metrics before and after."""
    bias, _, _ = tune_label_bias(*labeled_log_probs(dev, probs, labels))
    with torch.no_grad():
        model.label_bias.copy_(torch.as_tensor(bias, dtype=model.label_bias.dtype))
    shifted = [np.exp(np.log(p + 1e-12) + bias) for p in probs]
    gold_names, pred_names = gold_and_predictions(dev, [p / p.sum(axis=1, keepdims=True) for p in shifted], labels)
    return {
        "dev_before_bias": compute_metrics(*gold_and_predictions(dev, probs, labels), labels),
        "dev": compute_metrics(gold_names, pred_names, labels),
        "label_bias": {name: round(float(b), 3) for name, b in zip(labels, bias)},
    }
