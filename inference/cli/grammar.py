"""The grammar every command shares: the choices typer validates and completes, the help texts of
the model and data arguments, and the deprecated spellings that still work for one release.

The convention (README, "Command-line grammar"):
- MODEL is the first positional argument of a command that acts on models (evaluate, compare, export,
  serve, distill-targets, package, models show); a command whose positional arguments are its input
  (label, select, data convert, data label-studio-config) takes it as `--model/-m`. Every form is accepted: folder, version id
  (or prefix), name, name/version, installed model package.
- DATA (labeled data to score or learn from) is `--data/-d`, or the positional argument after the
  model(s) when `--data` is not given.
- `--models-dir` has no short flag; each short flag means one thing in every command.

The choice values are spelled here (the CLI must start without importing torch, so that shell
completion is quick); tests/test_cli.py checks them against the lists the code behind them accepts.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from newsroles.model.errors import UserError
from newsroles.model.labels import bundled_mapping_names

MODEL_HELP_SHORT = "folder, version id (or prefix), name, name/version or installed model package"
MODELS_DIR_HELP = "Where model ids and names are looked up."
# Every format `newsroles.training.data.readers.read_articles` reads.
DATA_FORMATS = ".jsonl, .csv, .tsv, .parquet or .arrow file, or a hub dataset hf:ORG/NAME:SPLIT"
DATA_HELP = f"Labeled data: {DATA_FORMATS} (sentence tables: default column names)."
# Every input `newsroles.inference.io.inputs.iter_label_inputs` reads.
LABEL_INPUTS_HELP = (
    "Stories: text files (.txt, .text, .md), HTML pages (.html, .htm), a folder of them (read recursively), "
    ".jsonl/.ndjson files ({id, text} or {id, sentences} per line), .parquet (id and text columns), "
    ".csv/.tsv (article_id, text), or - for stdin."
)


class Device(str, Enum):
    """--device: where the model runs (model/network/device.py)."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


DEVICE_HELP = "auto (a GPU when there is one), cpu, cuda or mps (Apple GPU)."


class Runtime(str, Enum):
    """export --runtime (model/onnx_runtime.py RUNTIMES)."""

    onnx = "onnx"
    onnx_int8 = "onnx-int8"
    bf16 = "bf16"
    int8 = "int8"


class LabelFormat(str, Enum):
    """label --format (inference/label.py FORMATS)."""

    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    tsv = "tsv"
    parquet = "parquet"
    html = "html"
    label_studio = "label-studio"


class CorpusFormat(str, Enum):
    """data convert/stats --format (training/data/sources.py FORMATS)."""

    newsdiscourse = "newsdiscourse"
    polnear = "polnear"
    webis = "webis"
    unlabeled = "unlabeled"
    articles = "articles"


# data convert --format: the sources data stats reads, and a Label Studio export.
ConvertFormat = Enum("ConvertFormat", {**{f.name: f.value for f in CorpusFormat}, "label_studio": "label-studio"}, type=str)


class Annotators(str, Enum):
    """data convert/stats --annotators: how PolNeAR's several annotators are combined (training/data/polnear.py)."""

    majority = "majority"
    union = "union"
    first = "first"
    mean = "mean"


class Engine(str, Enum):
    """label --engine."""

    local = "local"
    ray = "ray"


def value(choice) -> str | None:
    """The plain string of a choice (an Enum member, a string, or None)."""
    return choice.value if isinstance(choice, Enum) else choice


def deprecated(old: str, new: str) -> None:
    """The one line an old spelling prints on stderr; the command then runs as if `new` was given."""
    typer.echo(f"warning: {old} is deprecated; use {new} (it will be removed in the next release)", err=True)


# The deprecated `-d` (now --models-dir), hidden; `old_models_dir_flag` says so when it is used.
OLD_MODELS_DIR = typer.Option(None, "-d", hidden=True)
# train and baseline: where the new version goes, the config's models_dir unless given.
NEW_MODELS_DIR = typer.Option(None, "--models-dir", help="Where new versions go (default: the config's models_dir, models/).")


def old_models_dir_flag(old: Path | None, models_dir: Path) -> Path:
    """A command without data whose `-d` was `--models-dir`: the hidden `-d` still works, with its warning."""
    if old is None:
        return models_dir
    deprecated("-d for the models directory", "--models-dir (-d is short for --data now)")
    return old


def models_and_data(
    positional: list[str], data: list[str] | None, models_dir: Path, *, at_least: int = 1, at_most: int | None = None,
    many_data: bool = False, need_data: bool = True,
) -> tuple[list[str], list[str], Path]:
    """Split a command's arguments into its model references, its data and the models directory.

    `positional` is MODEL... [DATA...]: without `--data/-d`, what follows the models is the data (the
    last item, or all after the first `at_most` models). A folder given to `--data/-d` is the old
    `-d MODELS_DIR` spelling: it still works, with a deprecation line.
    """
    data = list(data or [])
    folders = [d for d in data if Path(d).is_dir()]
    if folders:
        models_dir = old_models_dir_flag(Path(folders[-1]), models_dir)
        data = [d for d in data if d not in folders]
    models = list(positional)
    needs = "a model" if at_least == 1 else "at least two models"
    if not data:
        cut = at_most if at_most is not None else len(models) - 1
        models, data = models[:cut], models[cut:]
        if need_data and (not data or len(models) < at_least):
            raise UserError(f"give {needs} (ids, names or folders) and the data: MODEL... DATA, or --data FILE ({DATA_FORMATS})")
        folder = next((d for d in data if Path(d).is_dir()), None)
        if folder is not None:
            raise UserError(f"is a folder, not data (a model?); give the data file last, or with --data FILE ({DATA_FORMATS})", folder)
    if len(models) < at_least:
        raise UserError(f"give {needs} (ids, names or folders) as the first arguments")
    if at_most is not None and len(models) > at_most:
        raise UserError(f"one model only, got {len(models)}: {', '.join(models)} (give the data after the model or with --data, not both)")
    if len(data) > 1 and not many_data:
        raise UserError(f"one data file only, got {len(data)}: {', '.join(data)}")
    return models, data, models_dir


def model_or_old_mapping(model: str | None, mapping: str) -> tuple[str | None, str]:
    """`data convert` and `data label-studio-config`: `-m` was `--mapping` and is `--model` now. A
    value that names a label mapping (a bundled name, a .yaml file) is the old spelling: it still
    works, with a deprecation line. Returns (model, mapping)."""
    if model is None:
        return None, mapping
    if model in bundled_mapping_names() or Path(model).suffix.lower() in (".yaml", ".yml"):
        deprecated("-m for the label mapping", "--mapping (-m is short for --model now)")
        return None, model
    return model, mapping
