"""The int8 encoder graph of an `onnx-int8` export: each product with a weight reads int8 activations
scaled per token, and 7-bit weights, so that ONNX Runtime's fast int8 kernel is exact on every x86 CPU.

ONNX Runtime's dynamic quantisation gives all the tokens of one call a single activation scale, so a
few tokens with large activations coarsen every other token's; from one trained model to the next the
copy's validation macro-F1 moved by -0.04 to -1.43 points, 2.1-2.4% of labels changed (BENCHMARKS.md,
"Int8 per token"). Here each token (each row of a product's input) gets its own scale, computed as
the graph runs (-0.21 to -0.80 points, 0.9-1.2% of labels changed, on the same six models):

    s = max|x| / 127 over the row;  q = round(x / s) + 128 as uint8;  y = (q - 128) @ Wq * s * w_scale

with the weights in int8 per output column, Wq = round(W / w_scale) with w_scale = max|W| / 63 over
the column: 7 bits, [-63, 63]. The zero point is one number for the whole input (128), so ONNX
Runtime's fast uint8 x int8 kernel does the products (MatMulIntegerToFloat, which also applies the
column scales; the row scales follow in one multiplication). Without VNNI (AVX2) that kernel adds
each pair of byte products in 16 bits with saturation; 255 x 63 x 2 = 32130 cannot overflow it,
where 8-bit weights (255 x 127 x 2) can and then need ONNX Runtime's u8u8 kernel, about half as fast
(model/int8_kernels.py, which reads the weight range this module records in the graph's metadata).
`weight_bits=8` still writes the 8-bit form. The fused self-attention is first split into its input
product and a MultiHeadAttention, so that product is quantised per token too; the embedding tables
are stored in 8 bits (ONNX Runtime's QEmbedLayerNormalization: a lookup, no kernel to saturate).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from newsroles.model.int8_kernels import WEIGHT_BITS, WEIGHT_BITS_KEY, top_weight

QUANT_OPSET = 21  # blocked QuantizeLinear: a scale per row
PLAIN_ATTENTION_INPUTS = 4  # input, weights, bias, mask index: anything more (past state, extra bias) stays fused
DEFAULT_WEIGHT_BITS = 7  # exact with the fast kernel on every x86 CPU (module docstring; BENCHMARKS.md for its cost)


def unfuse_attention(model: onnx.ModelProto) -> onnx.ModelProto:
    """Rewrite each fused com.microsoft Attention(x, W, b, mask) as MatMul(x, W), split into q, k, v,
    and MultiHeadAttention(q, k, v, b, mask): the same arithmetic, with the product exposed. Attention
    nodes with other options or inputs are left as they are (they stay fp32)."""
    graph = model.graph
    weights = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        inputs = list(node.input)
        options = {a.name for a in node.attribute}
        if (
            node.op_type != "Attention"
            or node.domain != "com.microsoft"
            or options != {"num_heads"}
            or any(inputs[PLAIN_ATTENTION_INPUTS:])
            or inputs[1] not in weights
        ):
            nodes.append(node)
            continue
        x, w, b = inputs[:3]
        mask = inputs[3] if len(inputs) > 3 else ""
        heads = helper.get_attribute_value(node.attribute[0])
        hidden = weights[w].dims[0]
        name = node.name or node.output[0]
        sizes = numpy_helper.from_array(np.array([hidden] * 3, np.int64), f"{name}/qkv_sizes")
        graph.initializer.append(sizes)
        q, k, v = (f"{name}/{part}" for part in "qkv")
        nodes += [
            helper.make_node("MatMul", [x, w], [f"{name}/qkv"], name=f"{name}/qkv/MatMul"),
            helper.make_node("Split", [f"{name}/qkv", sizes.name], [q, k, v], name=f"{name}/qkv/Split", axis=-1),
            helper.make_node(
                "MultiHeadAttention", [q, k, v, b, mask], list(node.output), name=f"{name}/mha", domain="com.microsoft", num_heads=heads
            ),
        ]
    del graph.node[:]
    graph.node.extend(nodes)
    return model


def quantize_per_token(model: onnx.ModelProto, weight_bits: int = DEFAULT_WEIGHT_BITS) -> onnx.ModelProto:
    """Replace every MatMul whose second input is a weight by its int8 form with one activation scale
    per row and `weight_bits`-bit weights (7: [-63, 63]; 8: [-127, 127]; module docstring), and record
    the weight range in the graph's metadata. Products of two activations are left in fp32. The graph
    moves to opset QUANT_OPSET, whose (blocked) QuantizeLinear takes a scale per row."""
    if weight_bits not in WEIGHT_BITS:
        raise ValueError(f"weight_bits must be one of {WEIGHT_BITS}, not {weight_bits!r}")
    top = top_weight(weight_bits)
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    added: list[onnx.TensorProto] = []
    nodes = []
    shared = {  # constants every rewritten product reads
        "int8/inv127": np.array(1 / 127, np.float32),
        "int8/eps": np.array(1e-8, np.float32),  # an all-zero row: no division by zero
        "int8/one": np.array(1, np.float32),
        "int8/zero_point": np.array(128, np.uint8),
        "int8/last_axis": np.array([-1], np.int64),
    }
    for node in graph.node:
        if node.op_type != "MatMul" or node.domain not in ("", "ai.onnx") or node.input[1] not in inits:
            nodes.append(node)
            continue
        x, w_name = node.input
        name = node.name or node.output[0]
        t = lambda part: f"{name}/int8/{part}"  # noqa: E731
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        w_scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / top
        w_int8 = np.clip(np.round(w / w_scale), -top, top).astype(np.int8)
        added += [numpy_helper.from_array(w_int8, t("weight")), numpy_helper.from_array(w_scale.astype(np.float32), t("weight_scale"))]
        rows = w.shape[0]  # input channels: one block, so one scale per row
        nodes += [
            # max |x| per row from the row's max and min: two reductions, no |x| copy of the input
            helper.make_node("ReduceMax", [x, "int8/last_axis"], [t("max")], keepdims=1),
            helper.make_node("ReduceMin", [x, "int8/last_axis"], [t("min")], keepdims=1),
            helper.make_node("Neg", [t("min")], [t("minus_min")]),
            helper.make_node("Max", [t("max"), t("minus_min"), "int8/eps"], [t("range")]),
            helper.make_node("Mul", [t("range"), "int8/inv127"], [t("scale")]),
            # a zero point per row as the blocked form wants, 128 in each (one small column)
            helper.make_node("Shape", [t("scale")], [t("rows")]),
            helper.make_node(
                "ConstantOfShape", [t("rows")], [t("zero_points")], value=numpy_helper.from_array(np.array([128], np.uint8))
            ),
            helper.make_node("QuantizeLinear", [x, t("scale"), t("zero_points")], [t("input")], axis=-1, block_size=rows),
            # the product in int32, turned to float and scaled per column in one kernel ...
            helper.make_node(
                "MatMulIntegerToFloat", [t("input"), t("weight"), "int8/one", t("weight_scale"), "int8/zero_point"], [t("product")],
                name=f"{name}/int8", domain="com.microsoft",
            ),
            # ... then per row
            helper.make_node("Mul", [t("product"), t("scale")], list(node.output)),
        ]
    if added:
        added += [numpy_helper.from_array(value, name) for name, value in shared.items()]
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = max(opset.version, QUANT_OPSET)
        if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
            model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
        helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, WEIGHT_BITS_KEY: str(weight_bits)})
    used = {name for node in nodes for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + [init for init in added if init.name in used])
    return model


def write_int8_encoder(fused: str, output: str, workdir, tables: bool = True, weight_bits: int = DEFAULT_WEIGHT_BITS) -> dict:
    """From the fused fp32 graph at `fused`, write the int8 graph at `output`; returns what it did.
    `tables`: the embedding tables in 8 bits (a third of the file; fp32 tables moved 0.2-0.3% fewer
    labels on two models, BENCHMARKS.md). `weight_bits`: the products' weight range (module docstring)."""
    from pathlib import Path

    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = str(fused)
    if tables:
        source = str(Path(workdir) / "encoder-int8-tables.onnx")
        # The embedding tables only (a lookup, no activation scale): ONNX Runtime's own 8-bit form.
        quantize_dynamic(
            str(fused), source, weight_type=QuantType.QInt8, op_types_to_quantize=["EmbedLayerNormalization"],
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
    model = quantize_per_token(unfuse_attention(onnx.load(source)), weight_bits)
    onnx.save(model, str(output))
    return {
        "method": "newsroles per token",
        "weights": f"int8 per output channel, {weight_bits}-bit range [-{top_weight(weight_bits)}, {top_weight(weight_bits)}]",
        "weight_bits": weight_bits,
        "activations": "int8 per token (row), scaled as the graph runs",
        "embeddings": "8-bit tables" if tables else "fp32",
    }
