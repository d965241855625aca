"""Every kind of bad input through the command line, for every command that reads it.

Each bad input gets exactly one line, `error: <file>[:<line>]: <what>`, exit code 2, no traceback,
and nothing written. Input that can still be read (bytes that are not UTF-8, an HTML page with an
article in it) is read, with one clean `warning: ...` line saying what was done.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from conftest import BRAT_MINIATURE, write_file
from newsroles.inference.cli import app
from synthetic import synthetic_articles, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "configs" / "tiny.yaml"
ROLES = ["stance", "quote", "background", "fact"]
NO_GPU = not torch.cuda.is_available()
runner = CliRunner()


def invoke(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


GOOD = {"id": "a", "sentences": [{"text": "Officials said the storm killed 3.", "label": "fact"}]}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(range(1, 200)) * 20
CONTROLS = bytes(range(1, 32)) * 100  # no NUL byte, but nothing like text either
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>Storm hits | Site</title><style>p { color: red }</style>"
    "<script>var tracking = 'do not label me';</script></head><body>"
    "<nav><p>Home</p><p>World</p></nav><header><h1>Storm hits coast</h1></header>"
    "<article><p>A storm killed 12 people on Monday, officials said.</p>"
    "<p>&ldquo;We are doing everything we can,&rdquo; Gov. Smith told reporters.</p></article>"
    "<footer><p>Copyright 2024</p></footer></body></html>"
)
HTML_EMPTY = "<html><head><script>render()</script></head><body><nav><a href='/'>Home</a></nav></body></html>"


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ws(tmp_path_factory, tiny_base_model):
    """A tiny transformer model, a TF-IDF baseline and the data they were trained on."""
    root = tmp_path_factory.mktemp("bad-input")
    train = write_jsonl(synthetic_articles(16, seed=3), root / "train.jsonl")
    dev = write_jsonl(synthetic_articles(4, seed=5), root / "dev.jsonl")
    common = ["--config", TINY, "--data.train", train, "--data.dev", dev]
    trained = invoke("train", *common, "--output", root / "model", "--quiet", "--model.base", tiny_base_model,
                     "--train.epochs", "1", "--train.max_steps", "3")
    assert trained.exit_code == 0, trained.output
    baseline = invoke("baseline", *common, "--output", root / "baseline")
    assert baseline.exit_code == 0, baseline.output
    write_file(root / "story.txt", "Storm hits coast\n\nA storm killed 12 people on Monday, officials said. More rain is expected.\n")
    shutil.copytree(BRAT_MINIATURE / "validation", root / "brat")
    return root


class Ctx:
    """What a case builds its command from: the shared workspace and the test's own folder."""

    def __init__(self, ws: Path, tmp: Path, tiny_base_model: Path):
        self.ws, self.tmp, self.base = ws, tmp, tiny_base_model
        self.model, self.baseline = ws / "model", ws / "baseline"
        self.train_data, self.dev_data = ws / "train.jsonl", ws / "dev.jsonl"

    def file(self, name: str, data: str | bytes) -> Path:
        return write_file(self.tmp / "in" / name, data)

    def broken_model(self, change, source: str = "model") -> Path:
        folder = self.tmp / "in" / f"broken-{source}"
        shutil.copytree(self.ws / source, folder)
        change(folder)
        return folder

    def brat(self, txt: str | bytes | None = None, ann: str | bytes | None = None, drop_ann: bool = False) -> Path:
        """A brat folder: the fixture article, with its .txt and/or .ann replaced (or the .ann removed)."""
        folder = self.tmp / "in" / "brat"
        shutil.copytree(self.ws / "brat", folder)
        if txt is not None:
            write_file(folder / "BXinhua_1.txt", txt)
        if ann is not None:
            write_file(folder / "BXinhua_1.ann", ann)
        if drop_ann:
            (folder / "BXinhua_1.ann").unlink()
        return folder

    def train(self, *extra, cmd: str = "train"):
        args = [cmd, "--config", TINY, "--data.train", self.train_data, "--data.dev", self.dev_data,
                "--output", self.tmp / "out-model"]
        if cmd == "train":
            args += ["--quiet", "--model.base", self.base, "--train.max_steps", "1"]
        return [*args, *extra]

    def label(self, *inputs, model=None, extra=()):
        return ["label", *inputs, "--model", model or self.model, "--output", self.tmp / "out.jsonl", *extra]


def set_manifest_labels(folder: Path, labels: list[str]) -> None:
    manifest = json.loads((folder / "newsroles.json").read_text())
    manifest["labels"] = labels
    (folder / "newsroles.json").write_text(json.dumps(manifest))
    (folder / "labels.json").write_text(json.dumps(labels))


def truncate(path: Path, keep: int = 1000) -> None:
    path.write_bytes(path.read_bytes()[:keep])


# ---------------------------------------------------------------------------------- the cases
# Each case: (id, make(ctx) -> (args, the file (and line) the message must name or None, a fragment of the message)).

