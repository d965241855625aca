"""Run configuration: YAML in configs/, validated with clear errors, overridable from the CLI.

Every key is declared in a dataclass below; an unknown key gets a "did you mean" suggestion, a
mistyped or out-of-range value names the key and the line of the YAML file it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsroles.model.errors import UserError
from newsroles.model.spec import DEFAULT_CONFIG, ModelSpec, packaged_default_config, packaged_default_text

# The default model's training and baseline settings: configs/default.yaml is the one place they are written.
_TRAIN, _BASELINE = packaged_default_config()["train"], packaged_default_config()["baseline"]


@dataclass
class DataConfig:
    train: str | None = None
    dev: str | None = None
    # Label mapping (bundled name or YAML path): its `labels` are the model's label set.
    # null: the label set is the labels found in the training data.
    mapping: str | None = "roles"


@dataclass
class TrainConfig:
    epochs: int = _TRAIN["epochs"]
    learning_rate: float = _TRAIN["learning_rate"]  # encoder
    head_learning_rate: float = _TRAIN["head_learning_rate"]  # classifier head, position embeddings, GRU
    batch_size: int = _TRAIN["batch_size"]  # windows per step (sentences, for a sentence model)
    # Overlap of training windows (model.window_overlap is inference's): 0 shows each sentence once
    # per epoch, which is the cheapest; more overlap shows sentences in several contexts.
    window_overlap: float = _TRAIN["window_overlap"]
    # Article model: each epoch cuts every article's first window at a random point, so windows
    # start at different sentences from one epoch to the next (augmentation at no extra cost).
    shift_windows: bool = _TRAIN["shift_windows"]
    # >0: also keep an exponential moving average of the weights (this decay per step); after each
    # epoch the raw and the averaged weights are scored on dev and the better one is the epoch's
    # candidate (without dev: the average). 0 disables it.
    ema_decay: float = _TRAIN["ema_decay"]
    eval_batch_size: int = _TRAIN["eval_batch_size"]
    weight_decay: float = _TRAIN["weight_decay"]
    warmup_ratio: float = _TRAIN["warmup_ratio"]
    grad_clip: float = _TRAIN["grad_clip"]
    class_weighting: str = _TRAIN["class_weighting"]  # none | inverse | sqrt: against class imbalance (fact is rarest)
    focal_gamma: float = _TRAIN["focal_gamma"]  # >0: focal loss instead of cross-entropy
    label_smoothing: float = _TRAIN["label_smoothing"]
    aux_weight: float = _TRAIN["aux_weight"]  # weight of the corpus-labels auxiliary loss; 0 disables it
    # After training, tune one logit bias per label on the dev set for macro-F1 (training/calibrate.py).
    tune_label_bias: bool = _TRAIN["tune_label_bias"]
    max_steps: int | None = _TRAIN["max_steps"]  # stop early (tests, smoke runs)
    checkpoint_steps: int = _TRAIN["checkpoint_steps"]  # save a resumable checkpoint this often (and after every epoch); 0: only per epoch
    device: str = _TRAIN["device"]  # auto | cpu | cuda
    # auto: bf16 autocast where the device computes it natively (GPU; CPU with AVX-512 BF16 or AMX:
    # about 1.4x faster steps on the 2-core CPU), else fp32. Dev scoring during training is fp32 on CPU.
    precision: str = _TRAIN["precision"]  # auto | fp32 | bf16
    threads: int | None = _TRAIN["threads"]  # CPU threads; default: all cores

    CHOICES = {"class_weighting": ("none", "inverse", "sqrt"), "device": ("auto", "cpu", "cuda"), "precision": ("auto", "fp32", "bf16")}
    RANGES = {
        "epochs": (1, 1000),
        "learning_rate": (1e-8, 1.0),
        "head_learning_rate": (1e-8, 1.0),
        "batch_size": (1, 4096),
        "eval_batch_size": (1, 4096),
        "weight_decay": (0.0, 1.0),
        "warmup_ratio": (0.0, 0.9),
        "window_overlap": (0.0, 0.9),
        "ema_decay": (0.0, 0.9999),
        "grad_clip": (0.0, 1e6),
        "focal_gamma": (0.0, 10.0),
        "label_smoothing": (0.0, 0.5),
        "aux_weight": (0.0, 10.0),
        "max_steps": (1, 10**9),
        "checkpoint_steps": (0, 10**9),
        "threads": (1, 1024),
    }


@dataclass
class BaselineConfig:
    C: float = _BASELINE["C"]  # chosen by 5-fold cross-validation on the train split
    class_weight: str | None = _BASELINE["class_weight"]
    ngram_max: int = _BASELINE["ngram_max"]

    CHOICES = {"class_weight": ("balanced", None)}
    RANGES = {"C": (1e-6, 1e6), "ngram_max": (1, 5)}


@dataclass
class RunConfig:
    seed: int = 13
    name: str | None = None  # model name; default: derived from the config file
    models_dir: str = "models"
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
        from newsroles.model.textio import read_config_text

        text = read_config_text(path, "config")
    raw, lines = _parse_yaml(text, source)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, _parse_override(value))
        lines[dotted] = FROM_COMMAND_LINE
    return _build(RunConfig, raw, "", source, lines)


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
    return out


def _build(cls, raw: Any, prefix: str, source: str, lines: dict[str, int]):
    where = prefix.rstrip(".") or "config"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _error(f"'{where}' must be a mapping", source, lines.get(where))
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            near = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f"; did you mean '{prefix}{near[0]}'?" if near else f"; known keys: {', '.join(fields)}"
            raise _error(f"unknown key '{prefix}{key}'{hint}", source, lines.get(f"{prefix}{key}"))
    values = {}
    for name, f in fields.items():
        if name not in raw:
            continue
        hint = hints[name]
        dotted = f"{prefix}{name}"
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, raw[name], dotted + ".", source, lines)
        else:
            values[name] = _check_value(cls, name, hint, raw[name], dotted, source, lines.get(dotted))
    return cls(**values)


def _check_value(cls, name: str, hint, value: Any, dotted: str, source: str, line: int | None) -> Any:
    allowed = [a for a in typing.get_args(hint)] if isinstance(hint, types.UnionType) else [hint]
    if value is None:
        if type(None) in allowed:
            return None
        raise _error(f"'{dotted}' may not be null", source, line)
    ok_types = [a for a in allowed if a is not type(None)]
    if float in ok_types and isinstance(value, str):
        try:
            value = float(value)  # YAML 1.1 reads "1e-3" as a string
        except ValueError:
            pass
    if float in ok_types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not any(isinstance(value, t) and not (t is int and isinstance(value, bool)) for t in ok_types):
        names = " or ".join(t.__name__ for t in ok_types)
        raise _error(f"'{dotted}' must be {names}, got {value!r}", source, line)
    choices = getattr(cls, "CHOICES", {}).get(name)
    if choices is not None and value not in choices:
        near = difflib.get_close_matches(str(value), [str(c) for c in choices if c is not None], n=1)
        hint_text = f"; did you mean '{near[0]}'?" if near else ""
        raise _error(f"'{dotted}' must be one of {list(choices)}, got {value!r}{hint_text}", source, line)
    bounds = getattr(cls, "RANGES", {}).get(name)
    if bounds is not None and isinstance(value, (int, float)) and not bounds[0] <= value <= bounds[1]:
        raise _error(f"'{dotted}' must be between {bounds[0]} and {bounds[1]}, got {value!r}", source, line)
    return value
