"""`newsroles package`: the wheel, finding an installed model package by name, the card as README.md."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.errors import UserError

runner = CliRunner()
STORY = "Storm hits coast\n\nA storm killed 12 people on Monday, officials said.\n\n\"We will rebuild,\" the mayor told reporters.\n"


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def packaged(tiny_article_model, tmp_path_factory):
    """The tiny model packaged through the CLI: (wheel, project folder, models dir)."""
    root = tmp_path_factory.mktemp("package")
    models = root / "models"
    shutil.copytree(tiny_article_model, models / "tiny" / "v1")
    result = invoke("package", "tiny", root / "out", "--models-dir", models, "--version", "1.2.0", "--license", "apache-2.0")
    assert result.exit_code == 0, result.output
    wheel = Path(result.stdout.strip().splitlines()[-1])
    return wheel, root / "out" / "newsroles_model_tiny-1.2.0", models


def unpacked(wheel: Path, site: Path) -> Path:
    """What installing a pure wheel does: its files under a site directory (put on sys.path by the caller)."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def test_wheel_is_complete_and_its_record_matches(packaged):
    wheel, project, _ = packaged
    assert wheel == project / "dist" / "newsroles_model_tiny-1.2.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = "newsroles_model_tiny-1.2.0.dist-info"
        record = zf.read(f"{info}/RECORD").decode().splitlines()
        listed = {}
        for row in record:
            path, digest, size = row.rsplit(",", 2)
            listed[path] = (digest, size)
        assert set(listed) == names  # every file listed, nothing listed that is not there
        for path, (digest, size) in listed.items():
            if path.endswith("RECORD"):
                continue
            data = zf.read(path)
            expected = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert (digest, int(size)) == (expected, len(data)), path
        metadata = zf.read(f"{info}/METADATA").decode()
        assert "Name: newsroles-model-tiny\nVersion: 1.2.0\n" in metadata and "Requires-Dist: newsroles" in metadata
        assert "---" not in metadata.split("\n\n", 1)[1][:10]  # the description is the card without its front matter
        assert zf.read(f"{info}/entry_points.txt").decode() == (
            "[newsroles.models]\nnewsroles-model-tiny = newsroles_model_tiny:model_path\n\n"
        )
        assert zf.read(f"{info}/WHEEL").decode().endswith("Root-Is-Purelib: true\nTag: py3-none-any\n")
        for needed in ("model.safetensors", "newsroles.json", "README.md", "encoder/config.json"):
            assert f"newsroles_model_tiny/model/{needed}" in names
        manifest = json.loads(zf.read("newsroles_model_tiny/model/newsroles.json"))
    assert manifest["package"]["name"] == "newsroles-model-tiny" and manifest["id"] == "0badc0de"
    assert (project / "pyproject.toml").is_file() and (project / "README.md").is_file()


