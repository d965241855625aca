"""Model versions: ids, no overwriting, listing order, resolving references, parent links, `newsroles models`."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.errors import UserError
from newsroles.model.store.folder import MANIFEST, read_manifest, write_common_files
from newsroles.model.store.registry import (
    derived_id,
    list_versions,
    new_version_id,
    next_free_dir,
    parent_of,
    resolve,
    version_id,
    version_info,
)

LABELS = ["stance", "quote", "background", "fact"]
VOCAB = {
    "stance": ["critics argue the policy is a mistake", "analysts expect prices will rise"],
    "quote": ['"we will rebuild," the mayor said', "the minister said talks would continue"],
    "background": ["last year the company had cut jobs", "in 2010 the law was passed"],
    "fact": ["police arrested two men on tuesday", "the earthquake struck on monday"],
}


def fake_version(models_dir: Path, name: str, stamp: str, created: str, vid: str | None = None, **extra) -> Path:
    """A complete (loadable by read_manifest) TF-IDF folder without real weights: fast."""
    folder = models_dir / name / stamp
    folder.mkdir(parents=True)
    info = {"name": name, **({"id": vid} if vid else {}), **extra}
    write_common_files(folder, kind="tfidf", labels=LABELS, config={"name": name}, metrics={}, data={}, extra=info)
    for weights in ("baseline.safetensors", "baseline.json"):
        (folder / weights).write_bytes(b"")
    manifest = read_manifest(folder)
    manifest["created"] = created
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture()
def models_dir(tmp_path) -> Path:
    root = tmp_path / "models"
    fake_version(root, "default", "20261101-100000", "2026-11-01T10:00:00+00:00", "aaaa1111")
    fake_version(root, "default", "20261103-100000", "2026-11-03T10:00:00+00:00", "aaaa2222", parent="aaaa1111")
    fake_version(root, "default-tfidf", "20261102-100000", "2026-11-02T10:00:00+00:00", "bbbb3333")
    return root


def write_tiny_data(path: Path, n: int = 8, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            sentences = []
            for _ in range(6):
                label = rng.choice(LABELS)
                sentences.append({"text": rng.choice(VOCAB[label]), "label": label})
            fh.write(json.dumps({"id": f"a{i}", "sentences": sentences}) + "\n")
    return path


# ------------------------------------------------------------------------------ ids and listing


def test_new_ids_are_short_hex_and_distinct():
    ids = {new_version_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == 8 and int(i, 16) >= 0 for i in ids)


def test_listing_is_newest_first_with_key_fields(models_dir):
    versions = list_versions(models_dir)
    assert [v.id for v in versions] == ["aaaa2222", "bbbb3333", "aaaa1111"]
    assert [v.ref for v in versions] == ["default/20261103-100000", "default-tfidf/20261102-100000", "default/20261101-100000"]
    assert versions[0].parent == "aaaa1111"
    assert [v.id for v in list_versions(models_dir, name="default")] == ["aaaa2222", "aaaa1111"]
    assert list_versions(models_dir / "nothing-here") == []


def test_listing_orders_versions_created_in_the_same_second_by_write_order(tmp_path):
    root = tmp_path / "models"
    first = fake_version(root, "m", "s1", "2026-11-01T10:00:00+00:00", "11110000")
    second = fake_version(root, "m", "s2", "2026-11-01T10:00:00+00:00", "22220000")
    os.utime(first / MANIFEST, ns=(1_000_000_000, 1_000_000_000))
    os.utime(second / MANIFEST, ns=(2_000_000_000, 2_000_000_000))
    assert [v.id for v in list_versions(root)] == ["22220000", "11110000"]


def test_folder_without_id_gets_a_stable_derived_id(tmp_path):
    folder = fake_version(tmp_path / "models", "old", "20250101-000000", "2025-01-01T00:00:00+00:00")
    assert "id" not in read_manifest(folder)
    vid = version_id(folder)
    assert vid == derived_id(folder) == version_id(folder)
    assert len(vid) == 8
    assert resolve(vid, tmp_path / "models").path == folder
    assert list_versions(tmp_path / "models")[0].name == "old"  # from <models_dir>/<name>/<timestamp>


def test_next_free_dir_never_returns_an_existing_folder(tmp_path):
    target = tmp_path / "m" / "20261129-120000"
    assert next_free_dir(target) == target
    target.mkdir(parents=True)
    assert next_free_dir(target) == target.with_name("20261129-120000-2")
    target.with_name("20261129-120000-2").mkdir()
    assert next_free_dir(target) == target.with_name("20261129-120000-3")


# ------------------------------------------------------------------------------ resolving


def test_resolve_by_id_prefix_name_version_path_and_latest(models_dir):
    newest_default = models_dir / "default" / "20261103-100000"
    assert resolve("aaaa1111", models_dir).path == models_dir / "default" / "20261101-100000"
    assert resolve("bbbb", models_dir).id == "bbbb3333"  # unique prefix
    assert resolve("default", models_dir).path == newest_default  # a name means its newest version
    assert resolve("default/20261101-100000", models_dir).id == "aaaa1111"
    assert resolve(str(newest_default), models_dir).id == "aaaa2222"  # a path
    assert resolve("latest", models_dir).id == "aaaa2222"


def test_resolve_errors_are_user_errors(models_dir, tmp_path):
    with pytest.raises(UserError, match="no model version 'aaa'"):
        resolve("aaa", models_dir)  # shorter than 4 characters: not taken as a prefix
    with pytest.raises(UserError, match="ambiguous"):
        resolve("aaaa", models_dir)
    with pytest.raises(UserError, match="no model version 'nope'"):
        resolve("nope", models_dir)
    with pytest.raises(UserError, match="does not exist"):
        resolve("default", tmp_path / "missing")
    with pytest.raises(UserError, match="newsroles.json is missing"):
        resolve(str(tmp_path), models_dir)  # an existing folder that is not a model


def test_parent_link_only_for_a_newsroles_folder(models_dir):
    parent = models_dir / "default" / "20261101-100000"
    info = version_info("child", str(parent))
    assert info["name"] == "child" and info["parent"] == "aaaa1111"
    assert info["parent_path"] == str(parent.resolve())
    assert parent_of("all-MiniLM-L6-v2") == {"parent": None, "parent_path": None}
    assert parent_of(None)["parent"] is None


# ------------------------------------------------------------------------------ the training hook


def test_baseline_versions_never_overwrite_and_carry_id_name_and_card(tmp_path, monkeypatch):
    from newsroles.training import run
    from newsroles.training.config import load_config

    data = write_tiny_data(tmp_path / "train.jsonl")
    config = load_config(None, {"data.train": str(data), "data.dev": str(data), "models_dir": str(tmp_path / "models"), "name": "tiny"})
    # Force both runs onto the same timestamp folder: the second must land beside the first.
    fixed = tmp_path / "models" / "tiny-tfidf" / "20261129-120000"
    monkeypatch.setattr(run, "default_output", lambda *a, **k: fixed)
    first = run.baseline_from_config(config)
    first_manifest = (first / MANIFEST).read_bytes()
    second = run.baseline_from_config(config)
    assert first == fixed and second == fixed.with_name("20261129-120000-2")
    assert (first / MANIFEST).read_bytes() == first_manifest  # untouched
    m1, m2 = read_manifest(first), read_manifest(second)
    assert m1["id"] != m2["id"] and m1["name"] == m2["name"] == "tiny-tfidf"
    assert m1["parent"] is None and m1["hardware"] and m1["training_seconds"] >= 0
    for folder in (first, second):
        assert (folder / "README.md").is_file() and (folder / "model_card.json").is_file()
    versions = list_versions(tmp_path / "models")
    assert {v.id for v in versions} == {m1["id"], m2["id"]}
    assert versions[0].key_metrics()["dev_macro_f1"] is not None


# ------------------------------------------------------------------------------ CLI


def test_cli_models_lists_newest_first_and_shows_a_card(models_dir):
    from newsroles.model.cards.card import write_card

    write_card(models_dir / "default" / "20261101-100000")
    runner = CliRunner()
    result = runner.invoke(app, ["models", "--models-dir", str(models_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = [line.split("│") for line in result.output.splitlines() if line.startswith("│")]
    assert [r[1].strip() for r in rows] == ["aaaa2222", "bbbb3333", "aaaa1111"]  # the id column, newest first
    assert rows[0][3].strip() == "default/20261103-100000" and rows[0][6].strip() == "aaaa1111"  # version, parent

    as_json = runner.invoke(app, ["models", "--models-dir", str(models_dir), "--json"])
    assert [row["id"] for row in json.loads(as_json.output)] == ["aaaa2222", "bbbb3333", "aaaa1111"]

    shown = runner.invoke(app, ["models", "show", "aaaa1111", "--models-dir", str(models_dir)])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("---\n") and "# default `aaaa1111`" in shown.output
    # A version without a written card gets one generated on the fly.
    shown = runner.invoke(app, ["models", "show", "default", "--models-dir", str(models_dir)])
    assert shown.exit_code == 0 and "# default `aaaa2222`" in shown.output and "`aaaa1111`" in shown.output

    missing = runner.invoke(app, ["models", "show", "nope", "--models-dir", str(models_dir)])
    assert missing.exit_code == 2
    assert "error:" in missing.output and "nope" in missing.output


def test_cli_models_on_an_empty_directory(tmp_path):
    result = CliRunner().invoke(app, ["models", "--models-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "no model versions" in result.output


def test_cli_label_takes_a_version_id_or_name_like_evaluate(tmp_path):
    from newsroles.training.config import load_config
    from newsroles.training.run import baseline_from_config

    data = write_tiny_data(tmp_path / "train.jsonl")
    models = tmp_path / "models"
    config = load_config(None, {"data.train": str(data), "data.dev": str(data), "models_dir": str(models), "name": "tiny"})
    folder = baseline_from_config(config)
    story = tmp_path / "story.txt"
    story.write_text("Police arrested two men on Tuesday. Critics argue the policy is a mistake.\n", encoding="utf-8")
    runner = CliRunner()
    outputs = []
    for ref in (read_manifest(folder)["id"], "tiny-tfidf", str(folder)):
        out = tmp_path / f"out-{len(outputs)}.jsonl"
        result = runner.invoke(app, ["label", str(story), "--model", ref, "--models-dir", str(models), "--output", str(out), "--quiet"])
        assert result.exit_code == 0, result.output
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1] == outputs[2] and outputs[0].count('"label"') >= 2
    missing = runner.invoke(app, ["label", str(story), "--model", "nope", "--models-dir", str(models)])
    assert missing.exit_code == 2 and "no model version 'nope'" in missing.output
