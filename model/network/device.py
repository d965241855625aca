"""Picking the device: auto takes a GPU when one is there."""

from __future__ import annotations

import torch

from newsroles.model.errors import UserError

DEVICES = ("auto", "cpu", "cuda", "mps")  # what --device offers (inference/cli/grammar.py spells them too)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError("--device cuda was asked for, but no CUDA GPU is available here; use --device cpu or auto")
        return torch.device(name)
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise UserError("--device mps was asked for, but no Apple GPU (MPS) is available here; use --device cpu or auto")
        return torch.device("mps")
    raise UserError(f"unknown device '{name}'; use {', '.join(DEVICES)}")


PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 natively (a CPU with AVX-512 BF16 or AMX, or a recent GPU).

    Without it, bf16 on a CPU is emulated and slower than fp32.
    """
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False  # mps: fp32, the one precision every Apple GPU runs
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device, training: bool = False) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`, or None for plain fp32.

    auto: half precision on a GPU; on a CPU, bf16 for training where the CPU has it natively (about
    1.4x faster steps) and fp32 for inference (exact answers; `newsroles export --runtime bf16`
    makes a bf16 copy for speed).
    """
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise UserError(f"unknown precision '{precision}'; use {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if training and native_bf16(device) else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    """A context that runs the block in `dtype` (None: unchanged)."""
    from contextlib import nullcontext

    return torch.autocast(device_type=device.type, dtype=dtype) if dtype is not None else nullcontext()
