"""The ONNX labeling path without torch (model/onnx_runtime.py): its numpy head computes what the
PyTorch head computes, an export labels the same through either path, and `newsroles label` with
an ONNX export never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from newsroles.inference.predictor import Labeler, load_labeler
from newsroles.model.loading import Loaded
from newsroles.model.onnx_runtime import OnnxRunner
from newsroles.model.network.runtimes import onnx_torch_runner
from newsroles.model.network.classifier import SentenceRoleModel
from newsroles.model.errors import UserError
from newsroles.model.onnx_runtime import FastTokenizer, NumpyHead
from newsroles.model.spec import ModelSpec
from newsroles.model.windows import collate_arrays
from newsroles.model.batching import article_windows
from conftest import build_tiny_article_model
from synthetic import FixedEncoder, synthetic_articles, write_jsonl

pytest.importorskip("onnxruntime", reason="ONNX Runtime is not installed")
pytest.importorskip("onnx", reason="onnx is not installed")

LABELS = ["stance", "quote", "background", "fact"]
HIDDEN = 32


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"pooling": "sep", "headline_features": True},
        {"pooling": "mean+sep", "paragraph_features": True, "context_layer": "none"},
        {"headline_features": True, "position_features": False},
        {"type": "sentence"},
        {"context_layer": "article", "max_length": 40},
    ],
    ids=["default", "sep+headline", "mean+sep+paragraphs-no-gru", "headline-no-positions", "sentence-model", "article-context"],
)
def test_numpy_head_computes_what_the_torch_head_does(tiny_base_model, settings):
    spec = replace(ModelSpec(base=str(tiny_base_model), max_length=64, max_sentence_tokens=24, max_title_tokens=8, context_hidden=16), **settings)
    tokenizer = FastTokenizer(tiny_base_model)
    articles = synthetic_articles(4, seed=3)
    windows, _ = article_windows(tokenizer, articles, spec)
    windows = windows[:9]  # the article layer reads what the batch holds of an article: the last one only in part
    arrays = collate_arrays(windows, tokenizer.pad_token_id, spec.article_context)
    torch.manual_seed(2)
    hidden = torch.randn(*arrays["input_ids"].shape, HIDDEN)
    model = SentenceRoleModel(FixedEncoder(hidden), spec, len(LABELS), 3).eval()
    with torch.no_grad():
        model.label_bias.copy_(torch.randn(len(LABELS)))
        model.temperature.fill_(1.7)
        logits, aux = model({k: torch.from_numpy(v) for k, v in arrays.items()})
    weights = {k: v.numpy() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    head = NumpyHead(weights, spec, HIDDEN, len(LABELS), 3)
    np_logits, np_aux = head(hidden.numpy(), arrays)
    mask = arrays["sentence_mask"]  # padded sentence slots are never read
    np.testing.assert_allclose(np_logits[mask], logits.numpy()[mask], atol=1e-4)
    np.testing.assert_allclose(np_aux[mask], aux.numpy()[mask], atol=1e-4)


def test_numpy_head_refuses_weights_that_do_not_fit_the_config(tiny_base_model):
    spec = ModelSpec(base=str(tiny_base_model), context_hidden=16)
    model = SentenceRoleModel(FixedEncoder(torch.zeros(1, 1, HIDDEN)), spec, len(LABELS), 0)
    weights = {k: v.numpy() for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    with pytest.raises(ValueError, match="has shape .* the config says"):
        NumpyHead(weights, replace(spec, context_hidden=8), HIDDEN, len(LABELS), 0)
    weights.pop("head.bias")
    with pytest.raises(ValueError, match="missing head.bias"):
        NumpyHead(weights, spec, HIDDEN, len(LABELS), 0)


@pytest.fixture(scope="module")
def onnx_copies(tiny_base_model, tmp_path_factory):
    from newsroles.inference.export.exporter import export_model

    fp32 = build_tiny_article_model(tmp_path_factory.mktemp("onnx-runtime") / "fp32", tiny_base_model, LABELS)
    manifest = json.loads((fp32 / "newsroles.json").read_text())
    manifest["aux_labels"] = ["NA", "B"]  # an auxiliary head whose P(NA) marks boilerplate
    (fp32 / "newsroles.json").write_text(json.dumps(manifest))
    return {runtime: export_model(fp32, runtime=runtime).folder for runtime in ("onnx", "onnx-int8")}


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_torch_free_path_labels_as_the_torch_path_over_the_same_graph(onnx_copies, runtime):
    folder = onnx_copies[runtime]
    articles = synthetic_articles(6, seed=11)
    fast = load_labeler(folder)
    assert isinstance(fast.runner, OnnxRunner)
    torch_head = onnx_torch_runner(folder, fast.manifest)  # the same ONNX encoder, the PyTorch head
    reference = Labeler(Loaded(fast.version, torch_head))
    got, got_na = fast.predict_with_na(articles, batch_size=4)
    want, want_na = reference.predict_with_na(articles, batch_size=4)
    assert got_na is not None, "P(NA) of the auxiliary head is there without torch"
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, atol=1e-4)
    for a, b in zip(got_na, want_na):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_an_export_from_before_calibration_still_loads(onnx_copies, tmp_path):
    """Folders exported before the temperature existed have no `temperature` in head.safetensors."""
    import shutil

    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "old"
    shutil.copytree(onnx_copies["onnx"], folder)
    weights = load_file(str(folder / "head.safetensors"))
    assert weights.pop("temperature") == 1.0
    save_file(weights, str(folder / "head.safetensors"))
    articles = synthetic_articles(2, seed=4)
    np.testing.assert_allclose(load_labeler(folder).predict(articles)[0], load_labeler(onnx_copies["onnx"]).predict(articles)[0], atol=1e-6)
    save_file({"head.weight": weights["head.weight"]}, str(folder / "head.safetensors"))
    with pytest.raises(UserError, match="mismatched head weights"):
        load_labeler(folder)


def test_label_command_with_an_onnx_export_never_imports_torch(onnx_copies, tmp_path):
    data = write_jsonl(synthetic_articles(3, seed=8), tmp_path / "stories.jsonl")
    output = tmp_path / "labels.jsonl"
    code = (
        "import sys\n"
        "from newsroles.inference.cli import app\n"
        f"app([ 'label', {str(data)!r}, '--model', {str(onnx_copies['onnx-int8'])!r}, '--output', {str(output)!r}, '--quiet'],"
        " standalone_mode=False)\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'sklearn', 'datasets') if m in sys.modules)\n"
        "assert not heavy, f'imported: {heavy}'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in output.read_text().splitlines()]
    assert len(rows) == 3 and all(s["label"] in LABELS or s.get("reason") for row in rows for s in row["sentences"])


def test_call_groups_cover_every_row_in_order_within_the_token_limit():
    from newsroles.model.onnx_runtime import call_groups

    lengths = np.array([12, 20, 20, 30, 64, 200, 40])
    groups = call_groups(lengths, 64)
    assert np.concatenate(groups).tolist() == list(range(len(lengths)))
    for rows in groups:
        assert len(rows) == 1 or lengths[rows].max() * len(rows) <= 64  # a row over the limit goes alone
    assert [g.tolist() for g in groups] == [[0, 1, 2], [3], [4], [5], [6]]


@pytest.mark.parametrize("mode", ["split", "intra"])
def test_int8_encoder_reads_each_call_alone_so_batch_neighbours_change_nothing(onnx_copies, monkeypatch, mode):
    """Int8 activations are scaled per session call: a window's hidden states must not depend on
    the other windows of its batch (nor on their padding)."""
    from newsroles.model import onnx_runtime
    from newsroles.model.onnx_runtime import ENCODER_FILE, OrtEncoder

    monkeypatch.setattr(onnx_runtime, "CALL_TOKENS", 40)  # each of the windows below alone
    encoder = OrtEncoder(onnx_copies["onnx-int8"] / ENCODER_FILE, threads=2, mode=mode)
    rng = np.random.default_rng(0)
    lengths = [12, 25, 40]
    ids = rng.integers(5, 90, size=(3, 40))
    mask = (np.arange(40)[None, :] < np.array(lengths)[:, None]).astype(np.int64)
    batch = encoder(ids, mask)
    for i, n in enumerate(lengths):
        alone = encoder(ids[i : i + 1, :n], mask[i : i + 1, :n])
        assert np.array_equal(batch[i, :n], alone[0])
        assert not batch[i, n:].any()  # padded positions are zeros


def test_an_onnx_copy_cannot_be_rebuilt_as_a_torch_model(tiny_article_model, tmp_path):
    """Fine-tuning from (or a torch runtime on) an ONNX copy says what to use instead, not 'corrupt weights'."""
    import json
    import shutil

    import torch

    from newsroles.model.errors import UserError
    from newsroles.model.store.folder import MANIFEST
    from newsroles.model.network.saved import load_transformer

    copy = tmp_path / "copy"
    shutil.copytree(tiny_article_model, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps({**manifest, "runtime": "onnx-int8"}))
    for part in ("encoder.onnx", "head.safetensors"):  # what a copy's folder holds instead of model.safetensors
        (copy / part).write_bytes(b"")
    with pytest.raises(UserError, match="ONNX copy .*runtime onnx-int8.* use the folder it was exported from"):
        load_transformer(copy, torch.device("cpu"))
