"""The command line end to end, and its answers to bad input: one line, exit code 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from conftest import BRAT_MINIATURE
from synthetic import synthetic_articles, write_jsonl

runner = CliRunner()

STORY = """Storm hits coast

WASHINGTON -- A storm killed 12 people on Monday, officials said. "We are doing everything we can," Gov. Smith told reporters.

The region was hit by a similar storm in 1998. Analysts expect rebuilding to take years.
"""


def invoke(*args, input=None, env=None):
    result = runner.invoke(app, [str(a) for a in args], input=input, env=env)
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_base_model):
    """Convert the brat fixture, train a tiny article model and a baseline through the CLI."""
    root = tmp_path_factory.mktemp("cli")
    converted = invoke("data", "convert", BRAT_MINIATURE, root / "data")
    assert converted.exit_code == 0, converted.output
    # The brat fixture is too small to learn from; train on synthetic articles, dev on the converted split.
    train = write_jsonl(synthetic_articles(24, seed=4), root / "train.jsonl")
    common = ["--config", "configs/tiny.yaml", "--data.train", train, "--data.dev", root / "data" / "validation.jsonl"]
    trained = invoke("train", *common, "--output", root / "model", "--quiet", "--model.base", tiny_base_model, "--train.epochs", "1")
    assert trained.exit_code == 0, trained.output
    baseline = invoke("baseline", *common, "--output", root / "baseline", "--baseline.C", "1.0")
    assert baseline.exit_code == 0, baseline.output
    story = root / "story.txt"
    story.write_text(STORY, encoding="utf-8")
    return root


def test_convert_writes_one_jsonl_per_split(workspace):
    lines = (workspace / "data" / "train.jsonl").read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert {"id", "title", "sentences"} <= set(record)
    assert all("source_labels" in s for s in record["sentences"])


def test_data_stats_reports_the_label_distribution(workspace):
    result = invoke("data", "stats", workspace / "data" / "train.jsonl", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    assert stats["articles"] == 2 and stats["sentences"] == 10


@pytest.mark.parametrize("model", ["model", "baseline"])
def test_evaluate_writes_metrics_json(workspace, model, tmp_path):
    out = tmp_path / "eval.json"
    result = invoke("evaluate", workspace / model, workspace / "data" / "validation.jsonl", "--output", out)
    assert result.exit_code == 0, result.output
    assert "macro F1" in result.output and "Confusion" in result.output
    metrics = json.loads(out.read_text())
    assert metrics["n"] == 4  # validation fixture: 5 sentences, one NA
    assert set(metrics["per_label"]) == {"stance", "quote", "background", "fact"}
    assert len(metrics["confusion_matrix"]) == 4


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_label_a_story_file(workspace, fmt, tmp_path):
    out = tmp_path / f"labels.{fmt}"
    result = invoke("label", workspace / "story.txt", "--model", workspace / "model", "--output", out, "--quiet")
    assert result.exit_code == 0, result.output
    if fmt == "jsonl":
        article = json.loads(out.read_text().splitlines()[0])
        assert article["id"] == "story" and article["title"] == "Storm hits coast"
        texts = [s["text"] for s in article["sentences"]]
        assert texts[0].startswith("WASHINGTON -- A storm killed 12 people")
        assert any(t.startswith('"We are doing everything') for t in texts)
        assert len(texts) == 4
        story = (workspace / "story.txt").read_text(encoding="utf-8")
        assert article["offsets_into"] == "text"
        for s in article["sentences"]:
            assert s["label"] in {"stance", "quote", "background", "fact"}
            assert 0.25 <= s["confidence"] <= 1.0
            assert abs(sum(s["scores"].values()) - 1.0) < 1e-4
            assert story[s["start"]:s["end"]] == s["text"]
    else:
        header, *rows = out.read_text().splitlines()
        assert header.startswith("article_id,sentence_index,text,label,confidence")
        assert header.endswith(",start,end,offsets_into")
        assert len(rows) == 4


def test_label_jsonl_from_stdin_to_terminal(workspace):
    record = json.dumps({"id": "x1", "text": "Officials said the storm killed 3 people."})
    result = invoke("label", "-", "--model", workspace / "baseline", input=record + "\n")
    assert result.exit_code == 0, result.output
    assert "x1" in result.output and "Officials said" in result.output
    assert "0-41" not in result.output
    shown = invoke("label", "-", "--model", workspace / "baseline", "--offsets", input=record + "\n")
    assert shown.exit_code == 0 and "0-41" in shown.output, shown.output


BAD_JSONL = '{"id": "a", "sentences": [{"text": "ok", "label": "fact"}]}\n{not json\n'
OTHER_LABEL = '{"id": "a", "sentences": [{"text": "ok", "label": "rumour"}]}\n'


@pytest.mark.parametrize(
    "make_args, expected",
    [
        (lambda w, t: ["evaluate", w / "model", t / "missing.jsonl"], "missing.jsonl"),
        (lambda w, t: ["evaluate", t, w / "data" / "validation.jsonl"], "not a newsroles model folder"),
        (lambda w, t: ["evaluate", w / "model", write(t / "bad.jsonl", BAD_JSONL)], "bad.jsonl:2"),
        (lambda w, t: ["evaluate", w / "model", write(t / "other.jsonl", OTHER_LABEL)], "rumour"),
        (lambda w, t: ["label", write(t / "empty.txt", "   \n"), "--model", w / "model"], "empty.txt"),
        (lambda w, t: ["label", t / "nope.txt", "--model", w / "model"], "nope.txt"),
        (lambda w, t: ["train", "--config", write(t / "c.yaml", "train:\n  epoch: 2\n")], "did you mean 'train.epochs'"),
        (lambda w, t: ["train", "--config", "configs/tiny.yaml", "--model.type", "artcle"], "did you mean 'article'"),
        (lambda w, t: ["data", "stats", write(t / "s.jsonl", BAD_JSONL)], "s.jsonl:2"),
        (lambda w, t: ["data", "convert", t / "nothing", t / "out.jsonl"], "nothing"),
    ],
    ids=["missing-data", "not-a-model", "bad-json-line", "unknown-label", "empty-article", "missing-input",
         "config-typo", "bad-choice", "stats-bad-line", "convert-missing"],
)
def test_bad_input_gets_one_line_and_exit_code_2(workspace, tmp_path, make_args, expected):
    args = make_args(workspace, tmp_path)
    before = set(tmp_path.rglob("*"))
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert set(tmp_path.rglob("*")) == before, "a failed command must not write anything"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def all_commands():
    """Every command and subcommand of the app, as (its words, its click command): a new one is covered at once."""
    import typer

    def walk(command, words):
        subcommands = getattr(command, "commands", {})
        if words:
            yield words, command
        for name, sub in sorted(subcommands.items()):
            yield from walk(sub, [*words, name])

    return list(walk(typer.main.get_command(app), []))


# What each command reads, as its --help must list it (training/data/readers.py, inference/io/inputs.py).
DATA_FORMATS = (".jsonl", ".csv", ".tsv", ".parquet", ".arrow", "hf:")
LABEL_INPUTS = (".txt", ".html", ".jsonl", ".csv", ".tsv", ".parquet", "folder", "- for stdin")


def help_text(words) -> str:
    result = invoke(*words, "--help", env={"COLUMNS": "2000"})
    assert result.exit_code == 0, (words, result.output)
    return " ".join(result.output.split())


def test_every_command_has_help_with_an_example():
    commands = all_commands()
    assert {"evaluate", "compare", "export", "label", "serve"} <= {" ".join(w) for w, _ in commands}
    for words in [[]] + [w for w, _ in commands]:
        assert "Example" in help_text(words), words


def test_every_help_lists_every_format_the_command_reads():
    for words, command in all_commands():
        names = {opt for p in command.params for opt in p.opts}
        text = help_text(words)
        if "--data" in names:
            missing = [f for f in DATA_FORMATS if f not in text]
            assert not missing, (words, missing)
    label = help_text(["label"])
    assert not [f for f in LABEL_INPUTS if f not in label], label


def test_each_short_flag_means_one_thing_in_every_command():
    meanings: dict[str, set[str]] = {}
    for words, command in all_commands():
        for param in command.params:
            if getattr(param, "hidden", False) or param.param_type_name != "option":
                continue  # a hidden option is a deprecated spelling, kept for one release
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts + param.secondary_opts if not o.startswith("--")):
                meanings.setdefault(short, set()).update(longs)
    clashes = {short: longs for short, longs in meanings.items() if len(longs) > 1}
    assert not clashes, clashes
    assert meanings["-m"] == {"--model"} and meanings["-d"] == {"--data"} and meanings["-o"] == {"--output"}


def test_the_model_and_the_data_are_spelled_one_way():
    for words, command in all_commands():
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if "--model" in param.opts:
                assert "-m" in param.opts, words
            if "--data" in param.opts:
                assert "-d" in param.opts, words
            if "--models-dir" in param.opts:
                assert param.opts == ["--models-dir"], (words, param.opts)
        arguments = [p for p in command.params if p.param_type_name == "argument"]
        if any("--model" in p.opts for p in command.params):
            continue  # its positional arguments are its input (label, select, data convert)
        if arguments and arguments[0].name in ("models", "arguments", "ref", "model"):
            assert "MODEL" in (arguments[0].metavar or ""), words


def choices_of(param) -> list[str] | None:
    """The values a parameter is limited to (typer with click: param.type.choices; typer >= 0.2x: its enum)."""
    from enum import Enum

    values = getattr(getattr(param, "type", None), "choices", None)
    if values:
        return [str(getattr(v, "value", v)) for v in values]
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [m.value for m in annotation]
    return None


def test_choices_are_validated_and_completed():
    choices = {}
    for words, command in all_commands():
        for param in command.params:
            for name in ("--device", "--format", "--engine", "--runtime", "--measure", "--aggregate", "--annotators"):
                if name in param.opts and not getattr(param, "hidden", False):
                    values = choices_of(param)
                    assert values, (words, name)  # not a free string
                    choices.setdefault(name, set()).update(values)
    assert choices["--device"] == {"auto", "cpu", "cuda", "mps"}
    assert choices["--runtime"] == {"onnx", "onnx-int8", "bf16", "int8"}
    result = invoke("export", "m", "--runtime", "tpu")
    assert result.exit_code == 2 and result.output.startswith("error: ") and len(result.output.splitlines()) == 1, result.output
    assert "'tpu' is not one of 'onnx', 'onnx-int8', 'bf16', 'int8'" in result.output
    completed = runner.invoke(app, [], prog_name="newsroles", env={
        "_NEWSROLES_COMPLETE": "complete_bash", "COMP_WORDS": "newsroles export m --runtime ", "COMP_CWORD": "4"})
    assert completed.output.split() == ["onnx", "onnx-int8", "bf16", "int8"], completed.output
    assert "--install-completion" in help_text([]) and "--show-completion" in help_text([])


def test_the_choices_are_the_ones_the_code_takes():
    from newsroles.inference.cli.grammar import Device, LabelFormat, Runtime
    from newsroles.inference.label import FORMATS
    from newsroles.model.network.device import DEVICES
    from newsroles.model.onnx_runtime import RUNTIMES

    assert [d.value for d in Device] == list(DEVICES)
    assert {r.value for r in Runtime} == set(RUNTIMES)
    assert [f.value for f in LabelFormat] == list(FORMATS)
    from newsroles.inference.annotation.select import AGGREGATES, MEASURES
    from newsroles.inference.cli.grammar import CorpusFormat
    from newsroles.inference.cli.select import Aggregate, Measure
    from newsroles.training.data.sources import FORMATS as SOURCES

    assert [m.value for m in Measure] == list(MEASURES) and [a.value for a in Aggregate] == list(AGGREGATES)
    assert [f.value for f in CorpusFormat] == list(SOURCES)


def test_a_usage_error_is_one_line():
    for args, fragment in ((["evaluate", "m", "--bogus"], "No such option: --bogus"), (["export"], "Missing argument"),
                           (["export", "m", "dev.jsonl", "--data", "dev.jsonl"], "give the data after the model or with --data, not both")):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert result.output.splitlines() == [result.output.strip()] and result.output.startswith("error: "), result.output
        assert fragment in result.output


def test_model_and_data_positional_or_as_options(workspace, tmp_path):
    data = workspace / "data" / "validation.jsonl"
    for args in (["evaluate", workspace / "baseline", data], ["evaluate", workspace / "baseline", "-d", data]):
        out = tmp_path / "eval.json"
        result = invoke(*args, "-o", out, "--no-record")
        assert result.exit_code == 0 and "warning" not in result.output, result.output
        assert json.loads(out.read_text())["n"] == 4
        out.unlink()
    both = invoke("compare", workspace / "baseline", workspace / "model", data, "--no-record", "--samples", "20")
    assert both.exit_code == 0, both.output
    nothing = invoke("compare", workspace / "baseline", workspace / "model")
    assert nothing.exit_code == 2 and "at least two models" in nothing.output and "--data FILE" in nothing.output
    two_models = invoke("evaluate", workspace / "baseline", workspace / "model")
    assert two_models.output.strip() == (
        f"error: {workspace / 'model'}: is a folder, not data (a model?); give the data file last, or with --data FILE "
        "(.jsonl, .csv, .tsv, .parquet or .arrow file, or a hub dataset hf:ORG/NAME:SPLIT)"
    ), two_models.output


def deprecation(result, old: str, new: str) -> None:
    line = f"warning: {old} is deprecated; use {new} (it will be removed in the next release)"
    assert line in result.output.splitlines(), result.output


def test_old_models_dir_flag_still_works(workspace, tmp_path):
    """-d was --models-dir; where -d is --data now, a folder given to it is taken as the old spelling."""
    data = workspace / "data" / "validation.jsonl"
    out = tmp_path / "eval.json"
    result = invoke("evaluate", workspace / "baseline", data, "-d", workspace, "-o", out, "--no-record")
    assert result.exit_code == 0, result.output
    deprecation(result, "-d for the models directory", "--models-dir (-d is short for --data now)")
    assert json.loads(out.read_text())["n"] == 4
    listed = invoke("models", "-d", workspace, "--json")
    deprecation(listed, "-d for the models directory", "--models-dir (-d is short for --data now)")


def test_old_mapping_flag_still_works(tmp_path):
    result = invoke("data", "convert", BRAT_MINIATURE, tmp_path / "data", "-m", "content-types")
    assert result.exit_code == 0, result.output
    deprecation(result, "-m for the label mapping", "--mapping (-m is short for --model now)")
    labels = {s["label"] for line in (tmp_path / "data" / "train.jsonl").read_text().splitlines() for s in json.loads(line)["sentences"]}
    assert labels - {None} and not labels & {"stance", "quote", "background", "fact"}, labels


def test_old_export_spellings_still_work(workspace, tmp_path):
    result = invoke("export", workspace / "model", "-r", "int8", "--check", workspace / "data" / "validation.jsonl",
                    "-o", tmp_path / "int8", "--max-f1-drop", "100")
    assert result.exit_code == 0, result.output
    deprecation(result, "-r", "--runtime (-r means --report)")
    deprecation(result, "--check", "--data")
    manifest = json.loads((tmp_path / "int8" / "newsroles.json").read_text())
    assert manifest["runtime"] == "int8" and manifest["export"]["check"]["data"].endswith("validation.jsonl")


def test_label_progress_shows_articles_and_their_rate():
    from newsroles.inference.label import _show_articles

    class Bar:
        def set_postfix(self, values, refresh=True):
            self.values = values

    bar = Bar()
    _show_articles(bar, 12, started=100.0, now=104.0)
    assert bar.values == {"articles": 12, "articles/s": "3.0"}
    _show_articles(None, 1, started=100.0)  # no bar (--quiet): nothing to do


def test_device_mps_is_refused_in_one_line_where_there_is_none(workspace):
    import torch

    if torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU")
    result = invoke("evaluate", workspace / "model", workspace / "data" / "validation.jsonl", "--device", "mps", "--no-record")
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: --device mps was asked for, but no Apple GPU (MPS) is available here; use --device cpu or auto"


# What the CLI's import must not load: each costs a tenth of a second or (torch, sklearn, onnx) seconds,
# paid by `newsroles --help`, every TAB of shell completion and every command that does not need it
# (benchmarks/cli_startup.py). Our modules import them inside the functions that use them.
SLOW_LIBRARIES = ("torch", "transformers", "datasets", "onnxruntime", "onnx", "sklearn", "scipy", "matplotlib", "fastapi",
                  "ray", "trafilatura", "pyarrow", "pandas", "numpy", "pydantic", "huggingface_hub.repocard")


def test_the_cli_starts_without_torch_or_other_slow_libraries():
    """Shell completion runs the CLI on every TAB: its import must stay light (BENCHMARKS.md)."""
    import subprocess
    import sys

    code = f"import sys, newsroles.inference.cli; print(sorted(m for m in {SLOW_LIBRARIES!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_old_select_spellings_still_work(workspace, tmp_path):
    out = tmp_path / "batch.json"
    result = invoke("select", "--pool", workspace / "story.txt", "-n", "1", "-m", workspace / "baseline", "-o", out, "--device", "cpu")
    assert result.exit_code == 0, result.output
    deprecation(result, "--pool", "the stories as arguments: newsroles select POOL...")
    deprecation(result, "-n", "--n (-n is short for --name)")
    assert [task["data"]["story_id"] for task in json.loads(out.read_text())] == ["story"]
    now = invoke("select", workspace / "story.txt", "--n", "1", "-m", workspace / "baseline", "-o", out, "-q")
    assert now.exit_code == 0 and now.output == "", now.output


def test_model_flag_of_label_studio_config_and_its_old_meaning(workspace):
    labels = invoke("data", "label-studio-config", "-m", workspace / "baseline")
    assert labels.exit_code == 0 and "warning" not in labels.output and 'value="quote"' in labels.output, labels.output
    old = invoke("data", "label-studio-config", "-m", "content-types")
    assert old.exit_code == 0, old.output
    deprecation(old, "-m for the label mapping", "--mapping (-m is short for --model now)")
    assert 'value="quote"' not in old.output


def test_every_lazy_import_of_a_command_names_a_real_function():
    """cli/lazy.py defers what a command calls to its first call; a renamed function must fail here,
    not when a user first runs the command."""
    import newsroles.inference.cli  # noqa: F401  (registers every command, and so every declaration)
    from newsroles.inference.cli.lazy import DECLARED

    assert len(DECLARED) >= 10, "the commands declare what they run with lazy()"
    unresolved = []
    for declared in DECLARED:
        try:
            target = declared.resolve()
        except (ImportError, AttributeError) as exc:
            unresolved.append(f"{declared!r}: {exc}")
            continue
        if not callable(target):
            unresolved.append(f"{declared!r} is not callable")
    assert not unresolved, "\n".join(unresolved)