CASES = [
    # --- data stats: the labeled-data readers (.jsonl, .csv, .tsv) -----------------------------
    ("stats-missing", lambda c: (["data", "stats", c.tmp / "in" / "nope.jsonl"], c.tmp / "in" / "nope.jsonl", "input file not found")),
    ("stats-folder", lambda c: (["data", "stats", c.ws], c.ws, "is a folder")),
    ("stats-empty", lambda c: (["data", "stats", p := c.file("e.jsonl", "")], p, "file is empty")),
    ("stats-whitespace", lambda c: (["data", "stats", p := c.file("w.jsonl", " \n\t\n  \n")], p, "no articles")),
    ("stats-binary-png", lambda c: (["data", "stats", p := c.file("img.jsonl", PNG)], p, "binary file (a PNG image)")),
    ("stats-binary-csv", lambda c: (["data", "stats", p := c.file("ctl.csv", CONTROLS)], p, "binary file (control characters)")),
    ("stats-nul-line", lambda c: (["data", "stats", p := c.file("n.jsonl", jsonl(GOOD).encode() + b"\x00\x00\n")], f"{p}:2", "binary file (NUL bytes)")),
    ("stats-not-json", lambda c: (["data", "stats", p := c.file("nj.jsonl", jsonl(GOOD, "{not json"))], f"{p}:2", "not valid JSON")),
    ("stats-html-as-jsonl", lambda c: (["data", "stats", p := c.file("h.jsonl", HTML_PAGE)], f"{p}:1", "looks like HTML")),
    ("stats-lacks-sentences", lambda c: (["data", "stats", p := c.file("nf.jsonl", jsonl(GOOD, {"id": "b"}))], f"{p}:2", "has no `sentences`")),
    ("stats-lacks-id", lambda c: (["data", "stats", p := c.file("ni.jsonl", jsonl({"sentences": ["x"]}))], f"{p}:1", "has no `id`")),
    ("stats-sentence-lacks-text", lambda c: (["data", "stats", p := c.file("st.jsonl", jsonl({"id": "a", "sentences": [{"label": "fact"}]}))], f"{p}:1", "has no `text`")),
    ("stats-csv-missing-text", lambda c: (["data", "stats", p := c.file("t.csv", "article_id,label\na,fact\n")], f"{p}:1", "lacks column(s) text")),
    ("stats-csv-missing-id", lambda c: (["data", "stats", p := c.file("i.csv", "text,label\nHello.,fact\n")], f"{p}:1", "lacks column(s) article_id")),
    ("stats-csv-is-tsv", lambda c: (["data", "stats", p := c.file("tab.csv", "article_id\ttext\na\tHello.\n")], f"{p}:1", "name it .tsv")),
    ("stats-csv-short-row", lambda c: (["data", "stats", p := c.file("r.csv", "article_id,text,label\na,One.,fact\na,Two.\n")], f"{p}:3", "row has 2 fields")),
    ("stats-html-file", lambda c: (["data", "stats", p := c.file("page.html", HTML_PAGE)], p, "unsupported input format '.html'")),
    # --- data convert: the brat converter ------------------------------------------------------
    ("convert-missing", lambda c: (["data", "convert", c.tmp / "in" / "none", c.tmp / "out.jsonl"], c.tmp / "in" / "none", "brat folder not found")),
    ("convert-file", lambda c: (["data", "convert", p := c.file("x.txt", "S1 Hi."), c.tmp / "out.jsonl"], p, "not a folder")),
    ("convert-empty-folder", lambda c: (["data", "convert", p := c.file("e/readme.md", "x").parent, c.tmp / "out.jsonl"], p, "no brat articles")),
    ("convert-empty-txt", lambda c: (["data", "convert", p := c.brat(txt=""), c.tmp / "out.jsonl"], p / "BXinhua_1.txt", "article has no sentences")),
    ("convert-binary-txt", lambda c: (["data", "convert", p := c.brat(txt=PNG), c.tmp / "out.jsonl"], p / "BXinhua_1.txt", "binary file (a PNG image)")),
    ("convert-html-txt", lambda c: (["data", "convert", p := c.brat(txt=HTML_PAGE), c.tmp / "out.jsonl"], f"{p / 'BXinhua_1.txt'}:1", "looks like HTML")),
    ("convert-bad-ann-line", lambda c: (["data", "convert", p := c.brat(ann="hello\n"), c.tmp / "out.jsonl"], f"{p / 'BXinhua_1.ann'}:1", "unexpected annotation line")),
    ("convert-unmapped-label", lambda c: (["data", "convert", p := c.brat(ann="T1\tGossip 0 2\tS1\n"), c.tmp / "out.jsonl"], f"{p / 'BXinhua_1.ann'}:1", "covers the label(s) ['Gossip']")),
    ("convert-missing-ann", lambda c: (["data", "convert", p := c.brat(ann=None, drop_ann=True), c.tmp / "out.jsonl"], p / "BXinhua_1.txt", "no annotation file")),
    ("convert-unknown-mapping", lambda c: (["data", "convert", BRAT_MINIATURE, c.tmp / "out", "--mapping", "rolez"], None, "unknown label mapping 'rolez'")),
    ("convert-mapping-unknown-key", lambda c: (["data", "convert", BRAT_MINIATURE, c.tmp / "out", "--mapping", p := c.file("m.yaml", "labels: [a]\nrulez: []\n")], p, "unknown key(s) ['rulez']")),
    ("convert-mapping-binary", lambda c: (["data", "convert", BRAT_MINIATURE, c.tmp / "out", "--mapping", p := c.file("m.yaml", PNG)], p, "binary file")),
    ("convert-bad-dest", lambda c: (["data", "convert", BRAT_MINIATURE, p := c.file("dest.txt", "x")], p, "output must be a .jsonl file or a folder")),
    # --- train: config files, overrides and data ------------------------------------------------
    ("train-config-missing", lambda c: (["train", "--config", c.tmp / "in" / "none.yaml"], c.tmp / "in" / "none.yaml", "config file not found")),
    ("train-config-folder", lambda c: (["train", "--config", c.ws], c.ws, "is a folder, not a config file")),
    ("train-config-empty", lambda c: (["train", "--config", p := c.file("e.yaml", "")], p, "no training data")),
    ("baseline-config-no-data", lambda c: (["baseline", "--config", p := c.file("n.yaml", "seed: 3\n")], p, "no training data")),
    ("train-config-binary", lambda c: (["train", "--config", p := c.file("b.yaml", PNG)], p, "binary file (a PNG image)")),
    ("train-config-not-utf8", lambda c: (["train", "--config", p := c.file("l.yaml", "name: caf\xe9\n".encode("latin-1"))], f"{p}:1", "not UTF-8 text (byte 0xe9)")),
    ("train-config-bad-yaml", lambda c: (["train", "--config", p := c.file("y.yaml", "train:\n  epochs: [1\n")], f"{p}:3", "not valid YAML")),
    ("train-config-not-mapping", lambda c: (["train", "--config", p := c.file("l.yaml", "- train\n- dev\n")], p, "must be a YAML mapping")),
    ("train-config-unknown-section", lambda c: (["train", "--config", p := c.file("s.yaml", "seed: 1\ntrian:\n  epochs: 2\n")], f"{p}:2", "did you mean 'train'?")),
    ("train-config-unknown-key", lambda c: (["train", "--config", p := c.file("k.yaml", "train:\n  learnig_rate: 0.1\n")], f"{p}:2", "did you mean 'train.learning_rate'?")),
    ("train-config-mistyped", lambda c: (["train", "--config", p := c.file("t.yaml", "train:\n  epochs: two\n")], f"{p}:2", "'train.epochs' must be int, got 'two'")),
    ("train-config-bad-choice", lambda c: (["train", "--config", p := c.file("c.yaml", "train:\n  class_weighting: sqr\n")], f"{p}:2", "did you mean 'sqrt'?")),
    ("train-config-epochs-0", lambda c: (["train", "--config", p := c.file("r.yaml", "train:\n  epochs: 0\n")], f"{p}:2", "'train.epochs' must be between 1 and 1000, got 0")),
    ("train-config-lr-range", lambda c: (["train", "--config", p := c.file("r.yaml", "train:\n  learning_rate: 5\n")], f"{p}:2", "'train.learning_rate' must be between")),
    ("train-config-nan", lambda c: (["train", "--config", p := c.file("r.yaml", "train:\n  learning_rate: .nan\n")], f"{p}:2", "got nan")),
    ("train-config-max-length", lambda c: (["train", "--config", p := c.file("r.yaml", "model:\n  max_length: 100000\n")], f"{p}:2", "'model.max_length' must be between")),
    ("train-config-overlap", lambda c: (["train", "--config", p := c.file("r.yaml", "model:\n  window_overlap: 1.5\n")], f"{p}:2", "'model.window_overlap' must be between 0.0 and 0.9")),
    ("train-override-range", lambda c: (c.train("--train.batch_size", "0"), None, "'train.batch_size' must be between 1 and 4096, got 0 (from a command-line override)")),
    ("train-override-unknown", lambda c: (c.train("--train.epoch", "3"), None, "did you mean 'train.epochs'?")),
    ("train-override-no-value", lambda c: (c.train("--train.epochs"), None, "override --train.epochs needs a value")),
    ("train-data-missing", lambda c: (c.train("--data.train", p := c.tmp / "in" / "none.jsonl"), p, "train data not found")),
    ("train-data-other-labels", lambda c: (c.train("--data.train", p := c.file("o.jsonl", jsonl(GOOD, {"id": "b", "sentences": [{"text": "x", "label": "rumour"}]}))), f"{p}:2", "label 'rumour' is not one of the label mapping's labels")),
    ("train-data-unlabeled", lambda c: (c.train("--data.train", p := c.file("u.jsonl", jsonl({"id": "a", "sentences": ["No label here."]}))), p, "no labeled sentences")),
    ("train-data-binary", lambda c: (c.train("--data.train", p := c.file("b.jsonl", PDF)), p, "binary file (a PDF document)")),
    ("train-dev-csv-missing-text", lambda c: (c.train("--data.dev", p := c.file("d.csv", "article_id,label\na,fact\n")), f"{p}:1", "lacks column(s) text")),
    ("train-base-missing", lambda c: (c.train("--model.base", p := c.tmp / "in" / "nobase"), p, "base model folder not found")),
    pytest.param("train-no-gpu", lambda c: (c.train("--train.device", "cuda"), None, "no CUDA GPU is available"), marks=pytest.mark.skipif(not NO_GPU, reason="a GPU is present")),
    # --- baseline ---------------------------------------------------------------------------------
    ("baseline-data-missing", lambda c: (c.train("--data.train", p := c.tmp / "in" / "none.csv", cmd="baseline"), p, "train data not found")),
    ("baseline-other-labels", lambda c: (c.train("--data.train", p := c.file("o.csv", "article_id,text,label\na,One.,fact\na,Two.,gossip\n"), cmd="baseline"), f"{p}:3", "label 'gossip'")),
    ("baseline-one-label", lambda c: (c.train("--data.train", p := c.file("one.jsonl", jsonl(GOOD)), cmd="baseline"), p, "only one label ('fact')")),
    ("baseline-out-of-range", lambda c: (c.train("--baseline.ngram_max", "9", cmd="baseline"), None, "'baseline.ngram_max' must be between 1 and 5")),
    # --- evaluate: data, and model folders that are missing files or corrupt ----------------------
    ("evaluate-data-missing", lambda c: (["evaluate", c.model, p := c.tmp / "in" / "none.jsonl"], p, "input file not found")),
    ("evaluate-other-labels", lambda c: (["evaluate", c.model, p := c.file("o.jsonl", jsonl(GOOD, {"id": "b", "sentences": [{"text": "x", "label": "rumour"}, {"text": "y", "label": "gossip"}]}))],
                                         f"{p}:2", "not one of the model's labels ['stance', 'quote', 'background', 'fact']; the file has 2 labels outside that set: 'gossip', 'rumour'")),
    ("evaluate-other-labels-baseline", lambda c: (["evaluate", c.baseline, p := c.file("o.tsv", "article_id\ttext\tlabel\na\tOne.\tfact\na\tTwo.\topinion\n")], f"{p}:3", "label 'opinion' is not one of the model's labels")),
    ("evaluate-unlabeled", lambda c: (["evaluate", c.model, p := c.file("u.jsonl", jsonl({"id": "a", "sentences": ["x"]}))], p, "no labeled sentences to score")),
    ("evaluate-binary-data", lambda c: (["evaluate", c.model, p := c.file("b.csv", PNG)], p, "binary file")),
    ("evaluate-model-missing", lambda c: (["evaluate", p := c.tmp / "in" / "nomodel", c.dev_data], p, "model folder not found")),
    ("evaluate-not-a-model", lambda c: (["evaluate", p := c.file("m/readme.txt", "x").parent, c.dev_data], p, "not a newsroles model folder")),
    ("evaluate-no-weights", lambda c: (["evaluate", p := c.broken_model(lambda f: (f / "model.safetensors").unlink()), c.dev_data], p, "model.safetensors is missing")),
    ("evaluate-truncated-weights", lambda c: (["evaluate", p := c.broken_model(lambda f: truncate(f / "model.safetensors")), c.dev_data], p / "model.safetensors", "corrupt or mismatched weights")),
    ("evaluate-garbage-weights", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "model.safetensors", os.urandom(4096))), c.dev_data], p / "model.safetensors", "corrupt or mismatched weights")),
    ("evaluate-weights-do-not-fit", lambda c: (["evaluate", p := c.broken_model(lambda f: set_manifest_labels(f, ROLES[:3])), c.dev_data], p / "model.safetensors", "do not fit the model newsroles.json and config.yaml describe: ")),
    ("evaluate-corrupt-manifest", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "newsroles.json", '{"kind": "transf')), c.dev_data], p / "newsroles.json", "corrupt manifest")),
    ("evaluate-labels-json-disagrees", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "labels.json", '["a", "b", "c", "d"]')), c.dev_data], p, "labels.json lists ['a', 'b', 'c', 'd']")),
    ("evaluate-corrupt-labels-json", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "labels.json", "[[")), c.dev_data], p / "labels.json", "corrupt label list")),
    ("evaluate-corrupt-config", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "config.yaml", "model: [\n")), c.dev_data], f"{p / 'config.yaml'}:2", "corrupt config")),
    ("evaluate-binary-config", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "config.yaml", b"\xff\xfe\x00\x01")), c.dev_data], p / "config.yaml", "corrupt config")),
    ("evaluate-corrupt-tokenizer", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "tokenizer.json", "{")), c.dev_data], p, "cannot rebuild the encoder or tokenizer")),
    ("evaluate-corrupt-baseline", lambda c: (["evaluate", p := c.broken_model(lambda f: write_file(f / "baseline.safetensors", os.urandom(512)), "baseline"), c.dev_data], p / "baseline.safetensors", "corrupt weights")),
    pytest.param("evaluate-no-gpu", lambda c: (["evaluate", c.model, c.dev_data, "--device", "cuda"], None, "no CUDA GPU is available"), marks=pytest.mark.skipif(not NO_GPU, reason="a GPU is present")),
    # --- label: text files, folders, JSONL, CSV, HTML, stdin; models; outputs ---------------------
    ("label-missing", lambda c: (c.label(p := c.tmp / "in" / "none.txt"), p, "no such file or directory")),
    ("label-empty", lambda c: (c.label(p := c.file("e.txt", "")), p, "empty article")),
    ("label-whitespace", lambda c: (c.label(p := c.file("w.txt", "  \n\t \n")), p, "empty article")),
    ("label-binary-nul", lambda c: (c.label(p := c.file("b.txt", b"GIF89a\x00\x01binary")), p, "binary file")),
    ("label-binary-png", lambda c: (c.label(p := c.file("img.txt", PNG)), p, "binary file (a PNG image)")),
    ("label-binary-pdf", lambda c: (c.label(p := c.file("doc.md", PDF)), p, "binary file (a PDF document)")),
    ("label-binary-controls", lambda c: (c.label(p := c.file("c.txt", CONTROLS)), p, "binary file (control characters)")),
    ("label-empty-folder", lambda c: (c.label(p := c.file("d/notes.doc", "x").parent), p, "directory holds no inputs")),
    ("label-empty-jsonl", lambda c: (c.label(p := c.file("e.jsonl", "\n\n")), p, "empty file")),
    ("label-jsonl-not-json", lambda c: (c.label(p := c.file("n.jsonl", jsonl("{oops", {"id": "b", "text": "Fine."}))), f"{p}:1", "not valid JSON")),
    ("label-jsonl-html-line", lambda c: (c.label(p := c.file("h.jsonl", HTML_PAGE + "\n")), f"{p}:1", "looks like HTML")),
    ("label-jsonl-no-text", lambda c: (c.label(p := c.file("t.jsonl", jsonl({"id": "a", "body": "x"}))), f"{p}:1", "record 'a' lacks 'text'")),
    ("label-jsonl-no-id", lambda c: (c.label(p := c.file("i.jsonl", jsonl({"text": "x"}))), f"{p}:1", "record lacks 'id'")),
    ("label-jsonl-html-nothing", lambda c: (c.label(p := c.file("x.jsonl", jsonl({"id": "a", "text": HTML_EMPTY}))), f"{p}:1", "HTML page with no article text")),
    ("label-html-nothing", lambda c: (c.label(p := c.file("page.html", HTML_EMPTY)), p, "HTML page with no article text")),
    ("label-html-as-txt-nothing", lambda c: (c.label(p := c.file("page.txt", HTML_EMPTY)), p, "HTML page with no article text")),
    ("label-csv-missing-text", lambda c: (c.label(p := c.file("t.csv", "article_id,label\na,fact\n")), f"{p}:1", "lacks column(s) text")),
    ("label-csv-empty-text", lambda c: (c.label(p := c.file("t.csv", "article_id,text\na, \n")), f"{p}:2", "`text` is empty")),
    ("label-stdin-binary", lambda c: (c.label("-"), "<stdin>", "binary file"), b"\x00\x01\x02\x03"),
    ("label-model-missing", lambda c: (c.label(c.ws / "story.txt", model=(p := c.tmp / "in" / "nomodel")), p, "model folder not found")),
    ("label-model-corrupt", lambda c: (c.label(c.ws / "story.txt", model=(p := c.broken_model(lambda f: truncate(f / "model.safetensors", 7)))), p / "model.safetensors", "corrupt or mismatched weights")),
    ("label-output-folder", lambda c: (["label", c.ws / "story.txt", "--model", c.model, "--output", p := c.file("o/keep.txt", "x").parent], p, "output is a folder")),
    ("label-output-format", lambda c: (["label", c.ws / "story.txt", "--model", c.model, "--output", p := c.tmp / "out.xml"], p, "cannot tell the output format")),
    pytest.param("label-no-gpu", lambda c: (c.label(c.ws / "story.txt", extra=["--device", "cuda"]), None, "no CUDA GPU is available"), marks=pytest.mark.skipif(not NO_GPU, reason="a GPU is present")),
    pytest.param("label-no-gpu-baseline", lambda c: (c.label(c.ws / "story.txt", model=c.baseline, extra=["--device", "cuda"]), None, "no CUDA GPU is available"), marks=pytest.mark.skipif(not NO_GPU, reason="a GPU is present")),
    # --- compare, models show, export ---------------------------------------------------------------
    ("compare-other-labels", lambda c: (["compare", c.model, c.baseline, "--data", p := c.file("o.jsonl", jsonl({"id": "a", "sentences": [{"text": "x", "label": "rumour"}]})), "--no-record"], f"{p}:1", "label 'rumour' is not one of the models' labels")),
    ("compare-data-missing", lambda c: (["compare", c.model, c.baseline, "--data", p := c.tmp / "in" / "none.jsonl", "--no-record"], p, "input file not found")),
    ("compare-corrupt-model", lambda c: (["compare", c.model, p := c.broken_model(lambda f: truncate(f / "model.safetensors")), "--data", c.dev_data, "--no-record"], p / "model.safetensors", "corrupt")),
    ("compare-one-model", lambda c: (["compare", c.model, "--data", c.dev_data], None, "at least two models")),
    ("models-show-unknown", lambda c: (["models", "show", "nope", "--models-dir", p := c.file("models/readme.txt", "x").parent], p, "no model folder 'nope'")),
    ("models-show-corrupt", lambda c: (["models", "show", p := c.broken_model(lambda f: write_file(f / "newsroles.json", b"\xff\x00"))], p / "newsroles.json", "corrupt manifest")),
    ("export-missing", lambda c: (["export", p := c.tmp / "in" / "nomodel", "--output", c.tmp / "exported"], p, "model folder not found")),
    ("export-baseline", lambda c: (["export", c.baseline, "--output", c.tmp / "exported"], c.baseline, "only transformer models can be exported")),
    ("export-runtime", lambda c: (["export", c.model, "--runtime", "tpu", "--output", c.tmp / "exported"], None, "'tpu' is not one of 'onnx', 'onnx-int8'")),
    ("export-check-other-labels", lambda c: (["export", c.model, "--data", p := c.file("o.jsonl", jsonl({"id": "a", "sentences": [{"text": "x", "label": "rumour"}]})), "--runtime", "int8", "--output", c.tmp / "exported"], f"{p}:1", "label 'rumour'")),
]


