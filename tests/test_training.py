"""Training really learns, saved models reload exactly, predictions do not depend on batching."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from newsroles.inference.predictor import load_labeler
from newsroles.model.batching import article_windows
from newsroles.model.windows import collate_windows
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from synthetic import synthetic_articles, write_splits


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_splits(tmp_path_factory.mktemp("synthetic"))


def config_for(tiny_base_model, data, **overrides):
    train, dev = data
    values = {
        "model.base": str(tiny_base_model),
        "data.train": str(train),
        "data.dev": str(dev),
        "train.epochs": "4",
        **overrides,
    }
    return load_config("configs/tiny.yaml", values)


@pytest.fixture(scope="module")
def article_model(tiny_base_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "article"
    return train_from_config(config_for(tiny_base_model, data), output=out, progress=False)


@pytest.mark.parametrize("model_type", ["article", "sentence"])
def test_training_learns_a_separable_task(tiny_base_model, data, tmp_path, model_type, article_model):
    if model_type == "article":
        folder = article_model
    else:
        config = config_for(tiny_base_model, data, **{"model.type": "sentence", "train.batch_size": "16"})
        folder = train_from_config(config, output=tmp_path / model_type, progress=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["dev"]["macro_f1"] > 0.9, metrics["history"]
    first, last = metrics["history"][0], metrics["history"][-1]
    assert last["loss"] < first["loss"]


def test_model_folder_is_complete_and_records_its_run(article_model):
    manifest = json.loads((article_model / "newsroles.json").read_text())
    assert manifest["kind"] == "transformer"
    assert manifest["labels"] == ["stance", "quote", "background", "fact"]
    assert manifest["aux_labels"] == sorted({"Speech", "Cause_General", "Main", "Distant_Historical", "Distant_Evaluation", "NA"})
    assert manifest["newsroles_version"]
    for name in ("model.safetensors", "config.yaml", "labels.json", "metrics.json", "data.json", "tokenizer_config.json"):
        assert (article_model / name).is_file(), name
    data = json.loads((article_model / "data.json").read_text())
    assert len(data["train"]["sha256"]) == 64
    assert "train:" in (article_model / "config.yaml").read_text()
    assert not list(article_model.parent.glob(".*.part")), "no temporary folder may be left behind"


def test_reloaded_model_predicts_the_same_whatever_the_batch_size(article_model):
    articles = synthetic_articles(6, seed=3)
    labeler = load_labeler(article_model, device="cpu")
    one = labeler.predict(articles, batch_size=1)
    many = load_labeler(article_model, device="cpu").predict(articles, batch_size=64)
    for a, b, article in zip(one, many, articles):
        assert a.shape == (len(article.sentences), 4)
        np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(a.sum(axis=1), 1.0, atol=1e-5)


def test_headline_features_learn_reload_and_do_without_a_headline(tiny_base_model, data, tmp_path):
    config = config_for(tiny_base_model, data, **{"model.headline_features": "true"})
    folder = train_from_config(config, output=tmp_path / "headline", progress=False)
    assert json.loads((folder / "metrics.json").read_text())["dev"]["macro_f1"] > 0.9
    labeler = load_labeler(folder, device="cpu")
    assert labeler.runner.model.use_headline
    articles = synthetic_articles(6, seed=3)
    articles[0].title = None  # the headline path is then all zeros, not NaN
    one, many = labeler.predict(articles, batch_size=1), labeler.predict(articles, batch_size=64)
    for a, b in zip(one, many):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, atol=1e-5)
    # The head reads the headline vector itself: blanking only that input changes the logits.
    windows, _ = article_windows(labeler.runner.tokenizer, articles[1:], labeler.runner.model.spec)
    batch = collate_windows(windows, labeler.runner.tokenizer.pad_token_id)
    with torch.inference_mode():
        logits, _ = labeler.runner.model(batch)
        blank, _ = labeler.runner.model({**batch, "title_pool": torch.zeros_like(batch["title_pool"])})
    assert not torch.allclose(logits, blank, atol=1e-4)


def test_same_seed_gives_the_same_model(tiny_base_model, data, tmp_path):
    config = config_for(tiny_base_model, data, **{"train.max_steps": "6", "train.epochs": "1"})
    a = train_from_config(config, output=tmp_path / "a", progress=False)
    b = train_from_config(config, output=tmp_path / "b", progress=False)
    articles = synthetic_articles(3, seed=5)
    pa = load_labeler(a, "cpu").predict(articles)
    pb = load_labeler(b, "cpu").predict(articles)
    for x, y in zip(pa, pb):
        np.testing.assert_allclose(x, y, atol=1e-6)


def test_fine_tuning_from_a_saved_model_continues_from_its_weights(tiny_base_model, data, article_model, tmp_path):
    config = config_for(tiny_base_model, data, **{"model.base": str(article_model), "train.max_steps": "2", "train.epochs": "1",
                                                 "train.learning_rate": "1e-6", "train.head_learning_rate": "1e-6"})
    child = train_from_config(config, output=tmp_path / "child", progress=False)
    manifest = json.loads((child / "newsroles.json").read_text())
    parent = json.loads((article_model / "newsroles.json").read_text())
    assert manifest["parent"] == parent["id"]
    # Two steps at a tiny learning rate: the child still scores like its parent, not like a fresh model.
    child_f1 = json.loads((child / "metrics.json").read_text())["dev"]["macro_f1"]
    assert child_f1 > 0.9


def test_label_bias_tuning_raises_dev_macro_f1_and_is_saved_in_the_model():
    import numpy as np

    from newsroles.training.recipes.label_bias import tune_label_bias

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, size=400)
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), gold] += 1.0
    logits[:, 2] -= 1.5  # label 2 is under-predicted
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    bias, before, after = tune_label_bias(log_probs, gold)
    assert after > before + 0.05
    assert bias[2] > bias[0] and bias[2] > bias[1]


def test_tuned_bias_travels_with_the_model_folder(article_model):
    metrics = json.loads((article_model / "metrics.json").read_text())
    assert set(metrics["label_bias"]) == {"stance", "quote", "background", "fact"}
    assert metrics["dev"]["macro_f1"] >= metrics["dev_before_bias"]["macro_f1"]
    labeler = load_labeler(article_model, device="cpu")
    saved = labeler.runner.model.label_bias.tolist()
    assert saved == pytest.approx([metrics["label_bias"][k] for k in labeler.labels], abs=1e-3)


def test_weight_average_follows_the_formula_and_restores_raw_weights():
    from newsroles.training.weight_average import WeightAverage

    layer = torch.nn.Linear(2, 1)
    with torch.no_grad():
        layer.weight.fill_(0.0)
    average = WeightAverage(layer, decay=0.5)
    with torch.no_grad():
        layer.weight.fill_(1.0)
    average.update(layer)  # first step: decay min(0.5, 2/11)
    expected = 1 - 2 / 11
    assert average.shadow["weight"].flatten().tolist() == pytest.approx([expected, expected])
    with average.applied(layer):
        assert layer.weight.flatten().tolist() == pytest.approx([expected, expected])
    assert layer.weight.flatten().tolist() == [1.0, 1.0], "the raw weights come back after the block"


def test_shifted_windows_differ_by_epoch_and_repeat_by_seed(tiny_base_model, data):
    import dataclasses

    from transformers import AutoTokenizer

    from newsroles.training.data.readers import read_articles
    from newsroles.training.examples import epoch_examples

    config = config_for(tiny_base_model, data, **{"train.shift_windows": "true", "train.epochs": "3", "model.max_length": "48"})
    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    articles = read_articles(data[0], ["stance", "quote", "background", "fact"])
    labels = ["stance", "quote", "background", "fact"]
    spec = dataclasses.replace(config.model, window_overlap=config.train.window_overlap)  # as fit() does
    plans = epoch_examples(config, tokenizer, articles, spec, labels, [])
    again = epoch_examples(config, tokenizer, articles, spec, labels, [])
    starts = [[(w.article, w.start) for w in plan.windows] for plan in plans]
    assert starts == [[(w.article, w.start) for w in plan.windows] for plan in again]
    assert starts[0] != starts[1] != starts[2]
    for plan in plans:  # every labeled sentence is trained on exactly once per epoch
        seen = sorted((w.article, w.start + j) for w in plan.windows for j in range(len(w.spans)))
        assert seen == sorted((i, k) for i, a in enumerate(articles) for k in range(len(a.sentences)))


def test_training_with_weight_average_and_shifted_windows_learns(tiny_base_model, data, tmp_path):
    config = config_for(tiny_base_model, data, **{"train.shift_windows": "true", "train.ema_decay": "0.9"})
    folder = train_from_config(config, output=tmp_path / "ema", progress=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["dev"]["macro_f1"] > 0.9, metrics["history"]
    for h in metrics["history"]:
        chosen = h["average_dev_macro_f1"] if h["weights"] == "average" else h["raw_dev_macro_f1"]
        assert h["dev_macro_f1"] == chosen == max(h["average_dev_macro_f1"], h["raw_dev_macro_f1"])


def test_precision_resolves_per_device_and_is_recorded(tiny_base_model, data, tmp_path):
    from newsroles.model.network.device import resolve_precision
    from newsroles.model.errors import UserError

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu, training=True) is None
    assert resolve_precision("bf16", cpu) is torch.bfloat16
    assert resolve_precision("auto", cpu) is None, "inference on a CPU stays fp32 unless asked"
    with pytest.raises(UserError, match="unknown precision"):
        resolve_precision("fp8", cpu)
    config = config_for(tiny_base_model, data, **{"train.precision": "bf16", "train.max_steps": "2", "train.epochs": "1"})
    folder = train_from_config(config, output=tmp_path / "bf16", progress=False)
    assert json.loads((folder / "newsroles.json").read_text())["training_precision"] == "bfloat16"


def test_every_training_step_runs_in_train_mode(tiny_base_model, data, tmp_path, monkeypatch):
    """Dropout is on for each step: the model arrives in eval mode, and scoring dev after an epoch turns it off."""
    from newsroles.training import trainer

    modes = []
    real_step = trainer.train_step

    def step(run, batch_ids, examples):
        modes.append(all(module.training for module in run.model.modules()))
        return real_step(run, batch_ids, examples)

    monkeypatch.setattr(trainer, "train_step", step)
    config = config_for(tiny_base_model, data, **{"train.epochs": "2"})
    train_from_config(config, output=tmp_path / "model", progress=False)
    assert len(modes) > 2 and all(modes)


def test_trains_from_a_parquet_sentence_table(tiny_base_model, data, tmp_path):
    """One row per sentence, rows shuffled, under other column names (data.columns), read through `datasets`."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    from newsroles.training.data.readers import read_articles

    rows = [
        {"doc": a.id, "position": i, "body": s.text, "role": s.label}
        for a in read_articles(data[0])
        for i, s in enumerate(a.sentences)
    ]
    random.Random(0).shuffle(rows)
    table = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows), table)
    columns = {"data.columns.article_id": "doc", "data.columns.text": "body", "data.columns.label": "role", "data.columns.order": "position"}
    config = config_for(tiny_base_model, (table, data[1]), **columns)
    folder = train_from_config(config, output=tmp_path / "from-parquet", progress=False)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["dev"]["macro_f1"] > 0.9, metrics["history"]
    assert json.loads((folder / "data.json").read_text())["train"]["path"] == str(table)


