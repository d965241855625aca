"""The article context layer (`model.context_layer: article`): a BiGRU over all of an article's
sentences, whichever window read them, so batches hold whole articles in training and labeling."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from newsroles.inference.predictor import load_labeler
from newsroles.model.batching import article_windows, batches_by_article
from newsroles.model.network.classifier import SentenceRoleModel
from newsroles.model.onnx_runtime import FastTokenizer
from newsroles.model.spec import ModelSpec
from newsroles.model.windows import article_layout, build_windows, collate_arrays
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from newsroles.training.trainer import shuffled_batches
from synthetic import FixedEncoder, synthetic_articles, write_splits

CLS, SEP = 101, 102
LABELS = ["stance", "quote", "background", "fact"]
HIDDEN = 32


def windows_of(article: int, n_sentences: int, overlap: float):
    spec = ModelSpec(max_length=6 * 4 + 1, window_overlap=overlap, lead_context=False, use_title=False)
    return build_windows(article, [], [[1000 + k] * 5 for k in range(n_sentences)], spec, CLS, SEP)


@pytest.mark.parametrize("overlap", [0.0, 0.5])
def test_layout_lists_each_sentence_once_in_order_and_every_copy_reads_it(overlap):
    windows = windows_of(0, 10, overlap) + windows_of(1, 3, overlap)
    assert len(windows) > 3
    max_sents = max(len(w.spans) for w in windows)
    order, slot = article_layout(windows, max_sents)
    assert order.shape == (2, 10)
    for a, n in ((0, 10), (1, 3)):
        flat = order[a][order[a] >= 0]
        sentence_at = [windows[i // max_sents].start + i % max_sents for i in flat]
        assert sentence_at == list(range(n)), "each sentence once, in article order"
        assert all(windows[i // max_sents].article == a for i in flat)
    assert (order[1, 3:] == -1).all()
    for b, w in enumerate(windows):
        for j in range(len(w.spans)):
            row = slot[b, j]
            a, i = divmod(int(row), order.shape[1])
            assert a == w.article and i == w.start + j, "every copy of a sentence reads its article's row"
        assert (slot[b, len(w.spans) :] == -1).all()


def test_labeling_batches_hold_whole_articles():
    windows = [w for a, n in enumerate([10, 3, 7, 1, 12]) for w in windows_of(a, n, 0.0)]
    batches = batches_by_article(windows, batch_size=4)
    assert sorted(i for b in batches for i in b) == list(range(len(windows)))
    for batch in batches:
        articles = {windows[i].article for i in batch}
        assert len(batch) <= 4 or len(articles) == 1, "only an article longer than a batch exceeds it"
        for a in articles:
            assert [i for i in batch if windows[i].article == a] == [i for i, w in enumerate(windows) if w.article == a]


def test_training_batches_keep_articles_whole_and_in_order():
    windows = [w for a, n in enumerate([10, 3, 7, 1, 12, 4, 4, 9, 2, 14]) for w in windows_of(a, n, 0.0)]
    batches = shuffled_batches(windows, 5, random.Random(3), whole_articles=True)
    assert sorted(i for b in batches for i in b) == list(range(len(windows)))
    for batch in batches:
        articles = [windows[i].article for i in batch]
        assert len(batch) <= 5 or len(set(articles)) == 1
        for a in set(articles):
            mine = [i for i in batch if windows[i].article == a]
            assert mine == [i for i, w in enumerate(windows) if w.article == a]
    plain = shuffled_batches(windows, 5, random.Random(3))  # without the layer: full batches of any windows
    assert sorted(len(b) for b in plain)[1:] == [5] * (len(plain) - 1)


@pytest.mark.parametrize("context_layer", ["article", "gru"])
def test_a_later_window_reads_the_first_only_with_the_article_layer(tiny_base_model, context_layer):
    spec = ModelSpec(base=str(tiny_base_model), max_length=48, max_sentence_tokens=24, max_title_tokens=8,
                     context_hidden=16, context_layer=context_layer)
    tokenizer = FastTokenizer(tiny_base_model)
    windows, _ = article_windows(tokenizer, synthetic_articles(2, seed=5), spec)
    first = [b for b, w in enumerate(windows) if w.article == 0]
    assert len(first) >= 2, "the test needs an article of several windows"
    arrays = collate_arrays(windows, tokenizer.pad_token_id, spec.article_context)
    batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
    torch.manual_seed(2)
    hidden = torch.randn(*arrays["input_ids"].shape, HIDDEN)
    changed = hidden.clone()
    changed[first[0]] += 1.0  # another first window of article 0
    outputs = []
    for states in (hidden, changed):
        torch.manual_seed(0)
        model = SentenceRoleModel(FixedEncoder(states), spec, len(LABELS)).eval()
        with torch.no_grad():
            outputs.append(model(batch)[0])
    later, other = first[1], [b for b, w in enumerate(windows) if w.article == 1]
    n = len(windows[later].spans)
    moved = not torch.allclose(outputs[0][later, :n], outputs[1][later, :n])
    assert moved == (context_layer == "article")
    torch.testing.assert_close(outputs[0][other], outputs[1][other], msg="another article's labels never move")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_splits(tmp_path_factory.mktemp("synthetic"))


def config_for(tiny_base_model, data, **overrides):
    train, dev = data
    values = {"model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev), "train.epochs": "4",
              "model.context_layer": "article", "model.max_length": "48", **overrides}
    return load_config("configs/tiny.yaml", values)


@pytest.fixture(scope="module")
def article_context_model(tiny_base_model, data, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "article-context"
    return train_from_config(config_for(tiny_base_model, data), output=out, progress=False)


def test_trains_and_labels_the_same_whatever_the_batch_size(article_context_model):
    metrics = json.loads((article_context_model / "metrics.json").read_text())
    assert metrics["dev"]["macro_f1"] > 0.9, metrics["history"]
    articles = synthetic_articles(6, seed=3)
    one = load_labeler(article_context_model, device="cpu").predict(articles, batch_size=1)
    many = load_labeler(article_context_model, device="cpu").predict(articles, batch_size=64)
    for a, b, article in zip(one, many, articles):
        assert a.shape == (len(article.sentences), 4)
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_an_onnx_export_labels_as_the_torch_model(article_context_model):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
    from newsroles.inference.export.exporter import export_model

    folder = export_model(article_context_model, runtime="onnx").folder
    articles = synthetic_articles(6, seed=11)
    got = load_labeler(folder).predict(articles, batch_size=3)
    want = load_labeler(article_context_model, device="cpu").predict(articles, batch_size=3)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_accumulated_parts_never_split_an_article(tiny_base_model, data):
    """With an article context layer, a step in 3 parts takes the same step as the whole batch."""
    from newsroles.training.run import build_model, load_split, resolve_labels
    from newsroles.training.trainer import make_setup, train_step

    results = []
    for parts in ("1", "3"):
        settings = {"train.grad_accumulation": parts, "train.precision": "fp32", "train.aux_weight": "0", "train.batch_size": "7"}
        config = config_for(tiny_base_model, data, **settings)
        labels = resolve_labels(config)
        train = load_split(config, labels, "train")
        torch.manual_seed(0)
        model, tokenizer, aux = build_model(config, labels, [])
        run = make_setup(config, model, tokenizer, train, labels, aux)
        model.eval()
        windows = run.plans[0].windows
        batch = [i for i, w in enumerate(windows) if w.article in (0, 1, 2)]
        assert len(batch) > 3, "articles of several windows"
        loss = train_step(run, batch, run.plans[0])
        results.append((loss, {k: v.detach().clone() for k, v in model.state_dict().items()}))
    (whole_loss, whole), (parts_loss, in_parts) = results
    assert parts_loss == pytest.approx(whole_loss, rel=1e-5)
    for key in whole:
        torch.testing.assert_close(in_parts[key], whole[key], rtol=0, atol=3e-5)


def test_labeling_encodes_a_long_article_in_chunks_with_the_same_result(article_context_model, monkeypatch):
    """A whole-article batch can hold many windows; without gradients the encoder reads them a
    few at a time, which changes nothing but the memory it takes."""
    from newsroles.model.network import classifier

    articles = synthetic_articles(1, seed=4)
    articles[0].sentences[1:1] = [s for a in synthetic_articles(6, seed=8) for s in a.sentences[:-1]]
    labeler = load_labeler(article_context_model, device="cpu")
    whole = labeler.predict(articles, batch_size=64)
    calls = []
    encoder = labeler.runner.model.encoder
    monkeypatch.setattr(classifier, "ENCODE_CHUNK", 2)
    monkeypatch.setattr(encoder, "forward", lambda *a, _f=encoder.forward, **k: calls.append(len(k["input_ids"])) or _f(*a, **k))
    chunked = labeler.predict(articles, batch_size=64)
    assert len(calls) > 2 and max(calls) <= 2
    np.testing.assert_allclose(chunked[0], whole[0], atol=1e-5)


def test_window_batches_run_the_encoder_whole(tiny_base_model, monkeypatch):
    """Only whole-article batches are read in chunks: a GPU's large batches of windows stay large."""
    from newsroles.model.network import classifier

    spec = ModelSpec(base=str(tiny_base_model), max_length=48, max_sentence_tokens=24, max_title_tokens=8, context_hidden=16)
    tokenizer = FastTokenizer(tiny_base_model)
    windows, _ = article_windows(tokenizer, synthetic_articles(3, seed=5), spec)
    arrays = collate_arrays(windows, tokenizer.pad_token_id)
    encoder = FixedEncoder(torch.zeros(*arrays["input_ids"].shape, HIDDEN))
    calls = []
    monkeypatch.setattr(encoder, "forward", lambda *a, _f=encoder.forward, **k: calls.append(len(k["input_ids"])) or _f(*a, **k))
    monkeypatch.setattr(classifier, "ENCODE_CHUNK", 2)
    with torch.no_grad():
        SentenceRoleModel(encoder, spec, len(LABELS)).eval()({k: torch.from_numpy(v) for k, v in arrays.items()})
    assert calls == [len(windows)] and len(windows) > 2
