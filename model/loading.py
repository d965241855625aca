"""The one loader: a model reference in, a runner that labels out, the manifest read once.

`load(reference)` resolves the reference (a folder, `latest`, an id, a name, `name/version`, an id
prefix or an installed model package: model/store/registry.py) to its folder and manifest, then picks the
runner from one table by the manifest's (kind, runtime):

    (tfidf, fp32)                          TfidfRunner            model/tfidf.py
    (transformer, fp32 | int8 | bf16)      TorchRunner            model/network/runtimes.py, model/network/forward.py
    (transformer, onnx | onnx-int8)        OnnxRunner (no torch)  model/onnx_runtime.py

Every runner has one interface, `Runner`: articles in, per-article probabilities out. An exported
copy (any runtime but fp32) then labels its known-answer probe (model/probe.py) before it is used.
The labeler that withholds boilerplate and low-confidence sentences on top of a runner is
inference/predictor.py's `Labeler`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from newsroles.model.article import Article
from newsroles.model.errors import UserError
from newsroles.model.store.folder import MANIFEST
from newsroles.model.onnx_runtime import RUNTIMES, onnx_runner, runtime_of
from newsroles.model.probe import probe_result, verify_probe
from newsroles.model.store.registry import Version, newest_version, resolve
from newsroles.model.tfidf import TfidfRunner


class Runner(Protocol):
    """What every runner does. `device.type` is "cpu", "cuda" or "mps"; `int8_kernel` names the
    int8 product kernel of an onnx-int8 graph (model/int8_kernels.py), else None."""

    device: object
    int8_kernel: str | None

    def predict(
        self, articles: list[Article], batch_size: int | None = None, progress: Callable | None = None, aux_out: list | None = None
    ) -> list[np.ndarray]:
        """Per article an (n_sentences, n_labels) array of probabilities. `progress` is called with
        the number of sentences each batch finished; `aux_out`, when given and the model has an
        auxiliary head, receives per article its (n_sentences, n_aux) probabilities."""
        ...


@dataclass
class Loaded:
    """A resolved model version and its runner; `probe`: how an exported copy did on its
    known-answer probe here (None for an original, or a copy without one)."""

    version: Version
    runner: Runner
    probe: dict | None = None


def _torch_runtimes():
    """model/network/runtimes.py, imported only when a runner needs torch: the ONNX path never imports torch."""
    # torch-free: runtimes.py imports torch at its top; an ONNX copy loads without it
    from newsroles.model.network import runtimes

    return runtimes


def _tfidf(folder: Path, manifest: dict, device: str) -> Runner:
    if device not in ("auto", "cpu"):
        _torch_runtimes().resolve_device(device)  # runs on the CPU, but a GPU asked for and missing is still said
    return TfidfRunner.load(folder)


RUNNERS: dict[tuple[str, str], Callable[[Path, dict, str], Runner]] = {
    ("tfidf", "fp32"): _tfidf,
    ("transformer", "fp32"): lambda folder, manifest, device: _torch_runtimes().fp32_runner(folder, manifest, device),
    ("transformer", "int8"): lambda folder, manifest, device: _torch_runtimes().int8_runner(folder, manifest),
    ("transformer", "bf16"): lambda folder, manifest, device: _torch_runtimes().bf16_runner(folder, manifest),
    ("transformer", "onnx"): lambda folder, manifest, device: onnx_runner(folder, manifest),
    ("transformer", "onnx-int8"): lambda folder, manifest, device: onnx_runner(folder, manifest),
}


def load(
    reference: str | Path | None = None, device: str = "auto", *, models_dir: str | Path = "models", verify: bool = True
) -> Loaded:
    """Load the model `reference` names (None: the newest in `models_dir`) on `device`.

    A UserError says what is wrong with a bad reference or folder. An exported copy runs on the CPU
    only, labels its known-answer probe first and is refused if it gets it wrong on this machine;
    `verify=False` loads it anyway (to report on it: `Loaded.probe`)."""
    version = newest_version(models_dir) if reference is None else resolve(reference, models_dir)
    folder, manifest = version.path, version.manifest
    runtime = runtime_of(manifest)
    make = RUNNERS.get((str(manifest["kind"]), runtime))
    if make is None:
        raise UserError(
            f"unknown runtime {runtime!r} in the manifest; this newsroles knows fp32, {', '.join(RUNTIMES)} "
            "(export the model again with this version)",
            folder / MANIFEST,
        )
    if runtime != "fp32" and device not in ("auto", "cpu"):
        source = (manifest.get("exported_from") or {}).get("path") or "the folder it was exported from"
        raise UserError(
            f"this is an optimised CPU copy of a model (runtime {runtime}); use --device cpu, "
            f"or give the original model folder on a GPU ({source})",
            folder,
        )
    runner = make(folder, manifest, device)
    probe = None
    if runtime != "fp32":  # kernels this CPU picks: checked against the original's answers (model/probe.py)
        probe = (verify_probe if verify else probe_result)(folder, runtime, runner.predict)
        if probe is not None and runner.int8_kernel:
            probe["int8_kernel"] = runner.int8_kernel
    return Loaded(version, runner, probe)
