"""The label schema: one source of truth for a model's label set and a corpus's mapping onto it.

A label mapping is a YAML file (see configs/mappings/roles.yaml). The label set is data, not code:
a model learns whatever `labels` its mapping names, and the model folder stores that list.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from newsroles.model.errors import UserError
from newsroles.model.text.textio import read_config_text

DEFAULT_MAPPING = "roles"


@dataclass(frozen=True)
class Rule:
    when: frozenset[str]
    label: str | None  # None: leave the sentence out of training and scoring


@dataclass(frozen=True)
class LabelMapping:
    name: str
    labels: tuple[str, ...]
    rules: tuple[Rule, ...]
    source: str = "<built-in>"

    def map(self, source_labels: list[str] | tuple[str, ...]) -> str | None:
        """The label for a sentence with these corpus labels; None when a rule drops it."""
        present = set(source_labels)
        for rule in self.rules:
            if rule.when & present:
                return rule.label
        raise UserError(f"no rule in mapping '{self.name}' covers labels {sorted(present)}", self.source)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "labels": list(self.labels),
            "rules": [{"when": sorted(r.when), "label": r.label} for r in self.rules],
        }


def bundled_mapping_names() -> list[str]:
    folder = resources.files("newsroles.configs.mappings")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_mapping(name_or_path: str | Path = DEFAULT_MAPPING) -> LabelMapping:
    """Load a mapping by bundled name (`roles`, `content-types`) or from a YAML path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise UserError("label mapping file not found", path)
        text, source = read_config_text(path, "label mapping"), str(path)
    else:
        name = str(name_or_path)
        if name not in bundled_mapping_names():
            raise UserError(
                f"unknown label mapping '{name}'; use a YAML path or one of: {', '.join(bundled_mapping_names())}"
            )
        res = resources.files("newsroles.configs.mappings") / f"{name}.yaml"
        text, source = res.read_text(encoding="utf-8"), f"configs/mappings/{name}.yaml"
    return parse_mapping(text, source)


def parse_mapping(text: str, source: str) -> LabelMapping:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UserError(f"not valid YAML ({getattr(exc, 'problem', exc)})", source, None if line is None else line + 1)
    if not isinstance(raw, dict):
        raise UserError("a label mapping must be a YAML mapping with `labels` and `rules`", source)
    unknown = set(raw) - {"name", "labels", "rules"}
    if unknown:
        raise UserError(f"unknown key(s) {sorted(unknown)} in label mapping; allowed: name, labels, rules", source)
    labels = raw.get("labels")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise UserError("`labels` must be a non-empty list of label names", source)
    if len(set(labels)) != len(labels):
        raise UserError("`labels` lists a label twice", source)
    rules = []
    for i, r in enumerate(raw.get("rules") or [], start=1):
        if not isinstance(r, dict) or set(r) - {"when", "label"} or "when" not in r:
            raise UserError(f"rule {i} must have `when: [labels]` and `label: name|null`", source)
        when = r["when"] if isinstance(r["when"], list) else [r["when"]]
        label = r.get("label")
        if label is not None and label not in labels:
            raise UserError(f"rule {i} maps to '{label}', which is not in `labels` {labels}", source)
        rules.append(Rule(frozenset(str(w) for w in when), label))
    name = str(raw.get("name") or Path(source).stem)
    return LabelMapping(name=name, labels=tuple(labels), rules=tuple(rules), source=source)
