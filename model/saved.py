"""Saving and loading a transformer model folder (weights as safetensors, tokenizer, encoder config)."""

from __future__ import annotations

from pathlib import Path

import torch

from newsroles.model.classifier import SentenceRoleModel
from newsroles.model.errors import UserError
from newsroles.model.folder import read_config, read_manifest, write_common_files
from newsroles.model.spec import ModelSpec


def save_transformer(
    folder: Path,
    model: SentenceRoleModel,
    tokenizer,
    *,
    labels: list[str],
    aux_labels: list[str],
    config: dict,
    metrics: dict,
    data: dict,
    extra: dict | None = None,
) -> dict:
    from safetensors.torch import save_model

    save_model(model, str(folder / "model.safetensors"))
    model.encoder.config.save_pretrained(folder / "encoder")
    tokenizer.save_pretrained(folder)
    return write_common_files(
        folder,
        kind="transformer",
        labels=labels,
        config=config,
        metrics=metrics,
        data=data,
        extra={"aux_labels": aux_labels, "model_type": model.spec.type, **(extra or {})},
    )


def spec_from_config(config: dict) -> ModelSpec:
    known = {f for f in ModelSpec.__dataclass_fields__}
    return ModelSpec(**{k: v for k, v in (config.get("model") or {}).items() if k in known})


def load_transformer(folder: str | Path, device: torch.device) -> tuple[SentenceRoleModel, object, dict]:
    """Rebuild the classifier from a model folder, offline: nothing is fetched from a hub."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = Path(folder)
    manifest = read_manifest(folder)
    spec = spec_from_config(read_config(folder))
    try:
        encoder = AutoModel.from_config(AutoConfig.from_pretrained(folder / "encoder"))
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot rebuild the encoder or tokenizer ({str(exc).splitlines()[0]})", folder)
    model = SentenceRoleModel(encoder, spec, len(manifest["labels"]), len(manifest.get("aux_labels") or []))
    try:
        load_model(model, str(folder / "model.safetensors"), strict=True, device="cpu")
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        raise UserError(f"corrupt or mismatched weights ({str(exc).splitlines()[0][:200]})", folder / "model.safetensors")
    return model.to(device).eval(), tokenizer, manifest
