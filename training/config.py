"""Run configuration: YAML in configs/, validated with clear errors, overridable from the CLI.

Every key is declared in a dataclass below, with its type, choices (`Literal`) and range
(`Between`); pydantic checks them. An unknown key gets a "did you mean" suggestion, a mistyped or
out-of-range value names the key and the line of the YAML file it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from annotated_types import Interval
from pydantic import BeforeValidator, TypeAdapter, ValidationError

from newsroles.model.errors import UserError
from newsroles.model.spec import (
    DEFAULT_CONFIG,
    STRICT_KEYS,
    Between,
    Bool,
    Float,
    Int,
    ModelSpec,
    Str,
    packaged_default_config,
    packaged_default_text,
)
from newsroles.model.text.textio import read_config_text

# The default model's training and baseline settings: configs/default.yaml is the one place they are written.
_TRAIN, _BASELINE = packaged_default_config()["train"], packaged_default_config()["baseline"]


def _as_list(value: Any) -> Any:
    """`--train.report_to mlflow` means `[mlflow]`."""
    return [value] if isinstance(value, str) else value


@dataclass
class ColumnsConfig:
    """Column names of a sentence table (one row per sentence): CSV/TSV, Parquet, Arrow or a hub dataset."""

    __pydantic_config__: ClassVar = STRICT_KEYS
    article_id: Str = "article_id"
    text: Str = "text"
    label: Str = "label"  # optional column: a missing or null cell is an unlabeled sentence
    # Sentence order within an article (sorted on it) in Parquet, Arrow and hub tables; null: row
    # order. CSV/TSV always keep row order, with each article's rows together.
    order: Str | None = None
    title: Str = "title"  # optional column
    paragraph: Str = "paragraph"  # optional column


@dataclass
class AuxiliaryConfig:
    """A corpus trained beside the labeled data for its own targets (training/data/auxiliary.py):
    its articles join the training batches and add only their auxiliary loss, at `weight`."""

    __pydantic_config__: ClassVar = STRICT_KEYS
    source: Literal["polnear", "webis"]
    # The corpus folder (read at run time) or its `newsroles data convert` .jsonl.
    path: Str
    weight: Annotated[Float, Between(0.0, 10.0)] = 0.3
    annotators: Literal["majority", "union", "first", "mean"] = "majority"  # PolNeAR texts with several
    # At most this many of its articles (drawn with the run's seed); null: all.
    max_articles: Annotated[Int, Between(1, 10**9)] | None = None
    # Of those, this many drawn anew each epoch (as train.unlabeled_per_epoch draws stories): an
    # epoch's cost stays small while the run meets more of the corpus; 0: all of them every epoch.
    per_epoch: Annotated[Int, Between(0, 10**9)] = 0


@dataclass
class DataConfig:
    __pydantic_config__: ClassVar = STRICT_KEYS
    # A .jsonl/.csv/.tsv/.parquet/.arrow file, or a hub dataset `hf:ORG/NAME:SPLIT` (needs a hub).
    train: Str | None = None
    dev: Str | None = None
    # Label mapping (bundled name or YAML path): its `labels` are the model's label set.
    # null: the label set is the labels found in the training data.
    mapping: Str | None = "roles"
    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    # Semi-supervised (training/recipes/semi_supervised.py): split stories without gold labels, which the teacher of
    # train.distill_targets labeled too (`newsroles distill-targets ... --unlabeled FILE`); null: none.
    unlabeled: Str | None = None
    # Auxiliary corpora, each a list entry {source, path, weight, ...} (AuxiliaryConfig); [] = none.
    auxiliary: list[AuxiliaryConfig] = field(default_factory=list)


# Settings that change nothing while the feature they tune is off. Comparisons of runs (a final fit
# against its selection run, a checkpoint against the run resuming it) leave them out then, so that
# runs saved before such a setting existed still match.
UNLABELED_SETTINGS = ("unlabeled_per_epoch", "pseudo_min_confidence", "pseudo_min_class_fraction")
# Train settings that do nothing at this value, left out of comparisons there too.
IDLE_VALUES = {"pseudo_min_class_fraction": 0.0}


def without_idle_settings(config: dict) -> dict:
    """`config` (a to_dict()) without the semi-supervised settings when data.unlabeled is not set,
    without a setting at its IDLE_VALUES value, without data.auxiliary when it lists no corpus and
    without an auxiliary entry's per_epoch at 0."""
    data = dict(config.get("data") or {})
    train = dict(config.get("train") or {})
    if not data.get("auxiliary"):
        data.pop("auxiliary", None)
    else:  # an entry's per_epoch at 0 (all, every epoch) is how entries saved before it read
        data["auxiliary"] = [{k: v for k, v in e.items() if not (k == "per_epoch" and v == 0)} for e in data["auxiliary"]]
    if not data.get("unlabeled"):
        data.pop("unlabeled", None)
        train = {k: v for k, v in train.items() if k not in UNLABELED_SETTINGS}
    train = {k: v for k, v in train.items() if k not in IDLE_VALUES or v != IDLE_VALUES[k]}
    return {**config, "data": data, "train": train}


