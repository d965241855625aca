"""The int8 encoder graph (inference/export/int8_graph.py): products scaled per token, attention unfused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx is not installed")
ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from newsroles.inference.export.int8_graph import DEFAULT_WEIGHT_BITS, quantize_per_token, unfuse_attention  # noqa: E402
from newsroles.model.int8_kernels import ENV as KERNEL_ENV  # noqa: E402
from newsroles.model.int8_kernels import WEIGHT_BITS_KEY, chosen_kernel, use_exact_int8, weight_bits  # noqa: E402


def run(model, **feeds) -> np.ndarray:
    """The graph in a session opened as the int8 runtime opens its encoder's (exact int8 products
    on this CPU for the graph's weight range, model/int8_kernels.py)."""
    serialised = model.SerializeToString()
    options = ort.SessionOptions()
    use_exact_int8(options, serialised)
    session = ort.InferenceSession(serialised, options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@pytest.fixture(params=["auto", "u8u8", "u8s8"])
def kernel(request, monkeypatch):
    """Each int8 kernel path for the default 7-bit weights: the one chosen for this CPU, ONNX
    Runtime's exact u8u8, and its u8s8 (which cannot saturate on 7-bit weights; skipped should a
    CPU's probe find otherwise)."""
    from newsroles.model.int8_kernels import u8s8_saturates

    if request.param == "u8s8" and u8s8_saturates(DEFAULT_WEIGHT_BITS):
        pytest.skip("this CPU's u8s8 kernel gets the 7-bit probe wrong: the runtime uses u8u8 here")
    monkeypatch.setenv(KERNEL_ENV, request.param)
    return request.param


def product_graph(weight: np.ndarray, second_activation: bool = False):
    """y = x @ W (W a weight), and with `second_activation` also z = y @ x^T-like product of two
    activations, which must stay fp32."""
    rows, cols = weight.shape
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", rows])
    nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="product")]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", cols])]
    if second_activation:
        nodes += [helper.make_node("Transpose", ["y"], ["yt"], perm=[0, 2, 1]), helper.make_node("MatMul", ["y", "yt"], ["z"], name="scores")]
        outputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", "tokens", "tokens"])]
    graph = helper.make_graph(nodes, "g", [x], outputs, [numpy_helper.from_array(weight.astype(np.float32), "W")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("depth", [8, 64, 384, 1536])
def test_per_token_product_is_close_to_fp32(depth, kernel):
    rng = np.random.default_rng(depth)
    weight = rng.normal(size=(depth, 48)).astype(np.float32)
    x = rng.normal(size=(2, 9, depth)).astype(np.float32)
    got = run(quantize_per_token(product_graph(weight)), x=x)
    want = x @ weight
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 0.02 * np.abs(want).max()
    ops = {node.op_type for node in quantize_per_token(product_graph(weight)).graph.node}
    assert "MatMulIntegerToFloat" in ops and "MatMul" not in ops


def int8_weights(model) -> np.ndarray:
    return np.concatenate(
        [numpy_helper.to_array(i).ravel() for i in model.graph.initializer if i.name.endswith("/int8/weight")]
    ).astype(np.int32)


@pytest.mark.parametrize("bits, top", [(7, 63), (8, 127)])
def test_weights_fill_the_range_asked_for_and_the_graph_says_which(bits, top):
    """7-bit weights stay in [-63, 63], so that 255 x 63 x 2 fits the 16-bit pair sums of the fast
    kernel without VNNI; each column's largest weight sits at the top of the range."""
    weight = np.random.default_rng(5).normal(size=(64, 12)).astype(np.float32)
    model = quantize_per_token(product_graph(weight), weight_bits=bits)
    q = int8_weights(model).reshape(64, 12)
    assert np.abs(q).max() == top and (np.abs(q).max(axis=0) == top).all()
    assert {p.key: p.value for p in model.metadata_props}[WEIGHT_BITS_KEY] == str(bits)
    assert weight_bits(model.SerializeToString()) == bits


def test_7_bit_weights_cost_about_one_bit_of_weight_precision(kernel):
    """The 7-bit product is still close to fp32, its error no more than a little over twice the
    8-bit product's (the weight step doubles; the activations' steps are the same)."""
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(384, 48)).astype(np.float32)
    x = rng.normal(size=(2, 9, 384)).astype(np.float32)
    want = x @ weight
    error = {bits: np.abs(run(quantize_per_token(product_graph(weight), weight_bits=bits), x=x) - want).max() for bits in (7, 8)}
    assert error[7] < 0.02 * np.abs(want).max()
    assert error[8] < error[7] < 2.5 * error[8]


def test_an_unknown_weight_range_is_refused():
    with pytest.raises(ValueError, match="weight_bits"):
        quantize_per_token(product_graph(np.eye(4, dtype=np.float32)), weight_bits=4)


def test_one_token_with_large_activations_leaves_the_others_as_they_were():
    """What per-token scaling is for: with one scale per call, a token 1000x larger coarsens every
    other token's int8 steps; with a scale per token the others' outputs do not change at all."""
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(32, 16)).astype(np.float32)
    model = quantize_per_token(product_graph(weight))
    x = rng.normal(size=(1, 6, 32)).astype(np.float32)
    loud = x.copy()
    loud[0, 0] *= 1000.0
    quiet_out, loud_out = run(model, x=x), run(model, x=loud)
    np.testing.assert_array_equal(quiet_out[0, 1:], loud_out[0, 1:])
    assert not np.array_equal(quiet_out[0, 0], loud_out[0, 0])


