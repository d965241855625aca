"""One source of truth: the packaged configs/default.yaml is the default model, in code and on the CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.network.base import SHIPPED_BASES, hub_id, shipped_base
from newsroles.model.spec import spec_from_config
from newsroles.training.config import RunConfig, load_config

ROOT = Path(__file__).resolve().parent.parent


def test_no_file_gives_the_packaged_default_model_and_the_code_defaults_agree_with_it():
    written = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    loaded = load_config().to_dict()
    for section in ("model", "train", "baseline"):
        assert loaded[section] == written[section], section  # every setting is written in the file
        assert dataclasses.asdict(RunConfig())[section] == written[section], section
    assert loaded["name"] == "default" and loaded["data"]["mapping"] == written["data"]["mapping"]


def test_train_without_a_config_file_works_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ folder here
    result = CliRunner().invoke(app, ["train", "--data.train", "missing.jsonl", "--data.dev", "missing-dev.jsonl"])
    assert result.exit_code == 2
    assert "missing.jsonl" in result.output and "config file not found" not in result.output


def test_folders_from_before_a_setting_existed_keep_their_behaviour():
    spec = spec_from_config({"model": {"type": "article", "max_length": 128}})
    assert (spec.lead_context, spec.headline_features, spec.paragraph_features) == (True, False, False)
    assert spec.max_length == 128


def test_one_table_of_shipped_bases_names_them_and_their_hub_ids():
    minilm = SHIPPED_BASES[0]
    assert shipped_base("minilm") is shipped_base("all-MiniLM-L6-v2") is minilm
    assert hub_id("minilm") == hub_id(minilm.hub_id) == "sentence-transformers/all-MiniLM-L6-v2"
    assert hub_id("bert-base-uncased") == "bert-base-uncased" and shipped_base("/some/folder") is None
