"""Which int8 matrix kernel ONNX Runtime may use on this CPU for an int8 graph: read the graph's
weight range, and ask ONNX Runtime with a product whose answer is known.

An int8 graph's products take uint8 activations and int8 weights (u8s8). On an x86 CPU with
AVX-512 VNNI (or AVX-VNNI, AMX) ONNX Runtime computes them exactly. Without VNNI (AVX2, AVX-512
before Ice Lake / Zen 4) its u8s8 kernel adds each pair of byte products in 16 bits with
saturation (vpmaddubsw): with 8-bit weights 255 x 127 x 2 > 32767, so a product can come out far
from its true value (an all-ones product gave 0.063 for 8.0 there).

The exported int8 graph keeps its weights in 7 bits, in [-63, 63] (inference/export/int8_graph.py records
that in the graph's metadata, `WEIGHT_BITS_KEY`): 255 x 63 x 2 = 32130 fits, so the same fast u8s8
kernel is exact on every x86 CPU and nothing else is needed. Graphs with 8-bit weights (copies
exported before 7-bit weights, which record no range, or `weight_bits=8`) may need the session
option `session.x64quantprecision`, which makes ONNX Runtime turn the int8 weights into uint8 once,
at load, and use its exact u8u8 kernel: the same integers, but about half as fast, and it does so
on VNNI CPUs too, where nothing needs it.

Either way a known-answer product for the graph's weight range (all weights at the range's top,
all activations 255) runs once per process with the plain options; only where it comes out wrong
is the option set (`u8s8_saturates`). For 8-bit weights that is what happens on AVX2 CPUs; for
7-bit weights it is a guard, which passes with VNNI and under valgrind's AVX2 emulation
(BENCHMARKS.md, "7-bit weights for AVX2").

NEWSROLES_INT8_KERNEL=u8s8 or u8u8 forces one path (the tests cover both on any CPU); `auto`, the
default, asks the probe.
"""

from __future__ import annotations

import base64
import functools
import io
import os
from pathlib import Path

import numpy as np

from newsroles.model.errors import UserError

PRECISION_OPTION = "session.x64quantprecision"
ENV = "NEWSROLES_INT8_KERNEL"
KERNELS = ("auto", "u8s8", "u8u8")
# ModelProto.metadata_props key an int8 graph names its weights' bits under ("7" or "8"); a graph
# without it (exports before 7-bit weights) has 8-bit weights.
WEIGHT_BITS_KEY = "newsroles.int8.weight_bits"
WEIGHT_BITS = (7, 8)

# The probe: y = MatMulIntegerToFloat(a, W), a (rows x DEPTH) uint8 around zero point 128, W
# (DEPTH x COLUMNS) int8 with every weight at the top of its range (127 for 8 bits, 63 for 7),
# scales 1: each output is sum((a - 128) * top). Serialised by `build_saturation_probe(bits)` (a
# test checks the two agree) and kept here so that a torch-free `newsroles label` needs no onnx
# package (whose import takes about 2 s) to build it.
DEPTH, COLUMNS = 32, 8
PROBE_GRAPHS = {
    8: (
        "CAg6sAMKPAoBYQoBVwoDb25lCgNvbmUKAnpwEgF5IhRNYXRNdWxJbnRlZ2VyVG9GbG9hdDoNY29tLm1pY3Jvc29mdBIVdThz"
        "OC1zYXR1cmF0aW9uLXByb2JlKowCCCAICBADQgFXSoACf39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
        "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
        "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
        "f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/f39/"
        "fyoNEAFCA29uZUoEAACAPyoJEAJCAnpwSgGAWhcKAWESEgoQCAISDAoGEgRyb3dzCgIIIGIXCgF5EhIKEAgBEgwKBhIEcm93"
        "cwoCCAhCBAoAEA1CEQoNY29tLm1pY3Jvc29mdBAB"
    ),
    7: (
        "CAg6sAMKPAoBYQoBVwoDb25lCgNvbmUKAnpwEgF5IhRNYXRNdWxJbnRlZ2VyVG9GbG9hdDoNY29tLm1pY3Jvc29mdBIVdThz"
        "OC1zYXR1cmF0aW9uLXByb2JlKowCCCAICBADQgFXSoACPz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/"
        "Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/"
        "Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/"
        "Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/Pz8/"
        "PyoNEAFCA29uZUoEAACAPyoJEAJCAnpwSgGAWhcKAWESEgoQCAISDAoGEgRyb3dzCgIIIGIXCgF5EhIKEAgBEgwKBhIEcm93"
        "cwoCCAhCBAoAEA1CEQoNY29tLm1pY3Jvc29mdBAB"
    ),
}