def test_a_zero_row_gives_zeros_not_nan(kernel):
    weight = np.ones((8, 4), np.float32)
    x = np.zeros((1, 3, 8), np.float32)
    x[0, 1] = 1.0
    out = run(quantize_per_token(product_graph(weight)), x=x)
    assert np.isfinite(out).all() and (out[0, 0] == 0).all() and np.allclose(out[0, 1], 8.0, rtol=0.01)


def test_a_row_led_by_a_negative_value_is_scaled_by_its_magnitude():
    """The scale is max |x| over the row, however it is computed: a row whose largest magnitude is
    negative must not be clipped at its largest positive value."""
    weight = np.eye(4, dtype=np.float32)
    x = np.array([[[-50.0, 1.0, -2.0, 0.5], [3.0, -1.0, 0.25, -0.5]]], np.float32)
    out = run(quantize_per_token(product_graph(weight)), x=x)
    half_step = 0.5 * np.abs(x).max(axis=-1, keepdims=True) / 127  # rounding to the row's int8 grid
    assert (np.abs(out - x) <= 1.01 * half_step).all(), out


def test_products_of_two_activations_stay_fp32():
    weight = np.eye(8, dtype=np.float32)
    model = quantize_per_token(product_graph(weight, second_activation=True))
    products = {node.name: node.op_type for node in model.graph.node if "MatMul" in node.op_type}
    assert products == {"product/int8": "MatMulIntegerToFloat", "scores": "MatMul"}


def fused_attention_graph(hidden=16, heads=2, seed=2):
    """One com.microsoft Attention node with its weights, as onnxruntime's BERT fusion writes it."""
    rng = np.random.default_rng(seed)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", hidden])
    mask = helper.make_tensor_value_info("mask_index", TensorProto.INT32, ["batch"])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, ["batch", "tokens", hidden])
    inits = [
        numpy_helper.from_array(rng.normal(size=(hidden, 3 * hidden)).astype(np.float32), "qkv_weight"),
        numpy_helper.from_array(rng.normal(size=(3 * hidden,)).astype(np.float32), "qkv_bias"),
    ]
    node = helper.make_node("Attention", ["x", "qkv_weight", "qkv_bias", "mask_index"], ["out"], domain="com.microsoft", num_heads=heads)
    graph = helper.make_graph([node], "attention", [x, mask], [out], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])


