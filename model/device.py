"""Picking the device: auto takes a GPU when one is there."""

from __future__ import annotations

import torch

from newsroles.model.errors import UserError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for, but no CUDA GPU is available here; use --device cpu or auto")
        return torch.device(name)
    raise UserError(f"unknown device '{name}'; use auto, cpu or cuda")
