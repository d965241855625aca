"""What an exported copy's known-answer probe (model/probe.py) adds to loading it, side by side.

    python benchmarks/probe_cost.py MODEL-onnx-int8 [--repeats 7]

Loads the copy without the probe, then labels its probe, --repeats times in one process; prints the
medians (ms) and the probe's agreement. The first probe call also pays ONNX Runtime's first-run
allocations, which the first real labeling call would otherwise pay.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from newsroles.model.store.folder import read_manifest
from newsroles.model.onnx_runtime import onnx_runner, runtime_of
from newsroles.model.probe import probe_result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="an onnx or onnx-int8 export")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    manifest = read_manifest(args.folder)
    loads, probes, result = [], [], None
    for _ in range(args.repeats):
        started = time.perf_counter()
        runner = onnx_runner(args.folder, manifest)
        loads.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = probe_result(args.folder, runtime_of(manifest), runner.predict)
        probes.append(time.perf_counter() - started)
    print(f"load without the probe: median {1000 * statistics.median(loads):.0f} ms; "
          f"the probe: median {1000 * statistics.median(probes):.0f} ms; {result}")


if __name__ == "__main__":
    main()