def test_unfused_attention_computes_what_the_fused_node_does_padding_included():
    x = np.random.default_rng(3).normal(size=(2, 7, 16)).astype(np.float32)
    lengths = np.array([7, 4], np.int32)  # the second sequence is padded after 4 tokens
    fused = fused_attention_graph()
    want = run(fused, x=x, mask_index=lengths)
    unfused = unfuse_attention(fused_attention_graph())
    assert [n.op_type for n in unfused.graph.node] == ["MatMul", "Split", "MultiHeadAttention"]
    got = run(unfused, x=x, mask_index=lengths)
    np.testing.assert_allclose(got[0], want[0], atol=1e-4)
    np.testing.assert_allclose(got[1, :4], want[1, :4], atol=1e-4)
    # ... and its input product is then quantised like any other.
    assert "MatMulIntegerToFloat" in {n.op_type for n in quantize_per_token(unfused).graph.node}


def test_attention_with_options_it_does_not_know_is_left_fused():
    model = fused_attention_graph()
    model.graph.node[0].attribute.append(helper.make_attribute("unidirectional", 1))
    assert [n.op_type for n in unfuse_attention(model).graph.node] == ["Attention"]


def test_export_records_how_its_int8_graph_was_made(tiny_base_model, tmp_path):
    from conftest import build_tiny_article_model
    from newsroles.inference.export.exporter import export_model

    folder = build_tiny_article_model(tmp_path / "fp32", tiny_base_model)
    copy = export_model(folder, tmp_path / "int8", runtime="onnx-int8").folder
    manifest = json.loads((copy / "newsroles.json").read_text(encoding="utf-8"))
    found = json.dumps(manifest)
    assert "int8 per token" in found and '"weight_bits": 7' in found
    graph = onnx.load(str(copy / "encoder.onnx"))
    assert not any(node.op_type == "MatMul" and node.input[1] in {i.name for i in graph.graph.initializer} for node in graph.graph.node)
    # 7-bit weights, recorded in the graph: the fast kernel on any CPU, exact (model/int8_kernels.py)
    assert np.abs(int8_weights(graph)).max() == 63 and weight_bits(copy / "encoder.onnx") == 7
    assert manifest["export"]["probe"]["int8_kernel"] == chosen_kernel(7)


def test_on_a_cpu_whose_fast_kernel_saturates_only_8_bit_copies_fall_back(tiny_base_model, tmp_path, monkeypatch):
    """As on an AVX2 CPU: the probe finds u8s8 wrong for 8-bit weights and right for 7-bit ones.
    A 7-bit copy loads on the fast kernel with the plain session options; a copy whose graph says
    8 bits (or says nothing, as exports before 7-bit weights) gets ONNX Runtime's u8u8 kernel."""
    from conftest import build_tiny_article_model
    from newsroles.inference.export.exporter import export_model
    from newsroles.inference.predictor import load_labeler
    from newsroles.model import int8_kernels

    monkeypatch.delenv(KERNEL_ENV, raising=False)
    monkeypatch.setattr(int8_kernels, "u8s8_saturates", lambda bits=8: bits == 8)
    options_set = []
    monkeypatch.setattr(ort.SessionOptions, "add_session_config_entry", lambda self, key, value: options_set.append(key))
    folder = build_tiny_article_model(tmp_path / "fp32", tiny_base_model)
    seven = export_model(folder, tmp_path / "int8", runtime="onnx-int8").folder
    assert load_labeler(seven, "cpu").int8_kernel == "u8s8" and options_set == []
    older = tmp_path / "int8-older"
    shutil.copytree(seven, older)
    graph = onnx.load(str(older / "encoder.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, str(older / "encoder.onnx"))
    assert load_labeler(older, "cpu").int8_kernel == "u8u8" and options_set == [int8_kernels.PRECISION_OPTION]
