"""Final fit: retrain the selection run's settings on train + dev, taking its epochs, biases, temperature."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from safetensors.torch import load_file
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.errors import UserError
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from synthetic import synthetic_articles, write_jsonl


@pytest.fixture(scope="module")
def setup(tiny_base_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("final")
    train = write_jsonl(synthetic_articles(16, seed=21), root / "train.jsonl")
    dev = write_jsonl(synthetic_articles(6, seed=22), root / "dev.jsonl")
    overrides = {"model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev), "train.epochs": "3"}
    selection = train_from_config(load_config("configs/tiny.yaml", overrides), output=root / "selection", progress=False)
    return root, overrides, selection


def test_final_fit_trains_on_train_and_dev_for_the_best_epoch_with_the_selections_biases(setup):
    root, overrides, selection = setup
    args = ["train", "--config", "configs/tiny.yaml", "--output", str(root / "final"), "--quiet", "--final", str(selection)]
    args += [x for key, value in overrides.items() for x in (f"--{key}", value)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    chosen = json.loads((selection / "metrics.json").read_text())
    metrics = json.loads((root / "final" / "metrics.json").read_text())
    assert metrics["final_fit"]["epochs"] == chosen["best_epoch"] == len(metrics["history"])
    assert metrics["final_fit"]["articles"] == 16 + 6 and metrics["final_fit"]["trained_on"] == ["train", "dev"]
    assert not any("dev_macro_f1" in epoch for epoch in metrics["history"])  # no dev scoring
    assert metrics["dev"] == chosen["dev"] and metrics["calibration"] == chosen["calibration"]
    before, after = load_file(str(selection / "model.safetensors")), load_file(str(root / "final" / "model.safetensors"))
    assert after["label_bias"].tolist() == before["label_bias"].tolist()
    assert float(after["temperature"]) == float(before["temperature"])
    assert not (after["head.weight"] == before["head.weight"]).all()  # trained afresh
    card = (root / "final" / "README.md").read_text()
    assert "## Final fit" in card and "the dev figures in this card are the selection run's" in card
    config = (root / "final" / "config.yaml").read_text()
    assert "name: tiny-final" in config


def test_final_fit_refuses_other_settings_and_a_selection_without_dev(setup, tmp_path):
    root, overrides, selection = setup
    changed = load_config("configs/tiny.yaml", {**overrides, "model.context_hidden": "8"})
    with pytest.raises(UserError, match="model.context_hidden"):
        train_from_config(changed, output=tmp_path / "x", progress=False, final_from=selection)
    no_dev = tmp_path / "no-dev"
    shutil.copytree(selection, no_dev)
    metrics = json.loads((no_dev / "metrics.json").read_text())
    metrics.pop("dev")
    (no_dev / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(UserError, match="without a dev set"):
        train_from_config(load_config("configs/tiny.yaml", overrides), output=tmp_path / "y", progress=False, final_from=no_dev)


def test_final_fit_takes_the_selection_runs_id_in_the_models_directory(setup, tmp_path):
    root, overrides, selection = setup
    model_id = json.loads((selection / "newsroles.json").read_text())["id"]
    changed = load_config("configs/tiny.yaml", {**overrides, "model.context_hidden": "8"})
    changed.models_dir = str(root)  # as `train --models-dir` sets it
    with pytest.raises(UserError, match="model.context_hidden"):  # found, then compared with this config
        train_from_config(changed, output=tmp_path / "x", progress=False, final_from=model_id)
    with pytest.raises(UserError, match="no model version 'nope'"):
        train_from_config(changed, output=tmp_path / "y", progress=False, final_from="nope")


def test_final_fit_keeps_raw_weights_where_the_selection_run_did(setup, tmp_path):
    from newsroles.training.recipes.final_fit import prepare_final_fit

    root, overrides, selection = setup
    for kept, decay in (("raw", 0.0), ("average", 0.99)):
        copy = tmp_path / kept
        shutil.copytree(selection, copy)
        metrics = json.loads((copy / "metrics.json").read_text())
        metrics["history"] = [{"epoch": e + 1, "weights": kept if e + 1 == metrics["best_epoch"] else "other"} for e in range(3)]
        (copy / "metrics.json").write_text(json.dumps(metrics))
        config = load_config("configs/tiny.yaml", {**overrides, "train.ema_decay": "0.99"})
        (copy / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
        prepare_final_fit(config, copy)
        assert config.train.ema_decay == decay and config.train.epochs == metrics["best_epoch"]


def test_a_selection_saved_before_a_setting_existed_reads_it_as_the_behaviour_of_that_time(setup, tmp_path):
    """A folder written before train.grad_accumulation (or model.headline_features) existed has no
    such key: its absence means the old behaviour, so the same settings still make a final fit, and
    a config that does change the behaviour is still refused."""
    from newsroles.training.recipes.final_fit import prepare_final_fit

    root, overrides, selection = setup
    old = tmp_path / "old"
    shutil.copytree(selection, old)
    saved = yaml.safe_load((old / "config.yaml").read_text())
    assert saved["train"].pop("grad_accumulation") == 1 and saved["model"].pop("headline_features") is False
    (old / "config.yaml").write_text(yaml.safe_dump(saved))
    prepare_final_fit(load_config("configs/tiny.yaml", overrides), old)
    with pytest.raises(UserError, match="model.headline_features"):
        prepare_final_fit(load_config("configs/tiny.yaml", {**overrides, "model.headline_features": "true"}), old)
