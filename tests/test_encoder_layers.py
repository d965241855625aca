"""model.encoder_layers: a model trained on the first N layers of its base saves, reloads and
labels as a model with an N-layer encoder."""

from __future__ import annotations

import json

import pytest
import yaml
from transformers import AutoModel

from newsroles.inference.predictor import load_labeler
from newsroles.model.network.encoder_layers import keep_first_layers
from newsroles.model.errors import UserError
from newsroles.model.spec import spec_from_config
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from synthetic import synthetic_articles, write_jsonl


def test_a_model_on_the_first_layer_learns_saves_and_reloads_short(tiny_base_model, tmp_path):
    train = write_jsonl(synthetic_articles(40, seed=1), tmp_path / "train.jsonl")
    dev = write_jsonl(synthetic_articles(12, seed=2), tmp_path / "dev.jsonl")
    overrides = {"model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev),
                 "train.epochs": "4", "model.encoder_layers": "1"}
    folder = train_from_config(load_config("configs/tiny.yaml", overrides), output=tmp_path / "short", progress=False)
    assert json.loads((folder / "metrics.json").read_text())["dev"]["macro_f1"] > 0.9
    assert json.loads((folder / "encoder" / "config.json").read_text())["num_hidden_layers"] == 1
    assert yaml.safe_load((folder / "config.yaml").read_text())["model"]["encoder_layers"] == 1
    assert "(its first 1 layers: model.encoder_layers)" in (folder / "README.md").read_text()
    labeler = load_labeler(folder, device="cpu")
    assert len(labeler.runner.model.encoder.encoder.layer) == 1
    probs = labeler.predict(synthetic_articles(3, seed=3))
    assert all(p.shape[1] == 4 for p in probs)


def test_keep_first_layers_cuts_in_place_and_refuses_more_than_the_base_has(tiny_base_model):
    encoder = AutoModel.from_pretrained(tiny_base_model)
    assert keep_first_layers(encoder, None) is encoder and len(encoder.encoder.layer) == 2
    first = encoder.encoder.layer[0]
    keep_first_layers(encoder, 1)
    assert list(encoder.encoder.layer) == [first] and encoder.config.num_hidden_layers == 1
    with pytest.raises(UserError, match=r"encoder_layers is 3, more than the 1 layer\(s\) of the base encoder"):
        keep_first_layers(encoder, 3)


def test_a_folder_saved_before_the_setting_means_every_layer():
    assert spec_from_config({"model": {"base": "x"}}).encoder_layers is None
    assert spec_from_config({"model": {"encoder_layers": 4}}).encoder_layers == 4


@pytest.mark.parametrize(
    "overrides, noted",
    [
        ({}, False),  # the default base: the cut was measured on it
        ({"model.base": "sentence-transformers/all-MiniLM-L6-v2"}, False),  # the same base by its hub id
        ({"model.base": "roberta-base"}, True),  # another base inherits the default's 4 layers
        ({"model.base": "roberta-base", "model.encoder_layers": "null"}, False),
        ({"model.base": "roberta-base", "model.encoder_layers": "6"}, False),  # chosen, not inherited
    ],
)
def test_another_base_cut_to_the_defaults_layers_gets_a_note(overrides, noted):
    from newsroles.training.run import layer_cut_notice

    notice = layer_cut_notice(load_config("configs/default.yaml", overrides))
    assert (notice is not None) == noted
    if noted:
        assert "only the first 4 layers of roberta-base" in notice and "--model.encoder_layers null" in notice


def test_a_local_base_with_no_more_layers_than_kept_gets_no_note(tmp_path):
    from newsroles.training.run import layer_cut_notice

    for layers, noted in ((4, False), (3, False), (6, True)):
        base = tmp_path / f"base{layers}"
        base.mkdir()
        (base / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": layers}))
        notice = layer_cut_notice(load_config("configs/default.yaml", {"model.base": str(base)}))
        assert (notice is not None) == noted, layers
