"""Which int8 matrix kernel ONNX Runtime may use on this CPU: ask it, with a product whose answer
is known.

An int8 graph's products take uint8 activations and int8 weights (u8s8). On an x86 CPU with
AVX-512 VNNI (or AVX-VNNI, AMX) ONNX Runtime computes them exactly. Without VNNI (AVX2, AVX-512
before Ice Lake / Zen 4) its u8s8 kernel adds each pair of byte products in 16 bits with
saturation (vpmaddubsw: 255 x 127 x 2 > 32767), so a product can come out far from its true value
(an all-ones product gave 0.063 for 8.0 there). The session option `session.x64quantprecision`
makes ONNX Runtime turn the int8 weights into uint8 once, at load, and use its exact u8u8 kernel:
the same integers, but about half as fast, and it does so on VNNI CPUs too, where nothing needs
it. So the option is set only where a saturating product, run once per process with the plain
options, comes out wrong (`u8s8_saturates`).

NEWSROLES_INT8_KERNEL=u8s8 or u8u8 forces one path (the tests cover both on any CPU); `auto`, the
default, asks the probe.
"""

from __future__ import annotations

import base64
import functools
import os

import numpy as np

from newsroles.model.errors import UserError

PRECISION_OPTION = "session.x64quantprecision"
ENV = "NEWSROLES_INT8_KERNEL"
KERNELS = ("auto", "u8s8", "u8u8")

# The probe: y = MatMulIntegerToFloat(a, W), a (rows x DEPTH) uint8 around zero point 128, W
# (DEPTH x COLUMNS) int8 with every weight 127, scales 1: each output is sum((a - 128) * 127).
# Serialised by `build_saturation_probe()` (a test checks the two agree) and kept here so that a
# torch-free `newsroles label` needs no onnx package (whose import takes about 2 s) to build it.
DEPTH, COLUMNS = 32, 8
PROBE_GRAPH = (
    "CAg6sAMKPAoBYQoBVwoDb25lCgNvbmUKAnpwEgF5IhRNYXRNdWxJbnRlZ2VyVG9GbG9hdDoNY29tLm1pY3Jvc29mdBIVdThz"
    "OC1zYXR1cmF0aW9uLXByb2JlKowCCCAICBADQgFXSoACf39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
    "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
    "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
    "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
    "fyoNEAFCA29uZUoEAACAPyoJEAJCAnpwSgGAWhcKAWESEgoQCAISDAoGEgRyb3dzCgIIIGIXCgF5EhIKEAgBEgwKBhIEcm93"
    "cwoCCAhCBAoAEA1CEQoNY29tLm1pY3Jvc29mdBAB"
)


def build_saturation_probe() -> bytes:
    """The probe graph, serialised (needs the onnx package; PROBE_GRAPH holds its output)."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.full((DEPTH, COLUMNS), 127, np.int8), "W"),
        numpy_helper.from_array(np.array(1, np.float32), "one"),
        numpy_helper.from_array(np.array(128, np.uint8), "zp"),
    ]
    node = helper.make_node("MatMulIntegerToFloat", ["a", "W", "one", "one", "zp"], ["y"], domain="com.microsoft")
    graph = helper.make_graph(
        [node], "u8s8-saturation-probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, ["rows", DEPTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["rows", COLUMNS])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model.SerializeToString()


def probe_answer_is_exact(options=None) -> bool:
    """Whether ONNX Runtime, with `options` (default: plain), computes the probe exactly: a row of
    255s (the largest pair sums) and a one-row call (another kernel shape), each checked."""
    import onnxruntime as ort

    options = options or ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(base64.b64decode(PROBE_GRAPH), options, providers=["CPUExecutionProvider"])
    exact = (255 - 128) * 127 * DEPTH
    for rows in (4, 1):
        a = np.full((rows, DEPTH), 255, np.uint8)
        if not np.array_equal(session.run(None, {"a": a})[0], np.full((rows, COLUMNS), exact, np.float32)):
            return False
    return True


@functools.lru_cache(maxsize=None)
def u8s8_saturates() -> bool:
    """True where this CPU's u8s8 kernel gets the probe wrong (asked once per process)."""
    return not probe_answer_is_exact()


def chosen_kernel() -> str:
    """"u8s8" or "u8u8": what int8 sessions opened by `use_exact_int8` run on this machine."""
    wanted = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if wanted not in KERNELS:
        raise UserError(f"{ENV} must be one of {', '.join(KERNELS)}, not {wanted!r}")
    if wanted != "auto":
        return wanted
    return "u8u8" if u8s8_saturates() else "u8s8"


def use_exact_int8(options) -> str:
    """Set up ONNX Runtime session `options` so that int8 products are exact on this CPU; returns
    the kernel chosen. Costs one tiny session, once per process, and nothing for fp32 graphs."""
    kernel = chosen_kernel()
    if kernel == "u8u8":
        options.add_session_config_entry(PRECISION_OPTION, "1")
    return kernel