@pytest.mark.parametrize("class_weighting", ["none", "sqrt"])
def test_grad_accumulation_takes_the_same_step(tiny_base_model, data, class_weighting):
    """A batch computed in 3 parts moves the weights as the whole batch does (dropout off, so
    that both see the same network)."""
    from newsroles.training.run import build_model, load_split, resolve_labels
    from newsroles.training.trainer import make_setup, train_step

    results = []
    for parts in ("1", "3"):
        settings = {"train.grad_accumulation": parts, "train.precision": "fp32", "train.aux_weight": "0",
                    "train.class_weighting": class_weighting, "train.batch_size": "7"}
        config = config_for(tiny_base_model, data, **settings)
        labels = resolve_labels(config)
        train = load_split(config, labels, "train")
        torch.manual_seed(0)  # the same new head
        model, tokenizer, aux = build_model(config, labels, [])
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        run = make_setup(config, model, tokenizer, train, labels, aux)
        model.eval()
        loss = train_step(run, list(range(7)), run.plans[0])
        results.append((loss, {k: v.detach().clone() for k, v in model.state_dict().items()}))
    (whole_loss, whole), (parts_loss, in_parts) = results
    assert parts_loss == pytest.approx(whole_loss, rel=1e-5)
    assert any(not torch.equal(before[k], whole[k]) for k in whole), "the step changed the weights"
    # Adam's first step is about lr * sign(gradient) = 3e-3 per weight; where a gradient is near
    # Adam's eps, float rounding of the summed parts shows as a few 1e-6. 3e-5 is 1% of a step.
    for key in whole:
        torch.testing.assert_close(in_parts[key], whole[key], rtol=0, atol=3e-5)


