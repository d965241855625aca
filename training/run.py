"""`newsroles train` as a plain function: config in, complete model folder out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import platform
import re
from pathlib import Path

import torch

from newsroles.model.article import Article, labeled_sentences
from newsroles.model.base import resolve_base_model
from newsroles.model.classifier import SentenceRoleModel, fp32_encoder
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.folder import MANIFEST
from newsroles.model.labels import load_mapping
from newsroles.training.config import RunConfig


def resolve_labels(config: RunConfig) -> list[str] | None:
    """The model's label set: the mapping's labels, or None to take them from the training data."""
    return list(load_mapping(config.data.mapping).labels) if config.data.mapping else None


def labels_in_data(articles: list[Article]) -> list[str]:
    """The labels the data's sentences carry, in order of first appearance."""
    return list(dict.fromkeys(item.label for item in labeled_sentences(articles)))


def load_split(config: RunConfig, labels: list[str] | None, what: str) -> list[Article] | None:
    """The `what` split (data.train or data.dev): read and validated, every error naming file and line (or row)."""
    from newsroles.training.data.readers import read_articles
    from newsroles.training.data.sentence_tables import HUB_PREFIX

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
    from newsroles.training.data.sentence_tables import data_fingerprint

    out = {}
    for split in ("train", "dev"):
        path = getattr(config.data, split)
        if path:
            out[split] = {"path": str(path), "sha256": data_fingerprint(path)}
    return out


def default_output(config: RunConfig, config_path: str | Path | None, name: str | None = None) -> Path:
    name = name or config.name or (Path(config_path).stem if config_path else "model")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(config.models_dir) / re.sub(r"[^\w.-]+", "-", name) / stamp


def hardware() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def base_from_package(config: RunConfig) -> None:
    """`model.base` naming an installed model package (`newsroles package`): fine-tune the model it
    holds, recorded by its folder (config.yaml says exactly what trained it)."""
    from newsroles.model.packages import find_package

    if config.model.base and not Path(config.model.base).exists():
        package = find_package(config.model.base)
        if package is not None:
            config.model = dataclasses.replace(config.model, base=str(package.folder()))


def build_model(config: RunConfig, labels: list[str], aux_labels: list[str]):
    """A fresh classifier on the base encoder, or, when `model.base` is a newsroles model folder,
    that model itself to fine-tune further (same architecture and label set)."""
    from transformers import AutoModel, AutoTokenizer

    from newsroles.model.encoder_layers import keep_first_layers

    if (Path(config.model.base) / MANIFEST).is_file():
        from newsroles.model.saved import load_transformer

        model, tokenizer, manifest = load_transformer(config.model.base, torch.device("cpu"))
        if list(manifest["labels"]) != list(labels):
            raise UserError(f"parent model's labels {manifest['labels']} differ from the data's {labels}", config.model.base)
        config.model = dataclasses.replace(model.spec, base=config.model.base)
        with torch.no_grad():  # hook: train at temperature 1; it is fitted again after training
            model.temperature.fill_(1.0)
        return model, tokenizer, list(manifest.get("aux_labels") or [])
    base = resolve_base_model(config.model.base)
    try:
        tokenizer = AutoTokenizer.from_pretrained(base)
        encoder = fp32_encoder(AutoModel.from_pretrained(base))
    except OSError as exc:
        raise UserError(f"cannot load base model '{config.model.base}' ({str(exc).splitlines()[0]})")
    keep_first_layers(encoder, config.model.encoder_layers, f"base model '{config.model.base}'")
    has_aux = config.train.aux_weight > 0 or bool(config.data.auxiliary)
    model = SentenceRoleModel(encoder, config.model, len(labels), len(aux_labels) if has_aux else 0)
    return model, tokenizer, aux_labels if model.aux_head is not None else []


