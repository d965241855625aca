"""`newsroles export`: an optimised CPU copy of a transformer model folder.

The copy is a complete model folder whose manifest names its runtime (onnx, onnx-int8, int8 or
bf16; model/network/runtimes.py loads each). Making it: the ONNX graph (inference/export/onnx_export.py) or the
fp32 weights as they are, the rest of the folder copied, a new manifest and model card. Checking
it: the copy and the original label a known-answer probe, stored in the copy so that each load
checks it again (model/probe.py), and with `--data` a labeled file, side by side;
`--tune-bias` tunes the copy's label biases again (inference/export/checks.py). Speed and accuracy
of each runtime, measured: BENCHMARKS.md.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from newsroles.inference.export.checks import check_models, retune_bias
from newsroles.inference.export.onnx_export import export_encoder_onnx
from newsroles.inference.predictor import load_labeler
from newsroles.model.cards.card import write_card
from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.store.folder import MANIFEST, package_version, read_config, write_json
from newsroles.model.store.registry import Version, resolve, safe_name
from newsroles.model.onnx_runtime import (
    DEFAULT_RUNTIME,
    ENCODER_FILE,
    HEAD_FILE,
    ONNX_RUNTIMES,
    RUNTIMES,
    require_onnxruntime,
    runtime_of,
)
from newsroles.model.probe import probe_article, write_probe
from newsroles.model.network.saved import load_transformer
from newsroles.model.spec import ModelSpec
from newsroles.training.data.readers import read_articles


@dataclass
class ExportReport:
    folder: Path
    runtime: str
    seconds: float
    size_bytes: int
    source_size_bytes: int
    probe: dict = field(default_factory=dict)  # fp32 vs exported on the known-answer probe (model/probe.py)
    check: dict | None = None  # fp32 vs exported on a labeled data file, when one was given


def _copy_folder(source: Path, dest: Path, skip: set[str]) -> None:
    """Copy `source` into `dest` but for its top-level entries in `skip` and hidden entries
    (another run's unfinished `.part` writes)."""

    def ignored(folder: str, names: list[str]) -> set[str]:
        top = Path(folder) == source
        return {n for n in names if n.startswith(".") or (top and n in skip)}

    shutil.copytree(source, dest, ignore=ignored, dirs_exist_ok=True)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def default_output(version: Version, runtime: str, models_dir: str | Path = "models") -> Path:
    """Beside the model folder; never inside an installed package: in the models directory."""
    if version.package:
        return Path(models_dir) / safe_name(version.name) / f"{safe_name(version.package)}-{runtime}"
    return version.path.with_name(f"{version.path.name}-{runtime}")


def export_model(
    model: str | Path,
    output: str | Path | None = None,
    runtime: str = DEFAULT_RUNTIME,
    check_data: str | Path | None = None,
    max_f1_drop: float | None = 0.5,
    overwrite: bool = False,
    window_overlap: float | None = None,
    say: Callable[[str], None] | None = None,
    tune_bias_data: str | Path | None = None,
    models_dir: str | Path = "models",
) -> ExportReport:
    """Write an optimised copy of the transformer `model` (a folder, id, name, name/version or
    installed package, looked up in `models_dir`) for `runtime`.

    Left out, `output` is the folder beside the model's, named `<folder>-<runtime>`; for an installed
    package, which pip owns, `models_dir/<name>/<package>-<runtime>`.

    `window_overlap`, when given, replaces the model's `model.window_overlap` in the copy: the share
    of each window's sentences repeated in the next. Less overlap is less work per sentence (0.0
    encodes each sentence once; the usual 0.5 about twice) at some cost in context: a speed and
    accuracy trade to measure with `check_data`. Left out, the copy reads windows as the original.

    With `check_data` (a labeled file), both models are scored on it; the macro-F1 of each goes
    in the manifest, and a drop of more than `max_f1_drop` points (when not None) is an error
    that leaves nothing behind.

    With `tune_bias_data` (a labeled file: the dev split the original's biases were tuned on, never
    test data), the copy's per-label logit biases are tuned again on the copy's own outputs:
    int8 or bf16 arithmetic moves the logits a little, and the original's biases were tuned to its
    own (training/recipes/label_bias.py).
    """
    import torch

    say = say or (lambda message: None)
    started = time.perf_counter()
    version = resolve(model, models_dir)
    source, manifest = version.path, version.manifest
    check_request(source, manifest, runtime, window_overlap)
    dest = Path(output) if output is not None else default_output(version, runtime, models_dir)
    if dest.resolve() == source.resolve():
        raise UserError("the output folder must differ from the model folder", dest)
    if dest.exists() and not overwrite:
        raise UserError("output folder already exists (pass --overwrite to replace it)", dest)
    # Read now, to fail fast on a bad file before the work.
    check_articles, tune_articles = read_labeled(check_data, tune_bias_data, manifest["labels"])

    say(f"loading {source}")
    model, _, _ = load_transformer(source, torch.device("cpu"))
    export_info: dict = {
        "runtime": runtime,
        "description": RUNTIMES[runtime],
        "newsroles_version": package_version(),
        "torch": torch.__version__,
    }
    with atomic_dir(dest, overwrite=overwrite) as tmp:
        write_copy(model, source, tmp, runtime, window_overlap, export_info, say)
        new_manifest = copy_manifest(manifest, source, runtime, export_info)
        write_json(tmp / MANIFEST, new_manifest)

        say("checking the copy against the original")
        reference = load_labeler(source, "cpu")
        exported = load_labeler(tmp, "cpu")
        probe = probe_article()
        reference_probe = reference.predict([probe])[0]
        if runtime == "onnx" and window_overlap is None:
            differ = float(abs(exported.predict([probe])[0] - reference_probe).max())
            if differ > 1e-3:
                raise UserError(f"the ONNX graph does not reproduce the model (probabilities differ by {differ:.6f})", source)
        if tune_articles is not None:
            say(f"tuning the copy's label biases on {tune_bias_data}")
            weights = tmp / (HEAD_FILE if runtime in ONNX_RUNTIMES else "model.safetensors")
            export_info["label_bias"] = {"data": str(tune_bias_data), **retune_bias(exported, tune_articles, weights)}
            exported = load_labeler(tmp, "cpu")
        check = None
        if check_articles is not None:
            say(f"scoring both on {check_data}")
            check = check_models(reference, exported, check_articles)
            check["data"] = str(check_data)
            export_info["check"] = check
            if max_f1_drop is not None and check["macro_f1_drop_points"] > max_f1_drop:
                raise UserError(
                    f"the {runtime} copy loses {check['macro_f1_drop_points']:.2f} macro-F1 points on {check_data} "
                    f"({check['fp32_macro_f1']:.4f} -> {check['exported_macro_f1']:.4f}), more than the allowed "
                    f"{max_f1_drop}; {_refusal_hint(runtime, tune_articles is not None)}"
                )
        # The known-answer probe, as the finished copy labels it: each later load checks it again.
        export_info["probe"] = write_probe(tmp, runtime, reference_probe, exported.predict([probe])[0], probe)
        if exported.int8_kernel:
            export_info["probe"]["int8_kernel"] = exported.int8_kernel
        write_json(tmp / MANIFEST, new_manifest)  # now with the probe, the tuned biases and the check
        write_card(tmp)  # the copied card described the fp32 original: say what this copy is
        size = _folder_size(tmp)
    return ExportReport(dest, runtime, time.perf_counter() - started, size, _folder_size(source), export_info["probe"], check)



def check_request(source: Path, manifest: dict, runtime: str, window_overlap: float | None) -> None:
    """What can be refused before any work: an unknown runtime, a model that is not an fp32
    transformer, a missing ONNX package, a window overlap out of range."""
    if runtime not in RUNTIMES:
        raise UserError(f"unknown runtime '{runtime}'; use one of {', '.join(RUNTIMES)}")
    if manifest["kind"] != "transformer":
        raise UserError(f"only transformer models can be exported (this is a {manifest['kind']} model, already fast)", source)
    if runtime_of(manifest) != "fp32":
        raise UserError(f"this folder is already an exported copy (runtime {runtime_of(manifest)}); export the original", source)
    if runtime in ONNX_RUNTIMES:
        require_onnxruntime(f"runtime {runtime}")
        try:
            import onnx  # noqa: F401
        except ImportError:
            raise UserError(f"runtime {runtime} needs the onnx package to export: pip install onnx") from None
    low, high = ModelSpec.RANGES["window_overlap"]
    if window_overlap is not None and not low <= window_overlap <= high:
        raise UserError(f"window overlap must be between {low} and {high}, not {window_overlap}")


def read_labeled(check_data, tune_bias_data, labels: list[str]) -> tuple[list | None, list | None]:
    """The articles of the `--data` and `--tune-bias` files (None where not given); one file named
    for both (the usual dev split) is read once."""
    check_articles = read_articles(check_data, labels) if check_data is not None else None
    if tune_bias_data is None:
        return check_articles, None
    if check_data is not None and Path(tune_bias_data) == Path(check_data):
        return check_articles, check_articles
    return check_articles, read_articles(tune_bias_data, labels)


def write_copy(model, source: Path, tmp: Path, runtime: str, window_overlap: float | None, export_info: dict, say) -> None:
    """The copy's files in `tmp`: the ONNX encoder and the head's weights (ONNX runtimes), everything
    else of the source folder but its manifest, and its config with the new window overlap."""
    skip = {MANIFEST}
    if runtime in ONNX_RUNTIMES:
        import onnxruntime
        from safetensors.torch import save_file

        export_info["onnxruntime"] = onnxruntime.__version__
        skip.add("model.safetensors")
        say(f"exporting the encoder to ONNX ({runtime})")
        with tempfile.TemporaryDirectory() as work:
            export_info.update(export_encoder_onnx(model.encoder, tmp / ENCODER_FILE, runtime == "onnx-int8", Path(work)))
        head = {k: v.detach().contiguous() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
        save_file(head, str(tmp / HEAD_FILE))
    _copy_folder(source, tmp, skip)
    config = read_config(source)
    original_overlap = (config.get("model") or {}).get("window_overlap", ModelSpec.window_overlap)
    export_info["window_overlap"] = original_overlap
    if window_overlap is not None and window_overlap != original_overlap:
        import yaml

        config.setdefault("model", {})["window_overlap"] = window_overlap
        (tmp / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        export_info["window_overlap"] = window_overlap
        export_info["original_window_overlap"] = original_overlap
    if runtime in ONNX_RUNTIMES and not (tmp / "tokenizer.json").is_file():
        raise UserError("the model's tokenizer has no tokenizer.json (a fast tokenizer is needed for ONNX)", source)


def copy_manifest(manifest: dict, source: Path, runtime: str, export_info: dict) -> dict:
    """The copy's manifest: the original's, with its runtime and where it came from; a version of its
    own (a new id), linked to the one it came from. `export_info` is filled in as the checks run."""
    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    new_manifest = {
        **manifest,
        "created": now,
        "runtime": runtime,
        "exported_from": {"path": str(source.resolve()), "id": manifest.get("id"), "created": manifest.get("created")},
        "export": export_info,
    }
    if manifest.get("id"):
        new_manifest.update({"id": secrets.token_hex(4), "parent": manifest["id"], "parent_path": str(source.resolve())})
    new_manifest.pop("package", None)  # a copy of an installed model package is a plain folder of its own
    return new_manifest


def _refusal_hint(runtime: str, tuned: bool) -> str:
    """What to try after a refused copy: retuned biases win back most of int8's loss on average (BENCHMARKS.md)."""
    if runtime == "onnx":
        return "raise --max-f1-drop to keep it"
    if tuned:
        return "try --runtime onnx"
    return "try --tune-bias DEV (the data the model's biases were tuned on), or --runtime onnx"