def test_epoch_line_rounds_scores_for_people_and_keeps_every_field():
    from newsroles.training.trainer import epoch_line

    record = {"epoch": 2, "step": 303, "loss": 0.73524, "seconds": 921.54, "weights": "raw", "dev_macro_f1": 0.6423815320057246}
    line = epoch_line(record)
    assert line == "epoch 2: step=303, loss=0.7352, seconds=921.5, weights=raw, dev_macro_f1=0.6424"


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_layer_decay_slows_each_encoder_layer_below_the_top(tiny_base_model, data, decay):
    from newsroles.training.run import build_model, resolve_labels
    from newsroles.training.trainer import parameter_groups

    config = config_for(tiny_base_model, data, **{"train.layer_decay": str(decay), "train.learning_rate": "1e-4"})
    model, _, _ = build_model(config, resolve_labels(config), [])
    groups = parameter_groups(model, config.train)
    rate_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    names = dict(model.named_parameters())
    assert sorted(rate_of) == sorted(id(p) for p in names.values()), "every parameter in exactly one group"
    assert sum(len(g["params"]) for g in groups) == len(names)
    rate = {name: rate_of[id(p)] for name, p in names.items()}
    layers = model.encoder.config.num_hidden_layers  # 2 in the tiny base
    top = next(n for n in names if f"layer.{layers - 1}." in n)
    bottom = next(n for n in names if "layer.0." in n)
    embeddings = next(n for n in names if "embeddings" in n)
    assert rate[top] == pytest.approx(1e-4)
    assert rate[bottom] == pytest.approx(1e-4 * decay ** (layers - 1))
    assert rate[embeddings] == pytest.approx(1e-4 * decay**layers)
    assert rate["head.weight"] == config.train.head_learning_rate
    if decay == 1.0:  # the two groups of a model trained before the setting (checkpoints resume)
        assert len(groups) == 2