def layer_cut_notice(config: RunConfig) -> str | None:
    """A note for a run that cuts another base to the default's layer count: model.encoder_layers
    is inherited from the default config, whose choice was measured on MiniLM alone."""
    from newsroles.model.base import hub_id
    from newsroles.model.spec import packaged_default_config

    default = packaged_default_config()["model"]
    n = config.model.encoder_layers
    if n is None or n != default.get("encoder_layers") or hub_id(config.model.base) == hub_id(default["base"]):
        return None
    return (f"note: model.encoder_layers is {n}, the default's choice for {default['base']}: only the first {n} layers of "
            f"{config.model.base} are trained (--model.encoder_layers null keeps them all)")


def checkpoint_dir(config: RunConfig, config_path: str | Path | None, output: str | Path | None) -> Path:
    """Where a run keeps its resumable state: beside an explicit output, else under the models dir."""
    if output is not None:
        output = Path(output)
        return output.with_name(f".{output.name}.checkpoint")
    name = config.name or (Path(config_path).stem if config_path else "model")
    return Path(config.models_dir) / ".checkpoints" / re.sub(r"[^\w.-]+", "-", name)


def tune_bias(model: SentenceRoleModel, dev: list[Article], probs: list, labels: list[str]) -> dict:
    """Tune and install per-label logit biases on dev; returns the metrics before and after."""
    import numpy as np

    from newsroles.training.recipes.label_bias import labeled_log_probs, tune_label_bias
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

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


def train_from_config(
    config: RunConfig,
    config_path: str | Path | None = None,
    output: str | Path | None = None,
    progress: bool = True,
    resume: bool = False,
    final_from: str | Path | None = None,
) -> Path | None:
    """Fine-tune the configured model and write a complete model folder; returns its path.
    `final_from`: a selection run's model folder; train on train + dev (training/recipes/final_fit.py).

    Under `accelerate launch` or `torchrun` every process trains and only the main one writes the
    folder; the others return None (training/distributed.py)."""
    from newsroles.model.saved import save_transformer
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions
    from newsroles.training.trainer import fit, seed_everything

    seed_everything(config.seed)
    base_from_package(config)
    selection = None
    if final_from is not None:  # hook: final fit (training/recipes/final_fit.py); sets epochs and name
        from newsroles.training.recipes.final_fit import prepare_final_fit

        selection = prepare_final_fit(config, final_from)
    checkpoint = checkpoint_dir(config, config_path, output)
    if resume and not (checkpoint / "state.pt").is_file():
        raise UserError("no checkpoint to resume from; run without --resume to start afresh", checkpoint)
    name = config.name or (Path(config_path).stem if config_path else "model")
    from newsroles.training.tracking import check_trackers

    check_trackers(config.train.report_to)  # a missing package: one line, before any work
    labels = resolve_labels(config)
    if not config.data.train:
        raise UserError("no training data: set data.train in the config or pass --data.train PATH", config_path)
    train = load_split(config, labels, "train")
    dev = load_split(config, labels, "dev")
    labels = labels or labels_in_data(train)
    if selection is not None:
        from newsroles.training.recipes.final_fit import merge_train_and_dev

        train, dev = merge_train_and_dev(train, dev, labels, selection), None
    aux_labels = sorted({name for a in train for s in a.sentences for name in s.source_labels})
    from newsroles.training.recipes.distill import prepare_distillation
    from newsroles.training.recipes.semi_supervised import prepare_unlabeled

    distillation = prepare_distillation(config, train, labels)  # hook: checks the teacher targets before any model is built
    unlabeled = prepare_unlabeled(config, labels, distillation.targets if distillation is not None else None)
    from newsroles.training.data.auxiliary import add_auxiliary, check_parent_head

    # hook: data.auxiliary, corpora whose articles join the batches and add only their auxiliary loss
    auxiliary, batches_from, aux_labels = add_auxiliary(config, train, aux_labels, len(labels), distillation)

    model, tokenizer, aux_labels = build_model(config, labels, aux_labels)
    check_parent_head(config, aux_labels)

    def evaluate(probs):
        gold, pred = gold_and_predictions(dev, probs, labels)
        return compute_metrics(gold, pred, labels)

    from newsroles.training.tracking import make_trackers

    trackers, tracking = make_trackers(config, name)
    result = fit(
        config, model, tokenizer, batches_from, dev, labels, aux_labels, evaluate, progress=progress, checkpoint=checkpoint, resume=resume,
        soft_targets=distillation.soft if distillation is not None else None, unlabeled=unlabeled, trackers=trackers,
    )
    from newsroles.training.distributed import end_processes, is_main_process

    if not is_main_process():
        end_processes()
        return None
    metrics = {"history": result.history, "best_epoch": result.best_epoch}
    if distillation is not None:
        metrics["distillation"] = distillation.record
    if unlabeled is not None:
        metrics["unlabeled"] = unlabeled.record
    if auxiliary is not None:
        metrics["auxiliary"] = auxiliary.record  # the corpora of data.auxiliary: source, path, weight, counts
    if result.best_metrics is not None:
        metrics["dev"] = result.best_metrics
        if config.train.tune_label_bias:
            metrics.update(tune_bias(result.model, dev, result.best_probs, labels))
        from newsroles.training.recipes.temperature import calibrate_temperature

        metrics["calibration"] = calibrate_temperature(result.model, dev, result.best_probs, labels)
    if selection is not None:
        from newsroles.training.recipes.final_fit import finish_final_fit

        metrics.update(finish_final_fit(result.model, selection, len(train)))

    from newsroles.training.tracking import final_values, finish

    tracking = finish(result.accelerator, tracking, final_values(metrics, result.seconds), result.steps)
    from newsroles.model.card import write_card
    from newsroles.model.registry import next_free_dir, version_info

    out = Path(output) if output else next_free_dir(default_output(config, config_path))
    with atomic_dir(out, overwrite=output is not None) as tmp:
        save_transformer(
            tmp,
            result.model.cpu(),
            tokenizer,
            labels=labels,
            aux_labels=aux_labels,
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
                **version_info(name, config.model.base),  # id, name, parent (when fine-tuned from a version)
                **({"tracking": tracking} if tracking else {}),  # where train.report_to logged the run
            },
        )
        write_card(tmp)
    from newsroles.training.checkpoint import remove_checkpoint

    remove_checkpoint(checkpoint)  # the model folder is complete: nothing left to resume
    end_processes()
    return out