@dataclass
class TrainConfig:
    __pydantic_config__: ClassVar = STRICT_KEYS
    epochs: Annotated[Int, Between(1, 1000)] = _TRAIN["epochs"]
    learning_rate: Annotated[Float, Between(1e-8, 1.0)] = _TRAIN["learning_rate"]  # encoder
    # Classifier head, position embeddings, GRU.
    head_learning_rate: Annotated[Float, Between(1e-8, 1.0)] = _TRAIN["head_learning_rate"]
    # Layer-wise learning-rate decay: each encoder layer below the top learns at this factor of the
    # one above it (the embeddings one step below the first layer); 1 = every layer at learning_rate.
    layer_decay: Annotated[Float, Between(0.01, 1.0)] = _TRAIN["layer_decay"]
    batch_size: Annotated[Int, Between(1, 4096)] = _TRAIN["batch_size"]  # windows per step (sentences, for a sentence model)
    # Gradient accumulation: each process computes its share of a batch in this many parts (less
    # memory, the same step). batch_size stays the global batch, over all processes.
    grad_accumulation: Annotated[Int, Between(1, 4096)] = _TRAIN["grad_accumulation"]
    # Overlap of training windows (model.window_overlap is inference's): 0 shows each sentence once
    # per epoch, which is the cheapest; more overlap shows sentences in several contexts.
    window_overlap: Annotated[Float, Between(0.0, 0.9)] = _TRAIN["window_overlap"]
    # Article model: each epoch cuts every article's first window at a random point, so windows
    # start at different sentences from one epoch to the next (augmentation at no extra cost).
    shift_windows: Bool = _TRAIN["shift_windows"]
    # >0: also keep an exponential moving average of the weights (this decay per step); after each
    # epoch the raw and the averaged weights are scored on dev and the better one is the epoch's
    # candidate (without dev: the average). 0 disables it.
    ema_decay: Annotated[Float, Between(0.0, 0.9999)] = _TRAIN["ema_decay"]
    # The base encoder's dropout on attention probabilities (model/network/attention_dropout.py); null
    # keeps the base's own, as does a parent model. Above 0, a CPU cannot use fused attention and
    # steps take twice as long.
    attention_dropout: Annotated[Float, Between(0.0, 0.9)] | None = _TRAIN["attention_dropout"]
    eval_batch_size: Annotated[Int, Between(1, 4096)] = _TRAIN["eval_batch_size"]
    weight_decay: Annotated[Float, Between(0.0, 1.0)] = _TRAIN["weight_decay"]
    warmup_ratio: Annotated[Float, Between(0.0, 0.9)] = _TRAIN["warmup_ratio"]
    grad_clip: Annotated[Float, Between(0.0, 1e6)] = _TRAIN["grad_clip"]
    # Against class imbalance (fact is rarest).
    class_weighting: Literal["none", "inverse", "sqrt"] = _TRAIN["class_weighting"]
    focal_gamma: Annotated[Float, Between(0.0, 10.0)] = _TRAIN["focal_gamma"]  # >0: focal loss instead of cross-entropy
    label_smoothing: Annotated[Float, Between(0.0, 0.5)] = _TRAIN["label_smoothing"]
    # Weight of the corpus-labels auxiliary loss; 0 disables it.
    aux_weight: Annotated[Float, Between(0.0, 10.0)] = _TRAIN["aux_weight"]
    # Distillation (training/recipes/distill.py): a teacher-targets file from `newsroles distill-targets`;
    # null: gold labels only. The weight is the soft loss's share of the role loss (gold keeps
    # 1 - weight); the temperature softens teacher and student alike in the KL term (times T²).
    distill_targets: Str | None = _TRAIN["distill_targets"]
    distill_weight: Annotated[Float, Between(0.0, 1.0)] = _TRAIN["distill_weight"]
    distill_temperature: Annotated[Float, Between(0.05, 100.0)] = _TRAIN["distill_temperature"]
    # With data.unlabeled: stories drawn anew each epoch (0: all), and the teacher probability a
    # sentence needs to train on the teacher's label (below it, context only).
    unlabeled_per_epoch: Annotated[Int, Between(0, 10**9)] = _TRAIN["unlabeled_per_epoch"]
    pseudo_min_confidence: Annotated[Float, Between(0.0, 1.0)] = _TRAIN["pseudo_min_confidence"]
    # Each label keeps at least this fraction of the sentences the teacher gives it (its most
    # confident ones), below pseudo_min_confidence too; 0: the threshold alone.
    pseudo_min_class_fraction: Annotated[Float, Between(0.0, 1.0)] = _TRAIN["pseudo_min_class_fraction"]
    # After training, tune one logit bias per label on the dev set for macro-F1 (training/recipes/label_bias.py).
    tune_label_bias: Bool = _TRAIN["tune_label_bias"]
    max_steps: Annotated[Int, Between(1, 10**9)] | None = _TRAIN["max_steps"]  # stop early (tests, smoke runs)
    # Save a resumable checkpoint this often (and after every epoch); 0: only per epoch.
    checkpoint_steps: Annotated[Int, Between(0, 10**9)] = _TRAIN["checkpoint_steps"]
    device: Literal["auto", "cpu", "cuda"] = _TRAIN["device"]
    # auto: bf16 autocast where the device computes it natively (GPU; CPU with AVX-512 BF16 or AMX:
    # about 1.4x faster steps on the 2-core CPU), else fp32. Dev scoring during training is fp32 on CPU.
    precision: Literal["auto", "fp32", "bf16"] = _TRAIN["precision"]
    threads: Annotated[Int, Between(1, 1024)] | None = _TRAIN["threads"]  # CPU threads; default: all cores
    # Experiment trackers, through Accelerate (training/tracking.py): per-step loss, per-epoch dev
    # scores, the config and the final figures. One name is taken as a list of one.
    report_to: Annotated[list[Literal["tensorboard", "mlflow"]], BeforeValidator(_as_list)] = field(
        default_factory=lambda: list(_TRAIN["report_to"])
    )
    # TensorBoard's event files (tensorboard/) and MLflow's file store (mlruns/); null: <models_dir>/tracking.
    tracking_dir: Str | None = _TRAIN["tracking_dir"]


