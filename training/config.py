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
from newsroles.model.spec import ModelSpec


@dataclass
class DataConfig:
    train: str | None = None
    dev: str | None = None
    # Label mapping (bundled name or YAML path): its `labels` are the model's label set.
    # null: the label set is the labels found in the training data.
    mapping: str | None = "roles"


@dataclass
class TrainConfig:
    epochs: int = 4
    learning_rate: float = 5e-5  # encoder
    head_learning_rate: float = 1e-3  # classifier head, position embeddings, GRU
    batch_size: int = 8  # windows per step (sentences, for a sentence model)
    # Overlap of training windows (model.window_overlap is inference's): 0 shows each sentence once
    # per epoch, which is the cheapest; more overlap shows sentences in several contexts.
    window_overlap: float = 0.0
    # Article model: each epoch cuts every article's first window at a random point, so windows
    # start at different sentences from one epoch to the next (augmentation at no extra cost).
    shift_windows: bool = False
    # >0: also keep an exponential moving average of the weights (this decay per step); after each
    # epoch the raw and the averaged weights are scored on dev and the better one is the epoch's
    # candidate (without dev: the average). 0 disables it.
    ema_decay: float = 0.0
    eval_batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    grad_clip: float = 1.0
    class_weighting: str = "sqrt"  # none | inverse | sqrt: against class imbalance (fact is rarest)
    focal_gamma: float = 0.0  # >0: focal loss instead of cross-entropy
    label_smoothing: float = 0.0
    aux_weight: float = 0.3  # weight of the corpus-labels auxiliary loss; 0 disables it
    # After training, tune one logit bias per label on the dev set for macro-F1 (training/calibrate.py).
    tune_label_bias: bool = True
    max_steps: int | None = None  # stop early (tests, smoke runs)
    checkpoint_steps: int = 100  # save a resumable checkpoint this often (and after every epoch); 0: only per epoch
    device: str = "auto"  # auto | cpu | cuda
    # auto: bf16 autocast where the device computes it natively (GPU; CPU with AVX-512 BF16 or AMX:
    # about 1.4x faster steps on the 2-core CPU), else fp32. Dev scoring during training is fp32 on CPU.
    precision: str = "auto"  # auto | fp32 | bf16
    threads: int | None = None  # CPU threads; default: all cores

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
    C: float = 2.0  # chosen by 5-fold cross-validation on the train split
    class_weight: str | None = "balanced"
    ngram_max: int = 2

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


def load_config(path: str | Path | None, overrides: dict[str, str] | None = None) -> RunConfig:
    """Read a YAML config (or the defaults when `path` is None), apply `section.key=value` overrides."""
    raw: dict = {}
    lines: dict[str, int] = {}
    source = "<defaults>"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.exists():
            raise UserError("config file not found", path)
        if not path.is_file():
            raise UserError("is a folder, not a config file (give a .yaml file, e.g. configs/default.yaml)", path)
        from newsroles.model.textio import read_config_text

        text = read_config_text(path, "config")
        try:
            raw = yaml.safe_load(text) or {}
            lines = _key_lines(yaml.compose(text))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise UserError(f"not valid YAML ({getattr(exc, 'problem', exc)})", path, mark.line + 1 if mark else None)
        if not isinstance(raw, dict):
            raise UserError("a config must be a YAML mapping of sections", path)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, _parse_override(value))
        lines[dotted] = FROM_COMMAND_LINE
    return _build(RunConfig, raw, "", source, lines)


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
