"""Saving and loading a transformer model folder (weights as safetensors, tokenizer, encoder config)."""

from __future__ import annotations

from pathlib import Path

import torch

from newsroles.model.network.classifier import SentenceRoleModel, fp32_encoder
from newsroles.model.errors import UserError
from newsroles.model.store.folder import read_config, read_manifest, write_common_files
from newsroles.model.spec import spec_from_config


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


def load_transformer(
    folder: str | Path, device: torch.device, manifest: dict | None = None
) -> tuple[SentenceRoleModel, object, dict]:
    """Rebuild the fp32 classifier from a model folder, offline: nothing is fetched from a hub.

    `manifest`: the folder's, when the caller has read it already (model/loading.py), else read
    here. The int8 and bf16 copies keep these weights and wrap them (model/network/runtimes.py); which
    runner a folder gets is model/loading.py's.
    """
    folder = Path(folder)
    manifest = manifest if manifest is not None else read_manifest(folder)
    if str(manifest.get("runtime", "")).startswith("onnx"):  # its encoder is a graph: nothing to train or rebuild
        raise UserError(f"an ONNX copy (runtime {manifest['runtime']}) has no PyTorch weights; "
                        "use the folder it was exported from", folder)
    from safetensors import SafetensorError
    from safetensors.torch import load_model
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    spec = spec_from_config(read_config(folder))
    try:
        encoder = fp32_encoder(AutoModel.from_config(AutoConfig.from_pretrained(folder / "encoder")))
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot rebuild the encoder or tokenizer ({str(exc).splitlines()[0]})", folder)
    model = SentenceRoleModel(encoder, spec, len(manifest["labels"]), len(manifest.get("aux_labels") or []))
    try:
        load_model(model, str(folder / "model.safetensors"), strict=True, device="cpu")
    except (SafetensorError, RuntimeError, OSError, ValueError) as exc:
        raise UserError(f"corrupt or mismatched weights ({_weights_problem(exc)})", folder / "model.safetensors") from None
    return model.to(device).eval(), tokenizer, manifest


def _weights_problem(exc: Exception) -> str:
    """The gist of a weights-loading error on one line. torch's state-dict errors put it on the lines
    after a generic first line ("Error(s) in loading state_dict for ...:"), one per tensor."""
    import re

    text = str(exc)
    mismatches = re.findall(
        r"size mismatch for ([\w.]+): copying a param with shape torch\.Size\((\[[^\]]*\])\) from checkpoint, "
        r"the shape in current model is torch\.Size\((\[[^\]]*\])\)",
        text,
    )
    missing = re.search(r"Missing key\(s\) in state_dict: ([^.]*)", text)
    unexpected = re.search(r"Unexpected key\(s\) in state_dict: ([^.]*)", text)
    fit = "the weights do not fit the model newsroles.json and config.yaml describe"
    if mismatches:
        name, have, want = mismatches[0]
        more = f" (and {len(mismatches) - 1} more)" if len(mismatches) > 1 else ""
        return f"{fit}: {name} is {have} in the file but {want} in the model{more}"
    if missing or unexpected:
        keys = (missing or unexpected).group(1).strip()
        return f"{fit}: {'missing' if missing else 'unexpected'} tensors {keys[:150]}"
    text = " ".join(text.split())
    return (text[:220] + "...") if len(text) > 220 else (text or type(exc).__name__)
