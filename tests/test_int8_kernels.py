"""model/int8_kernels.py: int8 products exact on every CPU, the saturating u8s8 path included.

ONNX Runtime picks its u8s8 kernel by the CPU's features and offers no switch to pick another.
Valgrind runs x86 code on a CPU it emulates without AVX-512, so under it ONNX Runtime takes the
AVX2 path that saturates: the last test runs the product there, where a VNNI machine cannot.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import textwrap

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


def test_the_stored_probe_graph_is_the_one_the_builder_makes():
    assert base64.b64decode(int8_kernels.PROBE_GRAPH) == int8_kernels.build_saturation_probe()


def test_exact_kernel_options_compute_the_probe_exactly():
    import onnxruntime as ort

    options = ort.SessionOptions()
    int8_kernels.use_exact_int8(options)
    assert int8_kernels.probe_answer_is_exact(options)


@pytest.mark.parametrize("kernel, option", [("u8u8", {int8_kernels.PRECISION_OPTION: "1"}), ("u8s8", {})])
def test_a_forced_kernel_sets_the_session_option_or_not(monkeypatch, kernel, option):
    monkeypatch.setenv(int8_kernels.ENV, kernel)
    options = Options()
    assert int8_kernels.use_exact_int8(options) == kernel
    assert options.entries == option


def test_auto_follows_the_probe(monkeypatch):
    monkeypatch.delenv(int8_kernels.ENV, raising=False)
    want = "u8u8" if int8_kernels.u8s8_saturates() else "u8s8"
    assert int8_kernels.chosen_kernel() == want


def test_an_unknown_kernel_name_is_one_clear_error(monkeypatch):
    monkeypatch.setenv(int8_kernels.ENV, "fast")
    with pytest.raises(UserError, match="NEWSROLES_INT8_KERNEL must be one of auto, u8s8, u8u8, not 'fast'"):
        int8_kernels.chosen_kernel()


EMULATED = textwrap.dedent(
    """
    import numpy as np, onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper
    from newsroles.inference.int8_graph import quantize_per_token
    from newsroles.model.int8_kernels import chosen_kernel, use_exact_int8

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", 64])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", 16])
    weight = numpy_helper.from_array(np.ones((64, 16), np.float32), "W")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["y"])], "g", [x], [y], [weight])
    model = quantize_per_token(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])).SerializeToString()
    feed = {"x": np.ones((3, 64), np.float32)}
    plain = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    options = ort.SessionOptions()
    use_exact_int8(options)
    ours = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    print(chosen_kernel(), float(plain.min()), float(ours.min()), float(ours.max()))
    """
)


def test_on_an_emulated_cpu_without_avx512_the_product_is_still_exact(tmp_path):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        pytest.skip("valgrind is not installed (make test installs it with apt-get where it can)")
    script = tmp_path / "emulated.py"
    script.write_text(EMULATED, encoding="utf-8")
    done = subprocess.run(
        [valgrind, "--tool=none", "--quiet", sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    kernel, plain, low, high = done.stdout.split()
    if abs(float(plain) - 64.0) < 0.64:
        pytest.skip("valgrind's emulated CPU computes u8s8 exactly here: the saturating path was not reached")
    # ONNX Runtime's plain u8s8 path saturates there; the session the runtime opens does not.
    assert kernel == "u8u8"
    assert abs(float(low) - 64.0) < 0.64 and abs(float(high) - 64.0) < 0.64
