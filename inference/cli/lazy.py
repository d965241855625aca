"""Imports a command declares at its module's top and runs on first use.

Every command module names the functions it calls at its top, where a reader looks, as any
module does. But what they call imports torch, scikit-learn, numpy or pydantic, and `newsroles
--help`, `--version` and every shell TAB import all commands: run at once, those imports would
cost seconds (BENCHMARKS.md, "CLI start-up"). So a command writes

    evaluate_model = lazy("newsroles.inference.evaluation.evaluate", "evaluate_model")

and the module is imported when the command first calls it, as Python 3.15's `lazy from ...
import` (PEP 810) will do. tests/test_layers.py checks that every declaration names a real
function, so a rename cannot hide here until a user runs the command.
"""

from __future__ import annotations

import importlib
from typing import Any

DECLARED: list["LazyFunction"] = []  # every declaration, for the test that resolves them all


class LazyFunction:
    """A function of another module, imported on the first call."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name
        DECLARED.append(self)

    def resolve(self) -> Any:
        # Looked up on every call, not cached: a test that patches the module's function is obeyed.
        return getattr(importlib.import_module(self.module), self.name)

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"lazy({self.module!r}, {self.name!r})"


def lazy(module: str, *names: str):
    """`lazy("pkg.mod", "f")` is `f`; with several names, a tuple of them in order."""
    functions = tuple(LazyFunction(module, name) for name in names)
    return functions[0] if len(functions) == 1 else functions