def top_weight(bits: int) -> int:
    """The largest int8 weight magnitude a graph with `bits`-bit weights holds: 127 or 63."""
    return 2 ** (bits - 1) - 1


def build_saturation_probe(bits: int = 8) -> bytes:
    """The probe graph for `bits`-bit weights, serialised (needs the onnx package; PROBE_GRAPHS
    holds its output)."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.full((DEPTH, COLUMNS), top_weight(bits), np.int8), "W"),
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


def probe_answer_is_exact(options=None, bits: int = 8) -> bool:
    """Whether ONNX Runtime, with `options` (default: plain), computes the probe for `bits`-bit
    weights exactly: a row of 255s (the largest pair sums) and a one-row call (another kernel
    shape), each checked."""
    import onnxruntime as ort

    options = options or ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(base64.b64decode(PROBE_GRAPHS[bits]), options, providers=["CPUExecutionProvider"])
    exact = (255 - 128) * top_weight(bits) * DEPTH
    for rows in (4, 1):
        a = np.full((rows, DEPTH), 255, np.uint8)
        if not np.array_equal(session.run(None, {"a": a})[0], np.full((rows, COLUMNS), exact, np.float32)):
            return False
    return True


@functools.lru_cache(maxsize=None)
def u8s8_saturates(bits: int = 8) -> bool:
    """True where this CPU's u8s8 kernel gets the probe for `bits`-bit weights wrong (asked once
    per process and weight range)."""
    return not probe_answer_is_exact(bits=bits)


def chosen_kernel(bits: int = 8) -> str:
    """"u8s8" or "u8u8": what int8 sessions of a graph with `bits`-bit weights, opened by
    `use_exact_int8`, run on this machine."""
    wanted = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if wanted not in KERNELS:
        raise UserError(f"{ENV} must be one of {', '.join(KERNELS)}, not {wanted!r}")
    if wanted != "auto":
        return wanted
    return "u8u8" if u8s8_saturates(bits) else "u8s8"


def use_exact_int8(options, graph: str | Path | bytes | None = None) -> str:
    """Set up ONNX Runtime session `options` so that the int8 products of `graph` (a path to an
    ONNX file or its bytes; None: assume 8-bit weights) are exact on this CPU; returns the kernel
    chosen. Costs one tiny session, once per process and weight range, and nothing for fp32 graphs."""
    kernel = chosen_kernel(weight_bits(graph) if graph is not None else 8)
    if kernel == "u8u8":
        options.add_session_config_entry(PRECISION_OPTION, "1")
    return kernel


def weight_bits(graph: str | Path | bytes) -> int:
    """The weight range an int8 graph records (`WEIGHT_BITS_KEY`): 7, or 8 where it records none
    or something else (the range every int8 weight fits)."""
    value = graph_metadata(graph).get(WEIGHT_BITS_KEY, "8").strip()
    return 7 if value == "7" else 8


def graph_metadata(graph: str | Path | bytes) -> dict[str, str]:
    """An ONNX file's metadata_props, read from its protobuf wire format without the onnx package
    (whose import takes about 2 s): the top-level fields are walked and the graph, megabytes long,
    is skipped by its length. {} for a file that cannot be read or is not a model; ONNX Runtime says
    what is wrong with it when it loads it."""
    try:
        stream = io.BytesIO(graph) if isinstance(graph, (bytes, bytearray)) else open(graph, "rb")
    except OSError:
        return {}
    found: dict[str, str] = {}
    with stream:
        while (tag := _varint(stream)) is not None:
            field, wire = tag >> 3, tag & 7
            if wire == 0:
                if _varint(stream) is None:
                    break
            elif wire in (1, 5):
                stream.seek(8 if wire == 1 else 4, io.SEEK_CUR)
            elif wire == 2:
                size = _varint(stream)
                if size is None:
                    break
                if field == METADATA_PROPS:
                    entry = _fields(stream.read(size))
                    found[entry.get(1, b"").decode("utf-8", "replace")] = entry.get(2, b"").decode("utf-8", "replace")
                else:
                    stream.seek(size, io.SEEK_CUR)
            else:  # groups: not in an ONNX model
                break
    return found


METADATA_PROPS = 14  # ModelProto field number (onnx.proto)


def _varint(stream) -> int | None:
    value = shift = 0
    while byte := stream.read(1):
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
        shift += 7
    return None


def _fields(message: bytes) -> dict[int, bytes]:
    """The length-delimited fields of a small message (a StringStringEntryProto: 1 key, 2 value)."""
    stream, out = io.BytesIO(message), {}
    while (tag := _varint(stream)) is not None:
        if tag & 7 != 2 or (size := _varint(stream)) is None:
            break
        out[tag >> 3] = stream.read(size)
    return out
