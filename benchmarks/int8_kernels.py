"""Int8 products on this CPU: how wrong ONNX Runtime's u8s8 kernel is where it saturates, what the
exact u8u8 kernel costs, and 7-bit weights on the fast u8s8 kernel, side by side
(model/int8_kernels.py, inference/export/int8_graph.py).

    python benchmarks/int8_kernels.py                   # this CPU: error and speed of each path
    python benchmarks/int8_kernels.py --emulate         # the error again under valgrind, whose
                                                        # emulated CPU has AVX2 but no AVX-512 / VNNI

For each depth (a product's inner dimension: 384 and 1536 are MiniLM's), the per-token int8 graph
of one product with Gaussian weights and inputs is run three ways and compared with fp32 (the
largest error as a share of the largest output): 8-bit weights with ONNX Runtime's plain options
(u8s8), 8-bit weights with `session.x64quantprecision` (u8u8), and 7-bit weights with the plain
options (u8s8; what `export --runtime onnx-int8` writes). Speed: a MiniLM-sized product pair (4
windows x 400 tokens x 384 -> 1536 and back) on one thread, the sessions called in turn, median of
--repeats. Prints a Markdown table and the CPU's name and int8-relevant flags. Under --emulate only
the error is measured (valgrind's timings are not the CPU's).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DEPTHS = (8, 64, 384, 1536)
FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")


def cpu_line() -> str:
    name, flags = platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name == platform.machine():
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return f"{name}; flags: {', '.join(f for f in FLAGS if f in flags) or 'none of ' + ', '.join(FLAGS)}"


PATHS = {  # name: (weight bits, session.x64quantprecision)
    "8-bit u8s8": (8, False),
    "8-bit u8u8": (8, True),
    "7-bit u8s8": (7, False),
}


def product_graph(weight: np.ndarray, bits: int):
    from onnx import TensorProto, helper, numpy_helper

    from newsroles.inference.export.int8_graph import quantize_per_token

    rows, cols = weight.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", rows])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", cols])
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [numpy_helper.from_array(weight, "W")])
    return quantize_per_token(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), bits).SerializeToString()


def session(model: bytes, exact: bool):
    import onnxruntime as ort

    from newsroles.model.int8_kernels import PRECISION_OPTION

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if exact:
        options.add_session_config_entry(PRECISION_OPTION, "1")
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def errors() -> list[tuple[int, dict[str, float]]]:
    rng = np.random.default_rng(0)
    out = []
    for depth in DEPTHS:
        weight = rng.normal(size=(depth, 48)).astype(np.float32)
        x = rng.normal(size=(2, 9, depth)).astype(np.float32)
        want = x @ weight
        models = {bits: product_graph(weight, bits) for bits in (7, 8)}
        err = {
            name: float(np.abs(session(models[bits], exact).run(None, {"x": x})[0] - want).max() / np.abs(want).max())
            for name, (bits, exact) in PATHS.items()
        }
        out.append((depth, err))
    return out


def speeds(repeats: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    for depth, width in ((384, 1536), (1536, 384)):
        weight = rng.normal(size=(depth, width)).astype(np.float32)
        models = {bits: product_graph(weight, bits) for bits in (7, 8)}
        x = rng.normal(size=(4, 400, depth)).astype(np.float32)
        sessions = {name: session(models[bits], exact) for name, (bits, exact) in PATHS.items()}
        for s in sessions.values():
            s.run(None, {"x": x})  # warm-up
        for _ in range(repeats):
            for name, s in sessions.items():
                started = time.perf_counter()
                s.run(None, {"x": x})
                times[name].append(time.perf_counter() - started)
    return {name: 1000 * float(np.median(t)) * 2 for name, t in times.items()}  # both products: ms per layer's pair


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emulate", action="store_true", help="measure the error under valgrind (an AVX2 CPU without VNNI)")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--errors-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.emulate:
        valgrind = shutil.which("valgrind")
        if valgrind is None:
            sys.exit("valgrind is not installed (apt-get install valgrind)")
        sys.exit(subprocess.call([valgrind, "--tool=none", "--quiet", sys.executable, __file__, "--errors-only"]))
    from newsroles.model.int8_kernels import chosen_kernel, u8s8_saturates

    print(f"CPU: {cpu_line()}" if not args.errors_only else "CPU: as valgrind emulates it (AVX2, no AVX-512 or VNNI)")
    for bits in (8, 7):
        print(f"{bits}-bit weights: u8s8 kernel saturates here: {u8s8_saturates(bits)}; the int8 runtime uses {chosen_kernel(bits)}")
    print(f"\n| depth | {' error | '.join(PATHS)} error |\n|---:|{'---:|' * len(PATHS)}")
    for depth, err in errors():
        print(f"| {depth} | {' | '.join(f'{err[name]:.4f}' for name in PATHS)} |")
    if not args.errors_only:
        ms = speeds(args.repeats)
        base = ms["8-bit u8s8"]
        print(
            f"\nMiniLM-sized product pair on one thread, median of {args.repeats}: "
            + ", ".join(f"{name} {ms[name]:.1f} ms ({ms[name] / base:.2f}x)" for name in PATHS)
        )


if __name__ == "__main__":
    main()