def _case_params():
    for case in CASES:
        if isinstance(case, type(pytest.param(None))):
            yield pytest.param(case.values[1], None, id=case.values[0], marks=case.marks)
        else:
            yield pytest.param(case[1], case[2] if len(case) > 2 else None, id=case[0])


def snapshot(*folders: Path) -> set[Path]:
    return {p for folder in folders for p in folder.rglob("*")}


def assert_one_error_line(result, where, fragment: str) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    line = lines[0]
    assert line.startswith("error: "), line
    if where is not None:
        assert line.startswith(f"error: {where}: "), (line, str(where))
    assert fragment in line, line
    return line


@pytest.mark.parametrize("make, stdin", list(_case_params()))
def test_bad_input_gets_one_line_exit_2_and_writes_nothing(ws, tmp_path, tiny_base_model, make, stdin):
    ctx = Ctx(ws, tmp_path, tiny_base_model)
    args, where, fragment = make(ctx)
    before = snapshot(tmp_path, ws)
    result = invoke(*args, input=stdin)
    assert_one_error_line(result, where, fragment)
    assert snapshot(tmp_path, ws) == before, "a failed command must not write anything"


# ------------------------------------------------------------------------------ unreadable files


@pytest.fixture
def deny_reading(monkeypatch):
    """Call it to make files whose name starts with 'unreadable' fail to open with EACCES, even
    for root (as tests may run): chmod alone cannot show it then."""

    def deny() -> None:
        real_open = builtins.open

        def fake_open(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.path.basename(os.fspath(file)).startswith("unreadable"):
                raise PermissionError(13, "Permission denied", os.fspath(file))
            return real_open(file, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)

    return deny


@pytest.mark.parametrize(
    "make",
    [
        lambda c, p: ["data", "stats", p("unreadable.jsonl", jsonl(GOOD))],
        lambda c, p: ["data", "stats", p("unreadable.csv", "article_id,text\na,One.\n")],
        lambda c, p: c.label(p("unreadable.txt", "A story. It is short.")),
        lambda c, p: c.label(p("unreadable.jsonl", jsonl({"id": "a", "text": "A story."}))),
        lambda c, p: ["train", "--config", p("unreadable.yaml", "seed: 1\n")],
        lambda c, p: ["evaluate", c.model, p("unreadable.jsonl", jsonl(GOOD))],
    ],
    ids=["stats-jsonl", "stats-csv", "label-text", "label-jsonl", "train-config", "evaluate-data"],
)
def test_unreadable_files(ws, tmp_path, tiny_base_model, deny_reading, make):
    ctx = Ctx(ws, tmp_path, tiny_base_model)
    made = []

    def p(name, text):
        made.append(write_file(tmp_path / "in" / name, text))
        os.chmod(made[-1], 0)
        return made[-1]

    args = make(ctx, p)
    deny_reading()
    before = snapshot(tmp_path)
    result = invoke(*args)
    assert_one_error_line(result, made[0], "ermission denied")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------------------- --skip-bad


def test_label_skip_bad_carries_on_and_counts(ws, tmp_path):
    folder = tmp_path / "in"
    write_file(folder / "a.jsonl", jsonl({"id": "a1", "text": "Officials said it rained."}, "{broken", {"id": "a3"}))
    write_file(folder / "b.txt", PNG)
    write_file(folder / "c.txt", "   ")
    write_file(folder / "d.html", HTML_EMPTY)
    write_file(folder / "e.txt", "The storm killed 3 people. Police said so.")
    out = tmp_path / "out.jsonl"
    result = invoke("label", folder, "--model", ws / "model", "--output", out, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a1", "e"]
    assert "skipped 5 bad records" in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 5
    assert skipped[0].startswith(f"skipped: {folder / 'a.jsonl'}:2: not valid JSON")
    assert skipped[1].startswith(f"skipped: {folder / 'a.jsonl'}:3: ")
    assert "b.txt: binary file (a PNG image)" in skipped[2]
    assert "c.txt: empty article" in skipped[3]
    assert "d.html: HTML page with no article text" in skipped[4]


def test_label_skip_bad_skips_bad_csv_rows(ws, tmp_path):
    data = write_file(tmp_path / "in.csv", "article_id,text\na,One fine sentence.\n,No id here.\nb,Another one.\nb,\" \"\n")
    out = tmp_path / "out.csv"
    result = invoke("label", data, "--model", ws / "baseline", "--output", out, "--skip-bad", "--quiet")
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == ["a", "b"]
    assert [line for line in result.stderr.splitlines() if line.startswith("skipped: ")] == [
        f"skipped: {data}:3: `article_id` is empty",
        f"skipped: {data}:5: article 'b': `text` is empty",
    ]


def test_convert_skip_bad_carries_on_and_counts(ws, tmp_path):
    source = tmp_path / "brat"
    shutil.copytree(ws / "brat", source)
    write_file(source / "Broken.txt", b"\x00\x01\x02")
    write_file(source / "Broken.ann", "")
    write_file(source / "Orphan.ann", "T1\tMain 0 2\tS1\n")
    out = tmp_path / "out.jsonl"
    result = invoke("data", "convert", source, out, "--skip-bad")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["BXinhua_1"]
    assert "skipped 2 bad articles" in result.stderr
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert skipped == [
        f"skipped: {source / 'Orphan.ann'}: annotation file without its text Orphan.txt",
        f"skipped: {source / 'Broken.txt'}: binary file (NUL bytes), not text",
    ]


# ------------------------------------------------------------- warnings: read, and said in one line


def assert_one_warning_line(result, fragment: str) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    warning_lines = [line for line in lines if line.startswith("warning: ")]
    assert len(warning_lines) == 1, result.stderr
    assert fragment in warning_lines[0], warning_lines[0]
    # Not Python's own format ("file.py:12: InputWarning: ..." and the source line below it).
    assert "InputWarning" not in result.output and "warnings.warn" not in result.output, result.output
    return warning_lines[0]


def test_label_text_that_is_not_utf8_is_decoded_with_one_warning(ws, tmp_path):
    story = write_file(tmp_path / "latin1.txt", "Café owners said prices rose. They were angry.".encode("latin-1"))
    out = tmp_path / "out.jsonl"
    result = invoke("label", story, "--model", ws / "model", "--output", out, "--quiet")
    line = assert_one_warning_line(result, f"warning: {story}:1: not valid UTF-8 (byte 0xe9 at column 4)")
    assert "replaced with U+FFFD" in line
    (article,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert [s["text"] for s in article["sentences"]] == ["Caf\ufffd owners said prices rose.", "They were angry."]


@pytest.mark.parametrize("name", ["page.html", "page.htm", "page.txt"])
def test_label_html_page_extracts_the_article_with_one_warning(ws, tmp_path, name):
    page = write_file(tmp_path / name, HTML_PAGE)
    out = tmp_path / "out.jsonl"
    result = invoke("label", page, "--model", ws / "model", "--output", out, "--quiet")
    assert_one_warning_line(result, f"warning: {page}: HTML: took the main text of the page, 2 paragraphs (title 'Storm hits coast')")
    (article,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert article["title"] == "Storm hits coast"
    assert "meta" not in article  # no date in the markup; none guessed from "Copyright 2024"
    assert [s["text"] for s in article["sentences"]] == [
        "A storm killed 12 people on Monday, officials said.",
        "“We are doing everything we can,” Gov. Smith told reporters.",
    ]
    assert [s["paragraph"] for s in article["sentences"]] == [0, 1]


def test_label_jsonl_text_holding_html_warns_with_its_line(ws, tmp_path):
    data = write_file(tmp_path / "in.jsonl", jsonl({"id": "x", "text": "Plain text. Nothing odd."}, {"id": "y", "text": "<p>One.</p><p>Two.</p>"}))
    out = tmp_path / "out.jsonl"
    result = invoke("label", data, "--model", ws / "baseline", "--output", out, "--quiet")
    assert_one_warning_line(result, f"warning: {data}:2: HTML: took the main text of the page, 2 paragraphs")
    y = json.loads(out.read_text().splitlines()[1])
    assert [s["text"] for s in y["sentences"]] == ["One.", "Two."]


def test_stats_and_baseline_read_non_utf8_data_with_one_warning(ws, tmp_path):
    good = (ws / "train.jsonl").read_bytes()
    data = write_file(tmp_path / "train.jsonl", good + b'{"id": "z", "sentences": [{"text": "caf\xe9 said", "label": "quote"}]}\n')
    line_no = len(good.splitlines()) + 1
    result = invoke("data", "stats", data, "--json")
    assert_one_warning_line(result, f"warning: {data}:{line_no}: not valid UTF-8 (byte 0xe9")
    result = invoke("baseline", "--config", TINY, "--data.train", data, "--data.dev", ws / "dev.jsonl", "--output", tmp_path / "b")
    assert_one_warning_line(result, f"warning: {data}:{line_no}: not valid UTF-8")


def test_convert_non_utf8_brat_with_one_warning(ws, tmp_path):
    source = tmp_path / "brat"
    shutil.copytree(ws / "brat", source)
    txt = source / "BXinhua_1.txt"
    txt.write_bytes(txt.read_bytes().replace(b"Heavy rain", b"Heavy r\xe4in"))
    result = invoke("data", "convert", source, tmp_path / "out.jsonl")
    assert_one_warning_line(result, f"warning: {txt}:10: not valid UTF-8 (byte 0xe4")


def test_models_show_with_a_corrupt_card_warns_and_shows_a_generated_one(ws, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(ws / "model", folder)
    write_file(folder / "README.md", PNG)
    result = invoke("models", "show", folder)
    assert_one_warning_line(result, f"warning: {folder / 'README.md'}: corrupt model card (not text)")


# ------------------------------------------------------------------ inputs that are odd but fine


def test_one_word_article(ws, tmp_path):
    out = tmp_path / "out.jsonl"
    result = invoke("label", write_file(tmp_path / "one.txt", "Hello"), "--model", ws / "model", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    (article,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert [s["text"] for s in article["sentences"]] == ["Hello"]
    assert labeled_or_withheld(article["sentences"][0])


def test_ten_thousand_character_sentences(ws, tmp_path):
    words = ("officials said the storm killed people on monday and analysts expect years of rebuilding " * 200).split()
    sentence = " ".join(words)[:9999].rstrip() + "."
    assert len(sentence) >= 9_900
    text = "Long story\n\n" + " ".join(sentence[0].upper() + sentence[1:] for _ in range(5))
    out = tmp_path / "out.jsonl"
    result = invoke("label", write_file(tmp_path / "long.txt", text), "--model", ws / "model", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    (article,) = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(article["sentences"]) == 5
    assert all(len(s["text"]) == len(sentence) and labeled_or_withheld(s) for s in article["sentences"])


def labeled_or_withheld(sentence: dict) -> bool:
    """The model ran on the sentence: a role, or none with a reason (this 3-step model's boilerplate
    head is untrained, so any line may come out as boilerplate), and the scores either way."""
    ran = set(sentence["scores"]) == set(ROLES)
    return ran and (sentence["label"] in ROLES or (sentence["label"] is None and sentence["reason"] == "boilerplate"))


MEMORY_PROBE = """
import json, sys
from newsroles.inference.cli import app

def run(args):
    try:
        app(args)
    except SystemExit as exc:
        return exc.code
    return 0

def status(key):
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(key)).split()[1]) // 1024

warm_up, measured = json.loads(sys.argv[1])
assert run(warm_up) == 0  # every module the command imports, and the model, are loaded now
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # resets the peak (VmHWM) to the current resident size
except OSError:
    print("memory cannot-reset", file=sys.stderr)
    sys.exit(0)
before = status("VmRSS:")
code = run(measured)
print("memory", before, status("VmHWM:"), code, file=sys.stderr)
"""


def _memory_growth_mb(warm_up: list, measured: list) -> int:
    """Peak resident memory of `newsroles <measured>` above what `newsroles <warm_up>` left, in MB."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    arg = json.dumps([[str(a) for a in warm_up], [str(a) for a in measured]])
    done = subprocess.run([sys.executable, "-c", MEMORY_PROBE, arg], env=env, capture_output=True, text=True, timeout=300)
    last = done.stderr.strip().splitlines()[-1].split()
    if last[:2] == ["memory", "cannot-reset"]:
        pytest.skip("this kernel does not let a process reset its peak memory")
    assert last[0] == "memory" and last[3] == "0", done.stderr[-2000:]
    return int(last[2]) - int(last[1])


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux's /proc/self/clear_refs")
@pytest.mark.parametrize("model", ["baseline", "model"])
def test_five_megabyte_article_labels_with_bounded_memory(ws, tmp_path, model):
    """A 5 MB article costs its sentences and their scores, not copies per step: the transformer's
    tokenizer encodings and windows are made in slices (model/windows.py)."""
    sentence = "Officials said the storm killed {n} people on Monday, and analysts expect years of rebuilding."
    paragraphs = [" ".join(sentence.format(n=i * 5 + k) for k in range(5)) for i in range(11_000)]
    big = write_file(tmp_path / "big.txt", "Big story\n\n" + "\n\n".join(paragraphs))
    assert big.stat().st_size > 5_000_000
    small = write_file(tmp_path / "small.txt", "Small story\n\n" + paragraphs[0])
    out = tmp_path / "out.jsonl"
    common = ["--model", ws / model, "--quiet"]
    if model == "model":  # half a megabyte: the tiny BERT takes its time on a CPU
        big = write_file(tmp_path / "big.txt", "Big story\n\n" + "\n\n".join(paragraphs[:1_100]))
    growth = _memory_growth_mb(["label", small, "--output", tmp_path / "small.jsonl", *common], ["label", big, "--output", out, *common])
    (line,) = out.read_text().splitlines()
    assert len(json.loads(line)["sentences"]) == (55_000 if model == "baseline" else 5_500)
    assert growth < (300 if model == "baseline" else 100), growth


# -------------------------------------------------------------------------------- out of memory


def _oom(*args, **kwargs):
    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_label_out_of_memory_says_which_batch_size_to_try(ws, tmp_path, monkeypatch):
    from newsroles.model.network.classifier import SentenceRoleModel

    monkeypatch.setattr(SentenceRoleModel, "forward", _oom)
    out = tmp_path / "out.jsonl"
    result = invoke("label", ws / "story.txt", "--model", ws / "model", "--output", out, "--batch-size", "8")
    assert_one_error_line(result, None, "ran out of memory labeling with batch size 8; retry with a smaller batch: --batch-size 4")
    assert not list(tmp_path.iterdir())


def test_evaluate_out_of_memory_default_batch_size(ws, monkeypatch):
    from newsroles.model.network.classifier import SentenceRoleModel

    def runtime_oom(*args, **kwargs):
        raise RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported")

    monkeypatch.setattr(SentenceRoleModel, "forward", runtime_oom)
    result = invoke("evaluate", ws / "model", ws / "dev.jsonl", "--no-record")
    assert_one_error_line(result, None, "batch size 32; retry with a smaller batch: --batch-size 16")


def test_train_out_of_memory_says_which_batch_size_to_try(ws, tmp_path, tiny_base_model, monkeypatch):
    from newsroles.model.network.classifier import SentenceRoleModel

    monkeypatch.setattr(SentenceRoleModel, "forward", _oom)
    ctx = Ctx(ws, tmp_path, tiny_base_model)
    result = invoke(*ctx.train("--train.batch_size", "6"))
    assert_one_error_line(result, None, "ran out of memory training with batch size 6; retry with a smaller batch: --train.batch_size 3")
    assert not (tmp_path / "out-model").exists()