def baseline_from_config(config: RunConfig, config_path: str | Path | None = None, output: str | Path | None = None) -> Path:
    """Train the TF-IDF + logistic regression baseline on the configured data."""
    import time

    from newsroles.model.card import finish_version
    from newsroles.model.registry import next_free_dir, version_info
    from newsroles.training.baseline import train_baseline

    if not config.data.train:
        raise UserError("no training data: set data.train in the config or pass --data.train PATH", config_path)
    labels = resolve_labels(config)
    train = load_split(config, labels, "train")
    dev = load_split(config, labels, "dev")
    labels = labels or labels_in_data(train)
    present = labels_in_data(train)
    if len(present) < 2:
        raise UserError(f"the training data has only one label ({present[0]!r}); a classifier needs at least two", config.data.train)
    base_name = (config.name or (Path(config_path).stem if config_path else "model")) + "-tfidf"
    out = Path(output) if output else next_free_dir(default_output(config, None, name=base_name))
    options = {**vars(config.baseline), "seed": config.seed}
    recorded = {**config.to_dict(), "model": {"type": "tfidf"}}
    started = time.perf_counter()
    folder = train_baseline(train, dev, labels, options, out, recorded, data_record(config), overwrite=output is not None)
    # train_baseline takes no extra=: add the version info and the model card to the written folder.
    extra = {**version_info(base_name), "training_seconds": round(time.perf_counter() - started, 1), "hardware": hardware()}
    finish_version(folder, extra)
    return folder
