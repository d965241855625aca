"""Auxiliary corpora as extra heads (data.auxiliary): config checks, reading, the masked target rows,
the weighted loss groups, and training with them on the tiny model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.training.config import load_config
from newsroles.training.data.auxiliary import load_auxiliary, loss_groups
from newsroles.training.examples import make_examples
from newsroles.training.losses import aux_loss, grouped_aux_loss

from corpora_miniature import A1, write_polnear, write_webis
from synthetic import synthetic_articles, write_jsonl, write_splits

CONTENT, CUE, SOURCE = "attribution.content", "attribution.cue", "attribution.source"
ATTRIBUTION = [CONTENT, CUE, SOURCE]


def config_with(tmp_path: Path, auxiliary: str, **overrides):
    text = "data:\n  train: train.jsonl\n  auxiliary:\n" + auxiliary
    path = tmp_path / "run.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, overrides), path


# ------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    "entry, line, message",
    [
        ("    - source: polnar\n      path: p\n", 4, "'data.auxiliary[0].source' must be one of ['polnear', 'webis'], got 'polnar'; did you mean 'polnear'?"),
        ("    - source: webis\n      path: p\n      weight: 11\n", 6, "'data.auxiliary[0].weight' must be between 0.0 and 10.0, got 11"),
        ("    - source: webis\n      path: p\n      wieght: 1\n", 6, "unknown key 'data.auxiliary[0].wieght'; did you mean 'data.auxiliary[0].weight'?"),
        ("    - source: webis\n", 4, "'data.auxiliary[0].path' is required"),
        ("    - source: webis\n      path: p\n    - source: polnear\n      path: q\n      annotators: all\n", 8,
         "'data.auxiliary[1].annotators' must be one of"),
    ],
)
def test_bad_auxiliary_config_names_the_key_and_line(tmp_path, entry, line, message):
    with pytest.raises(UserError) as info:
        config_with(tmp_path, entry)
    assert info.value.line == line
    assert info.value.message.startswith(message)


def test_a_bad_entry_given_on_the_command_line_says_so():
    with pytest.raises(UserError) as info:
        load_config(None, {"data.auxiliary": "[{source: polnar, path: x}]"})
    assert str(info.value) == (
        "'data.auxiliary[0].source' must be one of ['polnear', 'webis'], got 'polnar'; did you mean 'polnear'? "
        "(from a command-line override)"
    )
    with pytest.raises(UserError, match=r"^'data.auxiliary\[0\].path' is required \(from a command-line override\)$"):
        load_config(None, {"data.auxiliary": "[{source: webis}]"})


def test_auxiliary_config_defaults(tmp_path):
    config, _ = config_with(tmp_path, "    - source: polnear\n      path: p\n")
    [entry] = config.data.auxiliary
    assert (entry.weight, entry.annotators, entry.max_articles) == (0.3, "majority", None)
    assert load_config(None).data.auxiliary == []


# ------------------------------------------------------------------------------------------ reading


def test_load_auxiliary_reads_the_corpus_and_clears_labels(tmp_path):
    write_polnear(tmp_path / "polnear", {"a1": A1})
    config, _ = config_with(tmp_path, f"    - source: polnear\n      path: {tmp_path / 'polnear'}\n      weight: 0.5\n")
    aux = load_auxiliary(config)
    [article] = aux.articles
    assert article.id == "polnear:bridge"
    assert all(s.label is None and s.source_labels == [] for s in article.sentences)
    assert [s.targets[CONTENT] for s in article.sentences] == [0, 1, 1, 1, 0]
    assert aux.record == [
        {"source": "polnear", "path": str(tmp_path / "polnear"), "sha256": None, "weight": 0.5, "articles": 1, "sentences": 5,
         "per_epoch": 1}
    ]
    assert load_auxiliary(load_config(None)) is None


def test_max_articles_draws_a_seeded_subset(tmp_path):
    path = write_jsonl(aux_articles(20), tmp_path / "aux.jsonl")
    entry = f"    - source: polnear\n      path: {path}\n      max_articles: 5\n"
    ids = [a.id for a in load_auxiliary(config_with(tmp_path, entry)[0]).articles]
    assert len(ids) == 5 and ids == [a.id for a in load_auxiliary(config_with(tmp_path, entry)[0]).articles]
    other = [a.id for a in load_auxiliary(config_with(tmp_path, entry, seed="99")[0]).articles]
    assert ids != other  # the run's seed draws them
    assert ids != [f"polnear:x{i}" for i in range(5)]  # not simply the first ones (sorted by publisher in PolNeAR)


def test_per_epoch_draws_each_sources_articles_anew_each_epoch(tmp_path):
    polnear = write_jsonl(aux_articles(20), tmp_path / "polnear.jsonl")
    webis = write_webis(tmp_path / "webis") and tmp_path / "webis"
    entries = (f"    - source: polnear\n      path: {polnear}\n      per_epoch: 6\n"
               f"    - source: webis\n      path: {webis}\n")
    aux = load_auxiliary(config_with(tmp_path, entries)[0])
    n_webis = len(aux.articles) - 20
    assert aux.drawn and [r["per_epoch"] for r in aux.record] == [6, n_webis]
    epochs = [aux.draw(13, epoch) for epoch in (1, 2, 3)]
    for chosen in epochs:
        assert chosen == sorted(chosen) and len(chosen) == 6 + n_webis
        assert chosen[6:] == list(range(20, 20 + n_webis))  # webis (per_epoch 0): all of it every epoch
        assert max(chosen[:6]) < 20  # polnear's draw stays within its own articles
    assert len({tuple(c) for c in epochs}) == 3  # a new draw each epoch
    assert epochs[0] == aux.draw(13, 1) and epochs[0] != aux.draw(14, 1)  # from the seed and the epoch alone
    whole = load_auxiliary(config_with(tmp_path, entries.replace("per_epoch: 6", "per_epoch: 20"))[0])
    assert not whole.drawn and whole.draw(13, 1) == list(range(len(whole.articles)))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda t: write_webis(t / "webis") and t / "webis", "this looks like webis data, not polnear"),
        (lambda t: t / "missing", "polnear data not found"),
        (lambda t: write_jsonl(synthetic_articles(2), t / "nd.jsonl"), "article 'a0', sentence 1 has targets [], not this source's"),
    ],
)
def test_auxiliary_data_that_does_not_fit_is_refused(tmp_path, make, message):
    path = make(tmp_path)
    config, _ = config_with(tmp_path, f"    - source: polnear\n      path: {path}\n")
    with pytest.raises(UserError, match=r"data\.auxiliary\[0\]: " + message.replace("[", r"\[").replace("]", r"\]")):
        load_auxiliary(config)


def test_the_same_source_twice_is_refused(tmp_path):
    write_polnear(tmp_path / "p")
    entry = f"    - source: polnear\n      path: {tmp_path / 'p'}\n"
    with pytest.raises(UserError, match=r"data.auxiliary\[1\]: source 'polnear' is listed twice"):
        load_auxiliary(config_with(tmp_path, entry + entry)[0])


# ------------------------------------------------------------------------------------------ targets and loss


def test_rows_know_only_their_own_corpus_columns(tiny_base_model):
    from transformers import AutoTokenizer

    from newsroles.model.spec import ModelSpec

    nd = Article("nd", [Sentence("he said it", "quote", ["Speech", "Main"]), Sentence("reuters", None, [])])
    aux = Article("polnear:x", [Sentence("they said", None, targets={CONTENT: 1, CUE: 0.5, SOURCE: 0})])
    aux_labels = ["Main", "Speech", "Distant_Evaluation", *ATTRIBUTION]
    spec = ModelSpec(base=str(tiny_base_model), max_length=64, max_sentence_tokens=24, max_title_tokens=8)
    examples = make_examples(AutoTokenizer.from_pretrained(tiny_base_model), [nd, aux], spec, ["quote", "fact"], aux_labels)
    rows = [row for window in examples.aux for row in window]
    assert rows == [
        [1.0, 1.0, 0.0, -1.0, -1.0, -1.0],  # NewsDiscourse: its labels known, the attribution columns unknown
        [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0],  # no corpus labels: all unknown
        [-1.0, -1.0, -1.0, 1.0, 0.5, 0.0],  # PolNeAR: only its targets known
    ]
    assert [label for window in examples.labels for label in window] == [0, -100, -100]


def test_loss_groups_weigh_each_corpus_apart(tmp_path):
    labels = ["Main", "Speech", *ATTRIBUTION, "unit.assumption"]
    entries = "    - source: polnear\n      path: p\n      weight: 0.5\n"
    config, _ = config_with(tmp_path, entries, **{"train.aux_weight": "0.2"})
    assert loss_groups(config, labels) == [([0, 1, 5], 0.2), ([2, 3, 4], 0.5)]
    config, _ = config_with(tmp_path, entries, **{"train.aux_weight": "0"})
    assert loss_groups(config, [*ATTRIBUTION]) == [([0, 1, 2], 0.5)]
    plain = load_config(None, {"train.aux_weight": "0.3"})
    assert loss_groups(plain, ["Main", "Speech"]) == [([0, 1], 0.3)]  # as before: one loss over every column


def test_grouped_loss_is_the_weighted_sum_of_each_groups_masked_loss():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 5)
    targets = torch.tensor([[[1, 0, -1, -1, -1], [0, 1, -1, -1, -1], [-1, -1, 1, 0, 1]],
                            [[-1, -1, 0, 0, 1], [1, 1, -1, -1, -1], [-1, -1, -1, -1, -1]]], dtype=torch.float32)
    got = grouped_aux_loss(logits, targets, [([0, 1], 0.2), ([2, 3, 4], 3.0)])
    first = aux_loss(logits[..., :2], targets[..., :2])
    second = aux_loss(logits[..., 2:], targets[..., 2:])
    assert got.item() == pytest.approx(0.2 * first.item() + 3.0 * second.item(), rel=1e-6)
    # a masked entry changes nothing
    changed = logits.clone()
    changed[1, 2] = 100.0
    assert grouped_aux_loss(changed, targets, [([0, 1], 0.2), ([2, 3, 4], 3.0)]).item() == pytest.approx(got.item(), rel=1e-6)


# ------------------------------------------------------------------------------------------ training


def aux_articles(n: int, seed: int = 5) -> list[Article]:
    """Auxiliary articles in the synthetic vocabulary: quote phrases hold attribution content."""
    rng = random.Random(seed)
    quote = ["he said", "officials told reporters", "the spokesman said in a statement"]
    other = ["the earthquake killed people", "years ago in 1998", "analysts expected future talks"]
    articles = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(3, 6)):
            hit = rng.random() < 0.5
            text = f"{rng.choice(['the', 'a', 'it'])} {rng.choice(quote if hit else other)}"
            sentences.append(Sentence(text, None, targets={CONTENT: int(hit), CUE: int(hit), SOURCE: 0}))
        articles.append(Article(f"x{i}", sentences, title="police attack"))
    return articles


@pytest.fixture(scope="module")
def run_config(tiny_base_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("aux-data")
    train, dev = write_splits(folder)
    aux = write_jsonl(aux_articles(30), folder / "aux.jsonl")

    def make(weight: str = "1.0", **overrides):
        values = {
            "model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev), "train.epochs": "3",
            # a list from the command line, as YAML: --data.auxiliary '[{source: polnear, path: ...}]'
            "data.auxiliary": json.dumps([{"source": "polnear", "path": str(aux), "weight": float(weight)}]),
            **overrides,
        }
        return load_config("configs/tiny.yaml", values)

    return make


def test_an_auxiliary_only_batch_adds_just_its_weighted_auxiliary_loss(run_config):
    from newsroles.model.windows import collate_windows
    from newsroles.training.data.auxiliary import add_auxiliary
    from newsroles.training.run import build_model, load_split, resolve_labels
    from newsroles.training.trainer import make_setup, train_step

    losses = {}
    for weight in ("0.5", "2.0"):
        config = run_config(weight, **{"train.precision": "fp32", "train.batch_size": "3", "train.aux_weight": "0.3"})
        labels = resolve_labels(config)
        train = load_split(config, labels, "train")
        aux_labels = sorted({n for a in train for s in a.sentences for n in s.source_labels})
        _, articles, aux_labels = add_auxiliary(config, train, aux_labels, len(labels))
        torch.manual_seed(0)
        model, tokenizer, aux_labels = build_model(config, labels, aux_labels)
        run = make_setup(config, model, tokenizer, articles, labels, aux_labels)
        plan = run.plans[0]
        first_aux = next(i for i, w in enumerate(plan.windows) if articles[w.article].id.startswith("polnear:"))
        batch = [first_aux]
        model.eval()  # no dropout: the loss below sees the same network as the step
        collated = collate_windows([plan.windows[first_aux]], run.pad_id, labels=[plan.labels[first_aux]], aux=[plan.aux[first_aux]],
                                   article_context=model.spec.article_context)
        with torch.no_grad():
            _, aux_logits = model(collated)
        columns = [aux_labels.index(n) for n in ATTRIBUTION]
        expected = float(weight) * aux_loss(aux_logits[..., columns], collated["aux_targets"][..., columns]).item()
        losses[weight] = (train_step(run, batch, plan), expected)
    for got, expected in losses.values():
        assert got == pytest.approx(expected, rel=1e-5)  # no role loss, no NewsDiscourse-label loss
    assert losses["2.0"][0] == pytest.approx(4 * losses["0.5"][0], rel=1e-5)


def test_each_epoch_trains_on_every_labeled_article_and_its_drawn_auxiliary_ones(run_config):
    from newsroles.training.data.auxiliary import add_auxiliary
    from newsroles.training.run import build_model, load_split, resolve_labels
    from newsroles.training.trainer import make_setup

    config = run_config("1.0")
    entry = config.data.auxiliary[0]
    config.data.auxiliary[0] = type(entry)(**{**entry.__dict__, "per_epoch": 7})
    labels = resolve_labels(config)
    train = load_split(config, labels, "train")
    auxiliary, articles, aux_labels = add_auxiliary(config, train, [], len(labels))
    model, tokenizer, aux_labels = build_model(config, labels, aux_labels)
    run = make_setup(config, model, tokenizer, articles, labels, aux_labels, auxiliary=auxiliary)
    for plan in run.plans:
        # window.article indexes the epoch's articles: every labeled one, then the 7 drawn auxiliary ones
        assert {w.article for w in plan.windows} == set(range(len(train) + 7))
        for w, window_labels, rows in zip(plan.windows, plan.labels, plan.aux):
            auxiliary_window = w.article >= len(train)
            assert all(label == -100 for label in window_labels) == auxiliary_window
            assert all(row[-3] >= 0 for row in rows) == auxiliary_window  # attribution targets known
    # The schedule counts the drawn epochs' batches, not the whole corpus's.
    everything = make_setup(config, model, tokenizer, articles, labels, aux_labels)
    assert run.total_steps < everything.total_steps
    assert auxiliary.draw(config.seed, 1) != auxiliary.draw(config.seed, 2)


def test_grad_accumulation_with_an_auxiliary_only_part_takes_the_same_step(run_config):
    """A part holding only auxiliary windows (nothing labeled) still counts, by its share of the
    batch's known targets: 3 parts move the weights as the whole batch does."""
    from newsroles.training.data.auxiliary import add_auxiliary
    from newsroles.training.run import build_model, load_split, resolve_labels
    from newsroles.training.trainer import make_setup, train_step

    results = []
    for parts in ("1", "3"):
        # aux_weight 0: one loss group (PolNeAR's), whose mean splits exactly over the parts
        config = run_config("1.0", **{"train.grad_accumulation": parts, "train.precision": "fp32", "train.aux_weight": "0"})
        labels = resolve_labels(config)
        train = load_split(config, labels, "train")
        _, articles, aux_labels = add_auxiliary(config, train, [], len(labels))
        torch.manual_seed(0)
        model, tokenizer, aux_labels = build_model(config, labels, aux_labels)
        before = {k: v.detach().clone() for k, v in model.state_dict().items()}
        run = make_setup(config, model, tokenizer, articles, labels, aux_labels)
        plan = run.plans[0]
        nd = [i for i, w in enumerate(plan.windows) if not articles[w.article].id.startswith("polnear:")][:2]
        aux = [i for i, w in enumerate(plan.windows) if articles[w.article].id.startswith("polnear:")][:4]
        model.eval()
        loss = train_step(run, nd + aux, plan)  # parts: the 2 labeled windows, then 2 and 2 auxiliary ones
        results.append((loss, {k: v.detach().clone() for k, v in model.state_dict().items()}))
    (whole_loss, whole), (parts_loss, in_parts) = results
    assert parts_loss == pytest.approx(whole_loss, rel=1e-5)
    head = "aux_head.weight"
    assert not torch.equal(before[head], whole[head])
    for key in whole:
        torch.testing.assert_close(in_parts[key], whole[key], rtol=0, atol=3e-5)


