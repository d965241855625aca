"""An exponential moving average of a model's weights, kept beside the raw ones during training."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class WeightAverage:
    """An exponential moving average of a model's floating-point weights and buffers.

    The decay ramps up over the first steps, (1 + t) / (10 + t), so the average is not dominated by
    the initial head weights in a short run.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.updates = 0
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.dtype.is_floating_point}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        for name, value in model.state_dict().items():
            if name in self.shadow:
                self.shadow[name].mul_(decay).add_(value.detach(), alpha=1 - decay)

    def state(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "shadow": self.shadow}

    def restore(self, state: dict) -> None:
        self.updates, self.shadow = state["updates"], state["shadow"]

    @contextlib.contextmanager
    def applied(self, model: nn.Module):
        """The averaged weights in `model` for the duration of the block, the raw ones after."""
        raw = {k: v.detach().clone() for k, v in model.state_dict().items() if k in self.shadow}
        model.load_state_dict(self.shadow, strict=False)
        try:
            yield model
        finally:
            model.load_state_dict(raw, strict=False)
