"""The label path a newcomer reads: `newsroles label` with an ONNX copy, traced from the command
(inference/cli/label.py) to ONNX Runtime's session, passes through at most 7 of our files, and
README's Layout section lists those files."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import build_tiny_article_model
from newsroles.inference.cli import app
from synthetic import synthetic_articles

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

ROOT = Path(__file__).resolve().parents[1]
OURS = tuple(str(ROOT / part) + "/" for part in ("model", "training", "inference"))
ENTRY = "inference/cli/label.py"
MOST_FILES = 7


def our_file(filename: str) -> str | None:
    """`model/loading.py` for a file of ours, else None."""
    path = str(Path(filename).resolve())
    return path[len(str(ROOT)) + 1 :] if path.startswith(OURS) else None


def files_on_the_way(frame) -> list[str]:
    """Our files on the call stack of `frame`, from the command (ENTRY) inward, each once; [] when
    the call did not come through the command."""
    stack = []
    while frame is not None:
        stack.append(our_file(frame.f_code.co_filename))
        frame = frame.f_back
    stack.reverse()  # outermost first
    if ENTRY not in stack:
        return []
    path: list[str] = []
    for name in stack[stack.index(ENTRY) :]:
        if name is not None and name not in path:
            path.append(name)
    return path


def traced_label_path(argv: list[str]) -> tuple[list[str], int, int]:
    """Run the CLI with `argv` in this process (sys.setprofile: Python calls only); returns our files
    on the stack whenever ONNX Runtime's session is made or run (in the order first met), and how
    many times a session was made and run."""
    from onnxruntime.capi import onnxruntime_inference_collection as ort_python

    session_code = {ort_python.InferenceSession.run.__code__: "run", ort_python.InferenceSession.__init__.__code__: "made"}
    seen: list[str] = []
    counts = {"run": 0, "made": 0}

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in session_code:
            counts[session_code[frame.f_code]] += 1
            for name in files_on_the_way(frame):
                if name not in seen:
                    seen.append(name)

    sys.setprofile(profile)
    try:
        result = CliRunner().invoke(app, argv)
    finally:
        sys.setprofile(None)
    assert result.exit_code == 0, result.output
    return seen, counts["made"], counts["run"]


@pytest.fixture(scope="module")
def onnx_copy(tiny_base_model, tmp_path_factory):
    from newsroles.inference.export.exporter import export_model

    fp32 = build_tiny_article_model(tmp_path_factory.mktemp("label-path") / "fp32", tiny_base_model)
    return export_model(fp32, runtime="onnx").folder


def test_label_with_an_onnx_copy_passes_through_at_most_seven_of_our_files(onnx_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSROLES_ORT_MODE", "intra")  # session calls on the caller's thread, whose stack is traced
    stories = tmp_path / "stories.jsonl"
    stories.write_text(
        "".join(json.dumps({"id": a.id, "text": " ".join(s.text for s in a.sentences)}) + "\n" for a in synthetic_articles(3, seed=5)),
        encoding="utf-8",
    )
    out = tmp_path / "labels.jsonl"
    path, made, runs = traced_label_path(["label", str(stories), "--model", str(onnx_copy), "-o", str(out), "--quiet"])
    assert made == 1 and runs >= 2, (made, runs)  # one session; the probe's calls, then the stories'
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3
    assert path[0] == ENTRY and "model/onnx_runtime.py" in path, path
    assert len(path) <= MOST_FILES, f"`newsroles label` reaches session.run through {len(path)} files: {path}"

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.search(r"\nThe label path.*?\n((?:\d+\. .*\n)+)", readme, re.S)
    assert listed, "README's Layout section lists the label path"
    assert set(re.findall(r"^\d+\. `([^`]+)`", listed.group(1), re.M)) == set(path)


@pytest.mark.parametrize("copy", [False, True], ids=["fp32", "onnx"])
def test_loading_reads_the_manifest_once(onnx_copy, tiny_article_model, copy):
    from newsroles.inference.predictor import load_labeler
    from newsroles.model.store.folder import read_manifest

    calls = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is read_manifest.__code__:
            calls.append(frame.f_locals.get("path"))

    sys.setprofile(profile)
    try:
        labeler = load_labeler(onnx_copy if copy else tiny_article_model, "cpu")
    finally:
        sys.setprofile(None)
    assert len(calls) == 1, calls
    assert labeler.version.path == labeler.path and labeler.version.manifest is labeler.manifest


def test_load_labeler_takes_what_label_takes_and_its_settings_as_arguments(tiny_article_model):
    from newsroles.inference.predictor import load_labeler
    from newsroles.model.article import Article, Sentence
    from newsroles.model.errors import UserError

    models_dir = tiny_article_model.parent  # holds tiny_article_model's folder: id 0badc0de, name "tiny"
    by_id = load_labeler("0badc0de", "cpu", models_dir=models_dir)
    newest = load_labeler(None, "cpu", models_dir=models_dir, min_confidence=1.0, withhold_boilerplate=False)
    assert by_id.path == newest.path == tiny_article_model and by_id.version.name == "tiny"
    article = Article("a", [Sentence("Police said two people died on Monday."), Sentence("(Reuters)")])
    by_id.label([article])
    assert article.sentences[0].label is not None and article.sentences[1].reason == "boilerplate"
    newest.label([article])  # every confidence is below 1.0; boilerplate not withheld as such
    assert [s.reason for s in article.sentences] == ["low confidence", "low confidence"]
    with pytest.raises(UserError, match="no model version 'nope'"):
        load_labeler("nope", models_dir=models_dir)
