"""`train.report_to`: TensorBoard and MLflow through Accelerate's trackers, read back from what they wrote."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from newsroles.inference.cli import app
from newsroles.model.errors import UserError
from newsroles.training.config import load_config
from newsroles.training.run import train_from_config
from synthetic import write_splits

LABELS = ["stance", "quote", "background", "fact"]


@pytest.fixture(scope="module")
def tracked(tiny_base_model, tmp_path_factory):
    """A tiny model trained 2 epochs of 3 steps with both trackers: (model folder, tracking dir, metrics.json)."""
    pytest.importorskip("tensorboard", reason="the tracking extra (tensorboard) is not installed")
    pytest.importorskip("mlflow", reason="the tracking extra (mlflow-skinny) is not installed")
    root = tmp_path_factory.mktemp("tracking")
    train, dev = write_splits(root)
    config = load_config(
        "configs/tiny.yaml",
        {
            "model.base": str(tiny_base_model), "data.train": str(train), "data.dev": str(dev), "train.epochs": "2",
            "train.max_steps": "6", "train.batch_size": "16", "train.report_to": "[tensorboard, mlflow]",
            "train.tracking_dir": str(root / "tracking"), "models_dir": str(root / "models"),
        },
    )
    folder = train_from_config(config, output=root / "model", progress=False)
    return folder, root / "tracking", json.loads((folder / "metrics.json").read_text())


def test_tensorboard_event_files_hold_steps_epochs_config_and_final_figures(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder, root, metrics = tracked
    record = json.loads((folder / "newsroles.json").read_text())["tracking"]
    logdir = root / "tensorboard" / "tiny" / record["run"]
    assert record["tensorboard"] == str(logdir)
    events = EventAccumulator(str(logdir)).Reload()
    tags = set(events.Tags()["scalars"])
    steps = [e.step for e in events.Scalars("train/loss")]
    assert steps == list(range(1, metrics["history"][-1]["step"] + 1))  # every step's loss
    epochs = events.Scalars("dev/macro_f1")
    assert [e.step for e in epochs] == [h["step"] for h in metrics["history"]]
    assert [round(e.value, 5) for e in epochs] == [round(h["dev_macro_f1"], 5) for h in metrics["history"]]
    assert {f"dev/f1/{label}" for label in LABELS} <= tags and "train/learning_rate" in tags
    final = events.Scalars("final/dev_macro_f1")
    assert len(final) == 1 and final[0].value == pytest.approx(metrics["dev"]["macro_f1"], abs=1e-6)
    # The config as hyperparameters: accelerate writes the hparams summary beside the run's events.
    hparams = list(logdir.glob("*/hparams.yml"))
    assert hparams and "train.learning_rate: 0.003" in hparams[0].read_text()


def test_mlflow_file_store_holds_params_step_losses_and_final_metrics(tracked):
    import mlflow

    folder, root, metrics = tracked
    record = json.loads((folder / "newsroles.json").read_text())["tracking"]["mlflow"]
    assert record["tracking_uri"] == (root / "mlruns").resolve().as_uri() and record["experiment"] == "tiny"
    client = mlflow.MlflowClient(tracking_uri=record["tracking_uri"])
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == json.loads((folder / "newsroles.json").read_text())["tracking"]["run"]
    assert run.data.params["train.epochs"] == "2" and run.data.params["model.type"] == "article"
    assert run.data.params["train.report_to"] == "['tensorboard', 'mlflow']"
    losses = client.get_metric_history(run.info.run_id, "train/loss")
    assert sorted(m.step for m in losses) == list(range(1, metrics["history"][-1]["step"] + 1))
    dev = client.get_metric_history(run.info.run_id, "dev/macro_f1")
    assert sorted((m.step, round(m.value, 5)) for m in dev) == [(h["step"], round(h["dev_macro_f1"], 5)) for h in metrics["history"]]
    assert run.data.metrics["final/dev_macro_f1"] == pytest.approx(metrics["dev"]["macro_f1"], abs=1e-9)
    assert run.data.metrics["final/best_epoch"] == metrics["best_epoch"]


def test_report_to_is_validated_and_a_missing_package_names_the_extra(tmp_path, monkeypatch):
    with pytest.raises(UserError, match=r"'train.report_to' must be one of \['tensorboard', 'mlflow'\], got 'wandb'"):
        load_config(None, {"train.report_to": "[wandb]"})
    assert load_config(None).train.report_to == []  # default: no tracking
    assert load_config(None, {"train.report_to": "mlflow"}).train.report_to == ["mlflow"]
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    result = CliRunner().invoke(app, ["train", "--data.train", str(tmp_path / "missing.jsonl"), "--train.report_to", "mlflow"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.strip() == (
        "error: train.report_to lists mlflow, but the mlflow package is not installed: pip install 'newsroles[tracking]'"
    )


@pytest.mark.ddp
def test_two_processes_log_one_run(tiny_base_model, tmp_path, monkeypatch):
    """Under `accelerate launch` with 2 processes only the main one logs: one TensorBoard run, one
    MLflow run, each step's loss once."""
    pytest.importorskip("tensorboard", reason="the tracking extra (tensorboard) is not installed")
    mlflow = pytest.importorskip("mlflow", reason="the tracking extra (mlflow-skinny) is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from test_ddp import accelerate_launch, run, train_args

    write_splits(tmp_path)
    args = train_args(tiny_base_model, tmp_path, tmp_path / "model", "--train.max_steps", "4", "--train.report_to", "[tensorboard, mlflow]",
                      "--train.tracking_dir", str(tmp_path / "tracking"))
    run(accelerate_launch(args), tmp_path)
    record = json.loads((tmp_path / "model" / "newsroles.json").read_text())["tracking"]
    assert [p.name for p in (tmp_path / "tracking" / "tensorboard" / "tiny").iterdir()] == [record["run"]]
    events = EventAccumulator(record["tensorboard"]).Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2, 3, 4]
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the training processes set it for themselves
    client = mlflow.MlflowClient(tracking_uri=record["mlflow"]["tracking_uri"])
    runs = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert [r.info.run_id for r in runs] == [record["mlflow"]["run_id"]]
    assert sorted(m.step for m in client.get_metric_history(record["mlflow"]["run_id"], "train/loss")) == [1, 2, 3, 4]


def test_tracking_settings_do_not_block_resuming():
    """A checkpoint resumes with tracking turned on, off or moved: it trains the same."""
    from newsroles.training.checkpoint import config_fingerprint

    plain = config_fingerprint(load_config(None))
    assert config_fingerprint(load_config(None, {"train.report_to": "mlflow", "train.tracking_dir": "elsewhere"})) == plain
    assert config_fingerprint(load_config(None, {"train.epochs": "3"})) != plain
