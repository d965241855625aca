"""Int8 variants of an exported encoder, scored side by side: which quantisation holds accuracy.

    python benchmarks/int8_variants.py --onnx MODEL-onnx [MODEL2-onnx ...] --data VALIDATION.jsonl [--calibration TRAIN.jsonl]

From the fused fp32 graph of an `onnx` export (MODEL-onnx/encoder.onnx), writes each variant as a
copy of that folder with another encoder.onnx, then labels --data with each (the torch-free path)
and prints macro-F1, the change against fp32 in points, label agreement and speed:

  per-token      what `newsroles export --runtime onnx-int8` writes (inference/export/int8_graph.py: per-channel
                 7-bit weights, each token's activations scaled on their own, attention unfused);
  per-token-8bit the same with 8-bit weights ([-127, 127]: exact on CPUs without VNNI only on ONNX
                 Runtime's slower u8u8 kernel, model/int8_kernels.py);
  per-token-fp32-tables   the same with the embedding tables left in fp32;
  nbits8-BLOCK   ONNX Runtime's MatMulNBits: 8-bit weights and int8 products, activations and weights
                 scaled per BLOCK input channels (e.g. nbits8-32); the fused attention stays fp32.
                 Needs `pip install onnx_ir` (its quantiser's dependency, not ours);
  dynamic        ONNX Runtime's dynamic quantisation, what the export wrote until session 8 (per-channel
                 weights, one activation scale per session call);
  dynamic-u8u8   the same with unsigned weights;
  static-minmax  static quantisation (QDQ, per-channel weights, only products with a weight;
                 activation ranges calibrated on --calibration windows, min/max);
  static-pct     the same with the 99.999th percentile of each activation.

Mixed variants keep some operators in fp32 (dynamic otherwise), to find where the accuracy goes:

  dynamic-keep-embed      the embedding lookup (QEmbedLayerNormalization stores the tables in 8 bits);
  dynamic-keep-attention  the fused self-attention (QAttention) of every layer;
  dynamic-keep-ffn-out    each layer's feed-forward output product (its input, after GELU, has the
                          widest range);
  dynamic-keep-first / dynamic-keep-last   every operator of the first / last layer.

A mixed variant may name its layers after @ (`dynamic-keep-ffn-out@0-2`: layers 0 to 2 only), and
several mixed variants join with + (`dynamic-keep-attention+dynamic-keep-ffn-out`).

Calibration (static variants only) uses --calibration (the train split), never --data.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _in_turn import timed_in_turn  # noqa: E402


def calibration_reader(folder: Path, data: Path, n_windows: int):
    from onnxruntime.quantization import CalibrationDataReader

    from newsroles.inference.predictor import load_labeler
    from newsroles.model.batching import article_windows
    from newsroles.model.windows import collate_arrays
    from newsroles.training.data.readers import read_articles

    labeler = load_labeler(folder, "cpu")
    articles = read_articles(data)[: max(1, n_windows // 2)]
    windows, _ = article_windows(labeler.runner.tokenizer, articles, labeler.runner.model.spec)
    pad = labeler.runner.tokenizer.pad_token_id or 0
    feeds = []
    for at in range(0, min(n_windows, len(windows)), 8):
        arrays = collate_arrays(windows[at : at + 8], pad)
        feeds.append({"input_ids": arrays["input_ids"], "attention_mask": arrays["attention_mask"]})

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    return Reader


KEEP_FP32 = {  # variant -> which of the fused graph's nodes stay fp32
    "dynamic-keep-embed": lambda node: node.op_type == "EmbedLayerNormalization",
    "dynamic-keep-attention": lambda node: node.op_type == "Attention",
    "dynamic-keep-ffn-out": lambda node: node.op_type == "MatMul" and re.search(r"layer\.\d+/output/dense/", node.name) is not None,
    "dynamic-keep-first": lambda node: _layer(node.name) == 0,
}
MIXED = {*KEEP_FP32, "dynamic-keep-last"}  # keep-last depends on the layer count: kept_nodes()


def kept_nodes(model, name: str) -> list[str]:
    """The node names variant `name` leaves in fp32."""
    if "+" in name:
        return sorted({node for part in name.split("+") for node in kept_nodes(model, part)})
    if "@" in name:
        name, layers = name.split("@")
        first, _, last = layers.partition("-")
        wanted = range(int(first), int(last or first) + 1)
        return [n for n in kept_nodes(model, name) if _layer(n) in wanted]
    if name == "dynamic-keep-last":
        last = sum(1 for node in model.graph.node if node.op_type == "Attention") - 1
        return [n.name for n in model.graph.node if _layer(n.name) == last]
    keep = KEEP_FP32[name]
    return [n.name for n in model.graph.node if keep(n)]


def _layer(node_name: str) -> int | None:
    """The encoder layer a fused-graph node belongs to (Attention_3 or /layer.3/...), None outside them."""
    found = re.search(r"(?:Attention_|/layer\.)(\d+)", node_name)
    return int(found.group(1)) if found else None


def is_mixed(name: str) -> bool:
    return all(part.split("@")[0] in MIXED for part in name.split("+"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onnx", type=Path, nargs="+", required=True, help="`onnx` (fp32) exports of one or more models")
    parser.add_argument("--calibration", type=Path, help="labeled .jsonl to calibrate the static variants on (train split)")
    parser.add_argument("--data", type=Path, required=True, help="labeled .jsonl to score on (validation split)")
    parser.add_argument("--windows", type=int, default=128)
    parser.add_argument(
        "--repeats", type=int, default=1, help="label --data this many rounds, fp32 and the variants in turn; seconds are the median"
    )
    parser.add_argument("--variants", default="per-token,dynamic")
    args = parser.parse_args()

    import json
    import logging

    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_dynamic, quantize_static

    from newsroles.inference.predictor import load_labeler
    from newsroles.model.probe import PROBE_FILE, agreement
    from newsroles.training.data.readers import read_articles
    from newsroles.training.evaluation.metrics import compute_metrics, gold_and_predictions

    logging.getLogger().setLevel(logging.ERROR)
    work = Path(tempfile.mkdtemp(prefix="newsroles-int8-"))
    rows = []
    for model in args.onnx:
        source = model / "encoder.onnx"
        reader = None  # calibration windows, read with this model's tokenizer when a static variant asks
        reference = load_labeler(model, "cpu")
        articles = read_articles(args.data, reference.labels)
        labelers = {"fp32 (onnx)": reference}
        for name in args.variants.split(","):
            folder = work / model.name / name
            shutil.copytree(model, folder)
            target = folder / "encoder.onnx"
            common = {"per_channel": True, "extra_options": {"DefaultTensorType": onnx.TensorProto.FLOAT}}
            if name in ("per-token", "per-token-8bit", "per-token-fp32-tables"):
                from newsroles.inference.export.int8_graph import DEFAULT_WEIGHT_BITS, write_int8_encoder

                bits = 8 if name == "per-token-8bit" else DEFAULT_WEIGHT_BITS
                # work: its scratch file, not the copy
                write_int8_encoder(source, target, work, tables=name != "per-token-fp32-tables", weight_bits=bits)
            elif name.startswith("nbits8-"):  # nbits8-BLOCK: needs `pip install onnx_ir`
                from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

                quantizer = MatMulNBitsQuantizer(
                    onnx.load(str(source)), bits=8, block_size=int(name.split("-")[1]), is_symmetric=True, accuracy_level=4
                )
                quantizer.process()
                quantizer.model.save_model_to_file(str(target), use_external_data_format=False)
            elif is_mixed(name):
                excluded = kept_nodes(onnx.load(str(source)), name)
                quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, nodes_to_exclude=excluded, **common)
            elif name.startswith("dynamic"):
                weights = QuantType.QUInt8 if name.endswith("u8u8") else QuantType.QInt8
                quantize_dynamic(str(source), str(target), weight_type=weights, **common)
            else:
                if args.calibration is None:
                    parser.error(f"variant {name} needs --calibration (the train split)")
                reader = reader or calibration_reader(model, args.calibration, args.windows)
                method = CalibrationMethod.Percentile if name.endswith("pct") else CalibrationMethod.MinMax
                options = {**common["extra_options"], "MatMulConstBOnly": True}  # products with a weight only
                quantize_static(
                    str(source), str(target), reader(), quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=method, per_channel=True, extra_options=options,
                )
            (folder / PROBE_FILE).unlink(missing_ok=True)  # the fp32 copy's known-answer probe and tolerance, not the variant's
            manifest = json.loads((folder / "newsroles.json").read_text())
            manifest["runtime"] = "onnx-int8"
            (folder / "newsroles.json").write_text(json.dumps(manifest))
            labelers[name] = load_labeler(folder, "cpu")
        # labeled in turn, each round: {name: (probabilities, median seconds)}
        timed = timed_in_turn({name: partial(labeler.predict, articles) for name, labeler in labelers.items()}, args.repeats)
        results = {name: (probs, statistics.median(seconds)) for name, (probs, seconds) in timed.items()}
        base = results["fp32 (onnx)"][0]
        fp32_f1 = compute_metrics(*gold_and_predictions(articles, base, reference.labels), reference.labels)["macro_f1"]
        for name, (probs, seconds) in results.items():
            f1 = compute_metrics(*gold_and_predictions(articles, probs, reference.labels), reference.labels)["macro_f1"]
            agree = agreement(base, probs)["label_agreement"]
            kernel = getattr(labelers[name], "int8_kernel", None)
            shown = f"{name} ({kernel})" if kernel else name
            rows.append(f"| {model.name} | {shown} | {f1:.4f} | {100 * (f1 - fp32_f1):+.2f} | {100 * agree:.1f}% | {seconds:.2f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    print("| model | int8 variant | macro-F1 | vs fp32 (points) | same label as fp32 | seconds (median) |\n|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nCommand: `python benchmarks/int8_variants.py {' '.join(sys.argv[1:])}`")


if __name__ == "__main__":
    main()
