"""A training run killed with SIGKILL resumes from its checkpoint to the same model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from newsroles.inference.predictor import load_labeler

from conftest import wait_for
from crafted import WritesAMarker
from newsroles.training.checkpoint import HOLD_AFTER_CHECKPOINT
from synthetic import synthetic_articles, write_jsonl

ROOT = Path(__file__).resolve().parent.parent


def train_command(tiny_base_model, data_dir: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "newsroles.inference.cli", "train", "--config", str(ROOT / "configs" / "tiny.yaml"),
        "--output", str(output), "--quiet",
        "--model.base", str(tiny_base_model),
        "--data.train", str(data_dir / "train.jsonl"), "--data.dev", str(data_dir / "dev.jsonl"),
        "--train.epochs", "3", "--train.checkpoint_steps", "2",
        # Both kept in the checkpoint: the weight average, and the epoch's shifted windows.
        "--train.ema_decay", "0.9", "--train.shift_windows", "true", *extra,
    ]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_training_resumes_to_the_same_model(tiny_base_model, tmp_path):
    write_jsonl(synthetic_articles(24, seed=11), tmp_path / "train.jsonl")
    write_jsonl(synthetic_articles(6, seed=12), tmp_path / "dev.jsonl")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}

    reference = tmp_path / "reference"
    subprocess.run(train_command(tiny_base_model, tmp_path, reference), check=True, env=env, capture_output=True)

    resumed = tmp_path / "resumed"
    checkpoint = tmp_path / ".resumed.checkpoint"
    held = tmp_path / "held"  # the run writes it after its first checkpoint, then waits to be killed
    process = subprocess.Popen(train_command(tiny_base_model, tmp_path, resumed), env={**env, HOLD_AFTER_CHECKPOINT: str(held)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(held, process, 600)
    process.send_signal(signal.SIGKILL)  # right after the first checkpoint, mid-epoch
    process.wait()
    assert not resumed.exists(), "a killed run must not leave a model folder that looks complete"
    assert (checkpoint / "state.pt").exists()

    done = subprocess.run(train_command(tiny_base_model, tmp_path, resumed, "--resume"), env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not checkpoint.exists(), "the checkpoint is removed once the model is complete"

    articles = synthetic_articles(4, seed=13)
    for a, b in zip(load_labeler(reference, "cpu").predict(articles), load_labeler(resumed, "cpu").predict(articles)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    ref_metrics = json.loads((reference / "metrics.json").read_text())
    res_metrics = json.loads((resumed / "metrics.json").read_text())
    assert [h["dev_macro_f1"] for h in ref_metrics["history"]] == [h["dev_macro_f1"] for h in res_metrics["history"]]


def test_resume_without_a_checkpoint_says_so(tiny_base_model, tmp_path):
    write_jsonl(synthetic_articles(4, seed=1), tmp_path / "train.jsonl")
    write_jsonl(synthetic_articles(2, seed=2), tmp_path / "dev.jsonl")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(train_command(tiny_base_model, tmp_path, tmp_path / "m", "--resume"), env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: ") and "no checkpoint" in done.stderr
    assert "Traceback" not in done.stderr


def test_killed_labeling_resumes_without_duplicates_or_gaps(tiny_base_model, tmp_path):
    from newsroles.training.config import load_config
    from newsroles.training.run import train_from_config

    write_jsonl(synthetic_articles(6, seed=1), tmp_path / "train.jsonl")
    config = load_config(ROOT / "configs" / "tiny.yaml", {
        "model.base": str(tiny_base_model), "data.train": str(tmp_path / "train.jsonl"), "data.dev": "null",
        "train.max_steps": "1", "train.epochs": "1"})
    model = train_from_config(config, output=tmp_path / "model", progress=False)
    archive = tmp_path / "archive.jsonl"
    stories = [{"id": f"story-{i:04d}", "text": f"Police said {i} people were killed on Monday. Analysts expect more talks."}
               for i in range(1500)]
    archive.write_text("".join(json.dumps(s) + "\n" for s in stories), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}

    def label(output: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "newsroles.inference.cli", "label", str(archive), "--model", str(model),
                "--output", str(output), "--quiet", "--batch-size", "8", *extra]

    reference = tmp_path / "reference.jsonl"
    subprocess.run(label(reference), check=True, env=env, capture_output=True)

    out = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    process = subprocess.Popen(label(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while (not partial.exists() or partial.stat().st_size < 20_000) and process.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    assert process.poll() is None, "labeling finished before it could be killed; make the archive longer"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists() and partial.exists()
    done_before = len(partial.read_text(encoding="utf-8").splitlines())
    assert 0 < done_before < len(stories)

    subprocess.run(label(out, "--resume"), check=True, env=env, capture_output=True)
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    want = [json.loads(line) for line in reference.read_text(encoding="utf-8").splitlines()]
    assert [a["id"] for a in got] == [a["id"] for a in want]
    assert [[s["label"] for s in a["sentences"]] for a in got] == [[s["label"] for s in a["sentences"]] for a in want]
    assert not partial.exists()


def test_a_crafted_checkpoint_is_refused_not_executed(tmp_path):
    import torch

    from newsroles.model.errors import UserError
    from newsroles.training.checkpoint import STATE_FILE, load_checkpoint

    marker = tmp_path / "ran"
    folder = tmp_path / "checkpoint"
    folder.mkdir()
    torch.save({"config_fingerprint": "x", "rng": WritesAMarker(marker)}, folder / STATE_FILE)
    with pytest.raises(UserError) as err:
        load_checkpoint(folder, "x")
    assert not marker.exists()
    assert "not loaded" in str(err.value) and "--resume" in str(err.value) and "\n" not in str(err.value)


def test_checkpoint_numpy_state_round_trips_exactly(tmp_path):
    import random

    import torch

    from newsroles.training.checkpoint import load_checkpoint, restore_rng_states, rng_states, save_checkpoint

    rng = random.Random(5)
    np.random.seed(3)
    state = {
        "config_fingerprint": "f",
        "rng": rng_states(rng),
        "best": (0.5, None, 2, {"macro_f1": np.float64(0.25)}, [np.arange(6, dtype=np.float32).reshape(3, 2), np.zeros((0, 4))]),
        "weights": {"w": torch.ones(2)},
    }
    expected = (random.random(), rng.random(), np.random.rand(), torch.rand(1).item())
    save_checkpoint(tmp_path / "c", state)
    loaded = load_checkpoint(tmp_path / "c", "f")
    restore_rng_states(loaded["rng"], rng)
    assert (random.random(), rng.random(), np.random.rand(), torch.rand(1).item()) == expected
    score, _, epoch, metrics, probs = loaded["best"]
    assert (score, epoch, metrics) == (0.5, 2, {"macro_f1": 0.25}) and type(metrics["macro_f1"]) is np.float64
    assert [p.dtype for p in probs] == [np.float32, np.float64] and probs[1].shape == (0, 4)
    np.testing.assert_array_equal(probs[0], state["best"][4][0])