def test_a_base_saved_in_half_precision_trains_and_reloads_in_fp32(tiny_base_model, data, tmp_path):
    """Many hub checkpoints are saved in bf16 or fp16; the encoder must still meet the fp32 head."""
    from transformers import AutoModel, AutoTokenizer

    from newsroles.model.network.saved import load_transformer

    half = tmp_path / "bf16-base"
    AutoModel.from_pretrained(tiny_base_model).to(torch.bfloat16).save_pretrained(half)
    AutoTokenizer.from_pretrained(tiny_base_model).save_pretrained(half)
    config = config_for(tiny_base_model, data, **{"model.base": str(half), "train.epochs": "1", "train.max_steps": "2"})
    folder = train_from_config(config, output=tmp_path / "model", progress=False)
    encoder_config = json.loads((folder / "encoder" / "config.json").read_text())
    assert encoder_config.get("dtype", encoder_config.get("torch_dtype")) == "float32"
    model, _, _ = load_transformer(folder, torch.device("cpu"))
    assert {p.dtype for p in model.parameters()} == {torch.float32}


@pytest.mark.parametrize("value, expected", [("null", 0.1), ("0", 0.0), ("0.25", 0.25)])
def test_attention_dropout_builds_the_encoder_with_it(tiny_base_model, data, value, expected):
    """train.attention_dropout reaches every attention layer of a fresh base (null: the base's own
    0.1), and the encoder's config says it, so the saved folder rebuilds the same network."""
    from newsroles.training.run import build_model, resolve_labels

    config = config_for(tiny_base_model, data, **{"train.attention_dropout": value})
    model, _, _ = build_model(config, resolve_labels(config), [])
    attention = [m for name, m in model.encoder.named_modules() if name.endswith("attention.self")]
    assert len(attention) == model.encoder.config.num_hidden_layers
    assert [m.dropout.p for m in attention] == [expected] * len(attention)
    assert model.encoder.config.attention_probs_dropout_prob == expected
    # The hidden-state dropout is not the attention's: it stays the base's.
    assert model.encoder.config.hidden_dropout_prob == 0.1


def test_without_attention_dropout_training_steps_repeat_in_the_attention():
    """At 0 the attention is deterministic in training mode (so PyTorch may fuse it); at the base's
    0.1 two calls differ."""
    from transformers import BertConfig, BertModel

    from newsroles.model.network.attention_dropout import with_attention_dropout

    for p, same in ((0.0, True), (0.1, False)):
        config = with_attention_dropout(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                                   intermediate_size=64, hidden_dropout_prob=0.0), p)
        assert config.attention_probs_dropout_prob == p
        torch.manual_seed(0)
        encoder = BertModel(config).train()
        ids = torch.randint(5, 100, (2, 12))
        a, b = (encoder(input_ids=ids).last_hidden_state for _ in range(2))
        assert torch.equal(a, b) == same
    assert with_attention_dropout(BertConfig(), None).attention_probs_dropout_prob == 0.1