@dataclass
class BaselineConfig:
    __pydantic_config__: ClassVar = STRICT_KEYS
    C: Annotated[Float, Between(1e-6, 1e6)] = _BASELINE["C"]  # chosen by 5-fold cross-validation on the train split
    class_weight: Literal["balanced", None] = _BASELINE["class_weight"]
    ngram_max: Annotated[Int, Between(1, 5)] = _BASELINE["ngram_max"]


@dataclass
class RunConfig:
    __pydantic_config__: ClassVar = STRICT_KEYS
    seed: Int = 13
    name: Str | None = None  # model name; default: derived from the config file
    models_dir: Str = "models"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSpec = field(default_factory=ModelSpec)
    train: TrainConfig = field(default_factory=TrainConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(path: str | Path | None = None, overrides: dict[str, str] | None = None) -> RunConfig:
    """Read a YAML config (the packaged default model's, configs/default.yaml, when `path` is None)
    and apply `section.key=value` overrides."""
    if path is None:
        text, source = packaged_default_text(), f"configs/{DEFAULT_CONFIG} (packaged)"
    else:
        path = Path(path)
        source = str(path)
        if not path.exists():
            raise UserError("config file not found", path)
        if not path.is_file():
            raise UserError("is a folder, not a config file (give a .yaml file, e.g. configs/default.yaml)", path)
        text = read_config_text(path, "config")
    raw, lines = _parse_yaml(text, source)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, _parse_override(value))
        lines[dotted] = FROM_COMMAND_LINE
    return _build(raw, source, lines)


