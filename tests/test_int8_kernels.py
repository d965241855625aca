"""model/int8_kernels.py: int8 products exact on every CPU, the saturating u8s8 path included.

ONNX Runtime picks its u8s8 kernel by the CPU's features and offers no switch to pick another.
Valgrind runs x86 code on a CPU it emulates without AVX-512, so under it ONNX Runtime takes the
AVX2 path that saturates with 8-bit weights: the last test runs products there, where a VNNI
machine cannot, and checks that 7-bit weights need no slower kernel.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

from newsroles.model import int8_kernels  # noqa: E402
from newsroles.model.errors import UserError  # noqa: E402


class Options:
    def __init__(self):
        self.entries = {}

    def add_session_config_entry(self, key, value):
        self.entries[key] = value


@pytest.mark.parametrize("bits", [8, 7])
def test_the_stored_probe_graph_is_the_one_the_builder_makes(bits):
    assert base64.b64decode(int8_kernels.PROBE_GRAPHS[bits]) == int8_kernels.build_saturation_probe(bits)


@pytest.mark.parametrize("bits", [8, 7])
def test_exact_kernel_options_compute_the_probe_exactly(bits):
    import onnxruntime as ort

    options = ort.SessionOptions()
    int8_kernels.use_exact_int8(options, int8_kernels.build_saturation_probe(bits))
    assert int8_kernels.probe_answer_is_exact(options, bits)


def tiny_int8_graph(**quantize) -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    from newsroles.inference.export.int8_graph import quantize_per_token

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", 2])
    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.doc_string = "a doc string before the graph, and metadata of its own"
    model.metadata_props.add(key="author", value="newsroles tests")
    return quantize_per_token(model, **quantize).SerializeToString()


@pytest.mark.parametrize("bits", [7, 8])
def test_the_weight_range_is_read_back_from_the_graph_without_onnx(tmp_path, bits):
    path = tmp_path / "encoder.onnx"
    path.write_bytes(tiny_int8_graph(weight_bits=bits))
    assert int8_kernels.weight_bits(path) == bits
    assert int8_kernels.graph_metadata(path) == {"author": "newsroles tests", int8_kernels.WEIGHT_BITS_KEY: str(bits)}


def test_a_graph_that_records_no_range_is_taken_for_8_bits(tmp_path):
    """Exports from before 7-bit weights record nothing: they keep today's probe and fallback."""
    import onnx

    model = onnx.load_from_string(tiny_int8_graph())
    del model.metadata_props[:]
    assert int8_kernels.weight_bits(model.SerializeToString()) == 8
    assert int8_kernels.weight_bits(tmp_path / "missing.onnx") == 8
    assert int8_kernels.weight_bits(b"not an onnx file at all") == 8


def test_a_7_bit_graph_runs_on_the_fast_kernel_where_an_8_bit_one_may_not(monkeypatch):
    monkeypatch.delenv(int8_kernels.ENV, raising=False)
    seven, eight = Options(), Options()
    assert int8_kernels.use_exact_int8(seven, tiny_int8_graph(weight_bits=7)) == "u8s8"
    assert seven.entries == {}
    assert int8_kernels.use_exact_int8(eight, tiny_int8_graph(weight_bits=8)) == int8_kernels.chosen_kernel(8)


@pytest.mark.parametrize("kernel, option", [("u8u8", {int8_kernels.PRECISION_OPTION: "1"}), ("u8s8", {})])
def test_a_forced_kernel_sets_the_session_option_or_not(monkeypatch, kernel, option):
    monkeypatch.setenv(int8_kernels.ENV, kernel)
    options = Options()
    assert int8_kernels.use_exact_int8(options) == kernel
    assert options.entries == option


@pytest.mark.parametrize("bits", [8, 7])
def test_auto_follows_the_probe(monkeypatch, bits):
    monkeypatch.delenv(int8_kernels.ENV, raising=False)
    want = "u8u8" if int8_kernels.u8s8_saturates(bits) else "u8s8"
    assert int8_kernels.chosen_kernel(bits) == want


def test_an_unknown_kernel_name_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(int8_kernels.ENV, "fast")
    with pytest.raises(UserError, match="NEWSROLES_INT8_KERNEL must be one of auto, u8s8, u8u8, not 'fast'"):
        int8_kernels.chosen_kernel()


EMULATED = textwrap.dedent(
    """
    import json
    import numpy as np, onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from newsroles.inference.export.int8_graph import quantize_per_token
    from newsroles.model.int8_kernels import chosen_kernel, use_exact_int8

    def graph(weight, bits):
        rows, cols = weight.shape
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", rows])
        y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", cols])
        body = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [numpy_helper.from_array(weight, "W")])
        return quantize_per_token(helper.make_model(body, opset_imports=[helper.make_opsetid("", 17)]), bits).SerializeToString()

    def run(model, x, runtime):
        options = ort.SessionOptions()
        if runtime:
            use_exact_int8(options, model)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]

    found = {"kernel": {bits: chosen_kernel(bits) for bits in (7, 8)}, "ones": {}, "gaussian": {}}
    ones = np.ones((3, 64), np.float32)  # every pair of byte products at its largest
    for bits in (7, 8):
        model = graph(np.ones((64, 16), np.float32), bits)
        found["ones"][bits] = {"plain": float(run(model, ones, False).min()), "runtime": float(run(model, ones, True).min())}
    rng = np.random.default_rng(0)
    for depth in (8, 64, 384, 1536):
        weight, x = rng.normal(size=(depth, 48)).astype(np.float32), rng.normal(size=(18, depth)).astype(np.float32)
        want = x @ weight
        found["gaussian"][depth] = {
            bits: float(np.abs(run(graph(weight, bits), x, False) - want).max() / np.abs(want).max()) for bits in (7, 8)
        }
    print(json.dumps(found))
    """
)


def test_on_an_emulated_cpu_without_avx512_7_bit_weights_are_exact_on_the_plain_kernel(tmp_path):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        pytest.skip("valgrind is not installed (make test installs it with apt-get where it can)")
    script = tmp_path / "emulated.py"
    script.write_text(EMULATED, encoding="utf-8")
    done = subprocess.run(
        [valgrind, "--tool=none", "--quiet", sys.executable, str(script)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    ones = found["ones"]
    if abs(ones["8"]["plain"] - 64.0) < 0.64:
        pytest.skip("valgrind's emulated CPU computes u8s8 exactly here: the saturating path was not reached")
    # There ONNX Runtime's plain u8s8 kernel saturates with 8-bit weights; the runtime opens such a
    # graph on u8u8 and gets it right.
    assert found["kernel"] == {"7": "u8s8", "8": "u8u8"}
    assert abs(ones["8"]["runtime"] - 64.0) < 0.64
    # 7-bit weights: the plain fast kernel itself is exact, on the worst case and on Gaussian
    # products of every depth the encoder has (where 8-bit weights go wrong on the same kernel).
    assert abs(ones["7"]["plain"] - 64.0) < 0.64 and abs(ones["7"]["runtime"] - 64.0) < 0.64
    for depth, error in found["gaussian"].items():
        assert error["7"] < 0.02, (depth, error)
    assert max(error["8"] for error in found["gaussian"].values()) > 0.02