def test_card_is_a_hub_readme_with_front_matter(packaged):
    from huggingface_hub import ModelCard

    _, project, _ = packaged
    card = ModelCard.load(project / "newsroles_model_tiny" / "model" / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "newsroles" and data["license"] == "apache-2.0" and data["language"] == ["en"]
    assert "newsroles" in data["tags"]
    assert "pip install newsroles_model_tiny-1.2.0-py3-none-any.whl" in card.text
    assert "--model newsroles-model-tiny" in card.text


def test_packaging_again_is_refused_without_force_and_bad_names_are_refused(packaged):
    wheel, project, models = packaged
    again = invoke("package", "tiny", project.parent, "--models-dir", models, "--version", "1.2.0")
    assert again.exit_code == 2 and "Traceback" not in again.output
    assert again.output.strip() == f"error: {project}: package folder already exists (pass --force to replace it)"
    before = wheel.read_bytes()
    forced = invoke("package", "tiny", project.parent, "--models-dir", models, "--version", "1.2.0", "--license", "apache-2.0", "--force")
    assert forced.exit_code == 0, forced.output
    assert wheel.read_bytes() == before  # the same model packaged again: the same bytes
    for option, value, fragment in (("--version", "1.2.0-beta", "not a PEP 440 version"), ("--name", "1-model", "cannot import")):
        bad = invoke("package", "tiny", project.parent, "--models-dir", models, option, value)
        assert bad.exit_code == 2 and fragment in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output


def test_installed_package_is_found_by_name_after_folders_ids_and_names(packaged, tmp_path, monkeypatch):
    from newsroles.model.cards.card import record_evaluation
    from newsroles.model.store.registry import list_packages, resolve

    wheel, _, models = packaged
    site = unpacked(wheel, tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    folder = site / "newsroles_model_tiny" / "model"
    empty = tmp_path / "no-models"
    for ref in ("newsroles-model-tiny", "newsroles_model_tiny", "NewsRoles.Model-Tiny"):
        version = resolve(ref, empty)
        assert version.path.resolve() == folder.resolve() and version.package == "newsroles-model-tiny 1.2.0"
    assert resolve("tiny", models).path == models / "tiny" / "v1"  # a name in the models directory comes first
    assert "newsroles-model-tiny" in [v.ref for v in list_packages()]  # (beside any the machine has installed)
    with pytest.raises(UserError, match=r"no model folder 'nope'.*not an installed model package either \(installed: [^)]*newsroles-model-tiny"):
        resolve("nope", empty)
    from newsroles.training.config import load_config
    from newsroles.training.run import base_from_package

    config = load_config(None, {"model.base": "newsroles-model-tiny"})
    base_from_package(config)  # fine-tuning a packaged model: its folder is the base
    assert Path(config.model.base).resolve() == folder.resolve()
    from newsroles.model.store.folder import latest_model

    with pytest.raises(UserError, match=r"installed model packages: [^(]*newsroles-model-tiny.* \(pass --model NAME\)"):
        latest_model(empty)  # `label` without --model and nothing in the models directory
    with pytest.raises(PermissionError, match="kept as installed"):  # an install is never written into
        record_evaluation(folder, {"data": {"sha256": "ab" * 32}})
    listed = invoke("models", "list", "--models-dir", empty, "--json")
    assert listed.exit_code == 0 and "newsroles-model-tiny 1.2.0" in [row["package"] for row in json.loads(listed.stdout)]
    shown = invoke("models", "show", "newsroles-model-tiny", "--models-dir", empty)
    assert shown.exit_code == 0 and shown.stdout.startswith("---\n")


def test_package_model_takes_a_name_in_the_models_directory(packaged, tmp_path):
    from newsroles.inference.packaging.project import package_model

    wheel, _, models = packaged
    report = package_model("tiny", tmp_path / "out", pkg_version="1.2.0", license="apache-2.0", models_dir=models)
    assert (report.name, report.version) == ("newsroles-model-tiny", "1.2.0")
    assert report.wheel.name == wheel.name and report.wheel.read_bytes() == wheel.read_bytes()  # as the command made it


def test_an_installed_package_is_exported_into_the_models_directory_and_not_written_into(packaged, tmp_path, monkeypatch):
    """By its package name: the copy goes under the models directory (pip owns the install), and
    an evaluation is reported as not recorded, not an error."""
    from newsroles.inference.evaluation.evaluate import evaluate_models
    from newsroles.inference.export.exporter import export_model
    from synthetic import synthetic_articles, write_jsonl

    wheel, _, _ = packaged
    monkeypatch.syspath_prepend(str(unpacked(wheel, tmp_path / "site")))
    models = tmp_path / "models"
    report = export_model("newsroles-model-tiny", runtime="int8", models_dir=models)
    assert report.folder == models / "tiny" / "newsroles-model-tiny-1.2.0-int8" and (report.folder / "newsroles.json").is_file()
    data = write_jsonl(synthetic_articles(3, seed=4), tmp_path / "dev.jsonl")
    done = evaluate_models(["newsroles-model-tiny"], data, models_dir=models, device="cpu")
    (warning,) = done.warnings
    assert warning.startswith("could not record the evaluation in ") and "kept as installed" in warning


def test_old_folder_with_only_model_card_md_still_loads_and_shows(tiny_article_model, tmp_path):
    from newsroles.inference.predictor import load_labeler
    from newsroles.model.cards.card import write_card

    folder = tmp_path / "old"
    shutil.copytree(tiny_article_model, folder)
    (folder / "README.md").unlink(missing_ok=True)
    (folder / "MODEL_CARD.md").write_text("# an old card\n", encoding="utf-8")
    shown = invoke("models", "show", folder)
    assert shown.exit_code == 0 and shown.stdout == "# an old card\n"
    assert load_labeler(folder, "cpu").label_text("Police arrested two men on Tuesday.").sentences[0].label
    write_card(folder)  # written again (an evaluation recorded): README.md replaces the old card
    assert (folder / "README.md").read_text(encoding="utf-8").startswith("---\n") and not (folder / "MODEL_CARD.md").exists()


def test_wheel_installs_offline_into_a_fresh_venv_and_labels_by_package_name(packaged, tmp_path):
    """pip installs the wheel (--no-index --no-deps: no network) into a new venv; the venv's Python
    then labels a story with `--model newsroles-model-tiny`, in a folder with no models directory."""
    wheel, project, _ = packaged
    fresh = tmp_path / "venv"
    # Created from the base interpreter, without pip (the project venv's pip installs into it with
    # --python: nothing downloaded, seconds instead of a pip bootstrap).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True)
    python = fresh / "bin" / "python"
    fresh_site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    # The fresh venv sees newsroles and its dependencies (torch...) from this venv instead of
    # reinstalling them: a .pth line that runs site.addsitedir, not a bare path, because our
    # editable install is itself a .pth import hook that only addsitedir processes; and not
    # --system-site-packages, which would expose the *base* interpreter's site-packages, not this
    # venv's. addsitedir appends, so the fresh venv's own site-packages (the model package) comes first.
    ours = sysconfig.get_paths()["purelib"]
    (fresh_site / "_newsroles_test_deps.pth").write_text(f"import site; site.addsitedir({ours!r})\n", encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1", "PIP_CONFIG_FILE": os.devnull}
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps", str(wheel)],
        env=env, capture_output=True, text=True,
    )
    if pip.returncode != 0 and "no such option: --python" in pip.stderr:
        pytest.skip("this pip has no --python option (pip >= 22.3 needed)")
    assert pip.returncode == 0, pip.stderr
    assert (fresh_site / "newsroles_model_tiny" / "model" / "model.safetensors").is_file()
    story = tmp_path / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    work = tmp_path / "elsewhere"
    work.mkdir()
    labeled = subprocess.run(
        [python, "-m", "newsroles.inference.cli", "label", str(story), "--model", "newsroles-model-tiny", "--format", "jsonl"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert labeled.returncode == 0, labeled.stderr
    record = json.loads(labeled.stdout.strip().splitlines()[-1])
    # The same labels as the folder it was packaged from gives.
    from newsroles.inference.predictor import load_labeler

    expected = load_labeler(project / "newsroles_model_tiny" / "model", "cpu").label_text(STORY, article_id="story")
    assert [s["label"] for s in record["sentences"]] == [s.label for s in expected.sentences]
    assert record["title"] == "Storm hits coast" and len(record["sentences"]) == 2
    # This venv does not see the package: the fresh one found it through its own install.
    from newsroles.model.store.packages import find_package

    assert find_package("newsroles-model-tiny") is None
