"""Prepare `.device/` for benchmarks/gpu_check.sh: what a GPU machine without network lacks.

    python benchmarks/gpu_bundle.py        # here, where PyPI is reachable; about 45 MB

The GPU machine (the `device` tool's H200) has torch, transformers, onnxruntime, typer and most of
our other dependencies, no network, and takes at most 64 MiB along. This writes:
- .device/wheels: pydantic, its compiled core (CPython 3.12, manylinux), annotated-types and
  typing-inspection, the dependencies it lacks (read off our pyproject and its package list);
- .device/base: the default base encoder (configs/default.yaml's model.base) cut to the default's
  model.encoder_layers, saved in bf16 (fp32 would not fit), with its tokenizer: training loads it
  back in fp32, so it is the default's starting point up to bf16 rounding of the weights;
- .device/data: the converted NewsDiscourse train and validation splits (`newsroles data convert`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]


def installed_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def download_wheels(folder: Path) -> None:
    names = ["pydantic", "pydantic-core", "annotated-types", "typing-inspection"]
    pins = [f"{name}=={installed_version(name)}" for name in names]  # the versions our tests ran with
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
         "--implementation", "cp", *platforms, "-d", str(folder), *pins],
        check=True,
    )


def save_base(folder: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    from newsroles.model.network.base import resolve_base_model
    from newsroles.model.network.encoder_layers import keep_first_layers
    from newsroles.model.spec import packaged_default_config

    model = packaged_default_config()["model"]
    path = resolve_base_model(model["base"])
    encoder = keep_first_layers(AutoModel.from_pretrained(path), model.get("encoder_layers"), model["base"])
    encoder.to(torch.bfloat16).save_pretrained(folder)
    AutoTokenizer.from_pretrained(path).save_pretrained(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / ".device")
    parser.add_argument("--data", type=Path, default=REPO / "data" / "newsdiscourse", help="converted train.jsonl and validation.jsonl")
    args = parser.parse_args()
    for name in ("train.jsonl", "validation.jsonl"):
        if not (args.data / name).is_file():
            sys.exit(f"{args.data / name} is missing: run `newsroles data convert ../shared/data/newsdiscourse {args.data}` first")
    shutil.rmtree(args.out, ignore_errors=True)
    download_wheels(args.out / "wheels")
    save_base(args.out / "base")
    (args.out / "data").mkdir(parents=True)
    for name in ("train.jsonl", "validation.jsonl"):
        shutil.copy(args.data / name, args.out / "data" / name)
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(f"{args.out}: {size / 2**20:.1f} MiB (the device tool carries at most 64 MiB)")


if __name__ == "__main__":
    main()