def _parse_yaml(text: str, source: str) -> tuple[dict, dict[str, int]]:
    """The config's mapping and the line of each dotted key."""
    try:
        raw = yaml.safe_load(text) or {}
        lines = _key_lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(f"not valid YAML ({getattr(exc, 'problem', exc)})", source, mark.line + 1 if mark else None)
    if not isinstance(raw, dict):
        raise UserError("a config must be a YAML mapping of sections", source)
    return raw, lines


FROM_COMMAND_LINE = -1


def _error(message: str, source: str, line: int | None) -> UserError:
    if line == FROM_COMMAND_LINE:
        return UserError(f"{message} (from a command-line override)")
    return UserError(message, source, line)


def _parse_override(value: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


def _set_dotted(raw: dict, dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = raw
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise UserError(f"cannot override '{dotted}': '{key}' is not a section")
    node[keys[-1]] = value


def _key_lines(node, prefix: str = "") -> dict[str, int]:
    """Map dotted keys to their 1-based line in the YAML file, for error messages."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            dotted = f"{prefix}{key_node.value}"
            out[dotted] = key_node.start_mark.line + 1
            out.update(_key_lines(value_node, dotted + "."))
    elif isinstance(node, yaml.SequenceNode):  # a list of sections: data.auxiliary[0].weight
        for i, item in enumerate(node.value):
            dotted = f"{prefix[:-1]}[{i}]"
            out[dotted] = item.start_mark.line + 1
            out.update(_key_lines(item, dotted + "."))
    return out


SECTIONS = [f.name for f in dataclasses.fields(RunConfig) if dataclasses.is_dataclass(f.default_factory)]


@cache
def _validator() -> TypeAdapter:
    return TypeAdapter(RunConfig)


def _build(raw: dict, source: str, lines: dict[str, int]) -> RunConfig:
    """Validate the merged config with pydantic; the first problem becomes one UserError line."""
    for name in SECTIONS:
        if name in raw and raw[name] is None:
            raw[name] = {}  # an empty section: all its defaults
    try:
        return _validator().validate_python(raw)
    except ValidationError as exc:
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "unexpected_keyword_argument")  # unknown keys first
        raise _explain(errors[0], source, lines) from None


def _explain(error: dict, source: str, lines: dict[str, int]) -> UserError:
    """Our message for a pydantic error: the dotted key, what it must be, and a suggestion."""
    cls, path, items = RunConfig, [], None
    for part in error["loc"]:  # the loc may end in a union member's name: stop at the field
        if isinstance(part, int) and items is not None:  # an entry of a list of sections
            path.append(part)
            cls, items = items, None
            continue
        hints = typing.get_type_hints(cls, include_extras=True) if cls else {}
        if not isinstance(part, str) or part not in hints:
            if error["type"] == "unexpected_keyword_argument":
                path.append(str(part))
            break
        path.append(part)
        inner = hints[part]
        cls = inner if dataclasses.is_dataclass(inner) else None
        items = _list_item_section(inner)
    dotted = _dotted(path)
    line = lines.get(dotted)
    if line is None and any(lines.get(_dotted(path[:k])) == FROM_COMMAND_LINE for k in range(1, len(path))):
        line = FROM_COMMAND_LINE  # inside a value given whole on the command line (--data.auxiliary '[...]')
    value = error["input"]
    if error["type"] in ("missing", "missing_argument"):
        return _error(f"'{dotted}' is required", source, line if line == FROM_COMMAND_LINE else lines.get(_dotted(path[:-1])))
    if error["type"] == "unexpected_keyword_argument":
        section = _dotted(path[:-1])
        owner = _section_class(path[:-1])
        known = [f.name for f in dataclasses.fields(owner)]
        near = difflib.get_close_matches(path[-1], known, n=1)
        prefix = f"{section}." if section else ""
        hint = f"; did you mean '{prefix}{near[0]}'?" if near else f"; known keys: {', '.join(known)}"
        return _error(f"unknown key '{dotted}'{hint}", source, line)
    if error["type"] in ("dataclass_type", "dataclass_args_type") or not path:
        return _error(f"'{dotted or 'config'}' must be a mapping", source, line)
    hint = typing.get_type_hints(_section_class(path[:-1]), include_extras=True)[path[-1]]
    allowed = _allowed(hint)
    if value is None and None not in allowed["types"] and None not in allowed["choices"]:
        return _error(f"'{dotted}' may not be null", source, line)
    if error["type"] == "literal_error":
        choices = allowed["choices"]
        near = difflib.get_close_matches(str(value), [str(c) for c in choices if c is not None], n=1)
        suggestion = f"; did you mean '{near[0]}'?" if near else ""
        return _error(f"'{dotted}' must be one of {choices}, got {value!r}{suggestion}", source, line)
    if allowed["range"] and error["type"] in ("greater_than_equal", "less_than_equal"):
        low, high = allowed["range"]
        return _error(f"'{dotted}' must be between {low} and {high}, got {value!r}", source, line)
    names = " or ".join(t.__name__ for t in allowed["types"] if t is not None) or f"a list of {allowed['choices']}"
    return _error(f"'{dotted}' must be {names}, got {value!r}", source, line)


def _section_class(path: list[str | int]):
    cls = RunConfig
    for part in path:
        cls = typing.get_args(cls)[0] if isinstance(part, int) else typing.get_type_hints(cls)[part]
    return cls


def _list_item_section(hint):
    """The section class of a list-of-sections field (data.auxiliary), else None."""
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return item if dataclasses.is_dataclass(item) else None
    return None


def _dotted(path: list[str | int]) -> str:
    """data.auxiliary[0].weight from ["data", "auxiliary", 0, "weight"]."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _allowed(hint) -> dict:
    """The plain types, Literal choices and Between range a field's annotation declares."""
    out: dict = {"types": [], "choices": [], "range": None}

    def visit(h):
        if typing.get_origin(h) is Annotated:
            for meta in h.__metadata__:
                if isinstance(meta, Interval):
                    out["range"] = (meta.ge, meta.le)
            visit(typing.get_args(h)[0])
        elif typing.get_origin(h) is Literal:
            out["choices"].extend(typing.get_args(h))
        elif isinstance(h, types.UnionType) or typing.get_origin(h) is typing.Union:
            for member in typing.get_args(h):
                visit(member)
        elif typing.get_origin(h) is list:  # a list's items: their choices (train.report_to)
            visit(typing.get_args(h)[0])
        else:
            out["types"].append(None if h is type(None) else h)

    visit(hint)
    return out