def test_training_with_an_auxiliary_corpus_learns_its_head_and_records_it(run_config, tmp_path):
    from newsroles.model.batching import article_windows
    from newsroles.model.network.saved import load_transformer
    from newsroles.model.windows import collate_windows
    from newsroles.training.run import train_from_config

    folder = train_from_config(run_config("1.0"), output=tmp_path / "model", progress=False)
    manifest = json.loads((folder / "newsroles.json").read_text())
    assert manifest["aux_labels"][-3:] == ATTRIBUTION
    assert "Speech" in manifest["aux_labels"]  # the NewsDiscourse labels keep their columns
    metrics = json.loads((folder / "metrics.json").read_text())
    [record] = metrics["auxiliary"]
    assert (record["source"], record["articles"], len(record["sha256"])) == ("polnear", 30, 64)
    assert metrics["dev"]["macro_f1"] > 0.8  # the role task still learns
    # The auxiliary head has learned attribution content on articles it has not seen.
    model, tokenizer, _ = load_transformer(folder, torch.device("cpu"))
    held_out = aux_articles(8, seed=11)
    windows, _ = article_windows(tokenizer, held_out, model.spec)
    batch = collate_windows(windows, tokenizer.pad_token_id, article_context=model.spec.article_context)
    with torch.no_grad():
        _, aux_logits = model.eval()(batch)
    column = manifest["aux_labels"].index(CONTENT)
    scores, gold = [], []
    for k, w in enumerate(windows):
        for j, s in enumerate(held_out[w.article].sentences[w.start : w.end]):
            scores.append(aux_logits[k, j, column].item())
            gold.append(s.targets[CONTENT])
    scores, gold = np.array(scores), np.array(gold)
    assert scores[gold == 1].mean() > scores[gold == 0].mean() + 1.0
