"""Domain-adaptive pretraining (`newsroles adapt-base`): a base trained further on news text with
masked words, written as a base folder that `model.base` takes."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import AutoModel, AutoTokenizer
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.article import Article, Sentence
from newsroles.model.errors import UserError
from newsroles.training.config import load_config
from newsroles.training.recipes.domain_adapt import (
    INFO_FILE, AdaptSettings, _masked_batch, adapt_base, adapt_base_from_files, article_text, pack_blocks,
)
from newsroles.training.run import train_from_config
from synthetic import synthetic_articles, write_jsonl


def test_article_text_is_the_headline_then_a_line_per_paragraph():
    article = Article(id="a", title="Storm hits coast", sentences=[
        Sentence("The storm hit.", None, paragraph=0), Sentence("Police said so.", None, paragraph=0),
        Sentence("It rained in 1998.", None, paragraph=1),
    ])
    assert article_text(article) == "Storm hits coast\nThe storm hit. Police said so.\nIt rained in 1998."


def test_pack_blocks_fills_every_block_and_drops_only_the_last_remainder():
    texts = [list(range(10, 17)), list(range(20, 33)), list(range(40, 45))]  # 7 + 13 + 5 tokens, a [SEP] after each
    blocks = pack_blocks(texts, block_size=10, cls_id=1, sep_id=2)
    assert all(len(b) == 10 and b[0] == 1 and b[-1] == 2 for b in blocks)
    bodies = [t for b in blocks for t in b[1:-1]]
    stream = [*range(10, 17), 2, *range(20, 33), 2, *range(40, 45), 2]
    assert len(blocks) == len(stream) // 8 and bodies == stream[:len(bodies)]
    with pytest.raises(UserError, match="too small"):
        pack_blocks(texts, block_size=6, cls_id=1, sep_id=2)


def test_masking_never_touches_special_tokens_and_labels_only_the_chosen(tiny_base_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_base_model)
    body = tokenizer("police said the storm killed people " * 40, add_special_tokens=False)["input_ids"]
    blocks = pack_blocks([body] * 8, 64, tokenizer.cls_token_id, tokenizer.sep_token_id)
    ids, labels = _masked_batch(blocks, tokenizer, 0.15, torch.Generator().manual_seed(0))
    original = torch.tensor(blocks)
    chosen = labels != -100
    assert 0.10 < chosen.float().mean() < 0.20
    assert not chosen[:, 0].any() and not chosen[:, -1].any()  # [CLS] and [SEP]
    assert torch.equal(labels[chosen], original[chosen])
    assert torch.equal(ids[~chosen], original[~chosen])
    assert (ids[chosen] == tokenizer.mask_token_id).float().mean() > 0.6


def _news(n: int, seed: int) -> list[Article]:
    return synthetic_articles(n, seed=seed)


def test_adapt_base_learns_the_text_and_writes_a_short_base_that_loads(tiny_base_model, tmp_path):
    settings = AdaptSettings(layers=1, epochs=30, block_size=32, batch_size=8, learning_rate=3e-3,
                             head_warmup_steps=5, heldout_fraction=0.1)
    out = tmp_path / "adapted"
    report = adapt_base(str(tiny_base_model), _news(40, seed=1), out, settings, sources=["train.jsonl"], progress=False)
    assert report.heldout_loss_after < report.heldout_loss_before - 0.5  # the synthetic news is learnable
    encoder = AutoModel.from_pretrained(out)
    assert encoder.config.num_hidden_layers == 1 and len(encoder.encoder.layer) == 1
    assert encoder.config.attention_probs_dropout_prob == pytest.approx(0.1)  # the base's own, not training's 0
    assert AutoTokenizer.from_pretrained(out).mask_token == "[MASK]"
    info = json.loads((out / INFO_FILE).read_text())
    assert info["settings"]["layers"] == 1 and info["sources"] == ["train.jsonl"] and info["steps"] == report.steps
    # The encoder changed, the word embeddings (tied to the head's output layer) did not.
    before = AutoModel.from_pretrained(tiny_base_model)
    assert not torch.equal(encoder.encoder.layer[0].output.dense.weight, before.encoder.layer[0].output.dense.weight)
    assert torch.equal(encoder.embeddings.word_embeddings.weight, before.embeddings.word_embeddings.weight)
    with pytest.raises(UserError, match="exists"):
        adapt_base(str(tiny_base_model), _news(4, seed=1), out, settings, progress=False)


def test_an_adapted_base_fine_tunes_as_model_base(tiny_base_model, tmp_path):
    train = write_jsonl(_news(40, seed=1), tmp_path / "train.jsonl")
    dev = write_jsonl(_news(12, seed=2), tmp_path / "dev.jsonl")
    adapted = tmp_path / "adapted"
    adapt_base_from_files(str(tiny_base_model), [train], adapted, AdaptSettings(layers=None, epochs=1, block_size=32),
                          progress=False)
    overrides = {"model.base": str(adapted), "data.train": str(train), "data.dev": str(dev), "train.epochs": "4"}
    folder = train_from_config(load_config("configs/tiny.yaml", overrides), output=tmp_path / "model", progress=False)
    assert json.loads((folder / "metrics.json").read_text())["dev"]["macro_f1"] > 0.9


def test_too_little_text_is_one_clear_error_and_writes_nothing(tiny_base_model, tmp_path):
    short = [Article(id="a", title="", sentences=[Sentence("The storm hit.", None)])]
    with pytest.raises(UserError, match="too little text"):
        adapt_base(str(tiny_base_model), short, tmp_path / "out", AdaptSettings(layers=None, block_size=64), progress=False)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(UserError, match="layers is 4, more than the 2 layer"):
        adapt_base(str(tiny_base_model), _news(4, seed=1), tmp_path / "out", AdaptSettings(layers=4), progress=False)


def test_cli_adapt_base_reports_a_missing_file_in_one_line(tiny_base_model, tmp_path):
    result = CliRunner().invoke(app, ["adapt-base", str(tiny_base_model), str(tmp_path / "nope.jsonl"),
                                      "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "nope.jsonl" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_adapt_base_keeps_every_layer_with_layers_0(tiny_base_model, tmp_path):
    train = write_jsonl(_news(20, seed=1), tmp_path / "train.jsonl")
    out = tmp_path / "adapted"
    result = CliRunner().invoke(app, ["adapt-base", str(tiny_base_model), "-d", str(train), "-o", str(out),
                                      "--layers", "0", "--block-size", "32", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(out))
    assert AutoModel.from_pretrained(out).config.num_hidden_layers == 2  # the tiny base's two
    assert json.loads((out / INFO_FILE).read_text())["settings"]["layers"] is None
