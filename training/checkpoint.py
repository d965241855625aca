"""Training checkpoints, so that `newsroles train --resume` continues a killed run.

A checkpoint holds everything the loop needs to go on exactly where it stopped: weights, optimizer
and scheduler state, every random generator, the current epoch's batch order and position, and the
best epoch so far. Resuming with the same config and seed gives the same model as an uninterrupted
run. It is written atomically (a kill while writing leaves the previous checkpoint intact) and
deleted once the model folder is complete.

It is loaded with `torch.load(weights_only=True)`, which rebuilds tensors and plain Python data
only, so a crafted checkpoint cannot run code. What else the loop keeps (numpy arrays: the numpy
generator's state, dev predictions) is stored as raw bytes in a uint8 tensor plus its dtype and
shape, and turned back into the same numpy array on loading.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir
from newsroles.model.store.folder import file_fingerprint
from newsroles.training.config import without_idle_settings
from newsroles.training.data.sentence_tables import HUB_PREFIX, data_fingerprint
from newsroles.training.recipes.distill import targets_path

STATE_FILE = "state.pt"


def config_fingerprint(config) -> str:
    """What must match for a checkpoint to be resumed: the whole config (but settings of a feature
    that is off) and the data's contents (the teacher targets' too, when distilling)."""
    sources = (config.data.train, config.data.dev, config.data.unlabeled)
    data = {p: data_fingerprint(p) for p in sources if p and (Path(p).is_file() or str(p).startswith(HUB_PREFIX))}
    teacher = targets_path(config.train.distill_targets) if config.train.distill_targets else None
    if teacher is not None and Path(teacher).is_file():
        data[str(teacher)] = file_fingerprint(teacher)
    settings = without_idle_settings(config.to_dict())
    for key in ("report_to", "tracking_dir"):  # where the run is logged changes nothing it trains
        settings["train"].pop(key, None)
    blob = json.dumps({"config": settings, "data": data}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def rng_states(rng: random.Random) -> dict:
    return {
        "python": random.getstate(),
        "loop": rng.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def restore_rng_states(states: dict, rng: random.Random) -> None:
    random.setstate(states["python"])
    rng.setstate(states["loop"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


NUMPY_TAG = "__numpy__"


def to_plain(value):
    """`value` with every numpy array or scalar replaced by plain data that weights_only loading accepts.

    Containers without numpy inside are returned as they are (a state_dict keeps its OrderedDict
    type and `_metadata`)."""
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("a checkpoint cannot hold numpy arrays of Python objects")
        raw = torch.frombuffer(bytearray(array.tobytes()), dtype=torch.uint8) if array.nbytes else torch.zeros(0, dtype=torch.uint8)
        return {NUMPY_TAG: raw, "dtype": array.dtype.str, "shape": list(array.shape), "scalar": isinstance(value, np.generic)}
    return _map_items(value, to_plain)


def from_plain(value):
    """The inverse of `to_plain`."""
    if isinstance(value, dict) and NUMPY_TAG in value:
        array = np.frombuffer(value[NUMPY_TAG].numpy().tobytes(), dtype=np.dtype(value["dtype"]))
        array = array.reshape(value["shape"]).copy()
        return array[()] if value["scalar"] else array
    return _map_items(value, from_plain)


def _map_items(value, convert):
    """`convert` applied inside a dict, list or tuple; the container itself when nothing changed."""
    if isinstance(value, dict):
        items = {key: convert(item) for key, item in value.items()}
        return value if all(items[key] is value[key] for key in value) else items
    if isinstance(value, (list, tuple)):
        items = [convert(item) for item in value]
        return value if all(a is b for a, b in zip(items, value)) else type(value)(items)
    return value


# Set to a file path, the run writes that file once its first checkpoint is saved and then waits
# there until it is killed: how tests kill a run mid-training at a known point, without timing.
HOLD_AFTER_CHECKPOINT = "NEWSROLES_HOLD_AFTER_CHECKPOINT"


def save_checkpoint(folder: Path, state: dict) -> None:
    with atomic_dir(folder, overwrite=True) as tmp:
        torch.save(to_plain(state), tmp / STATE_FILE)
    marker = os.environ.get(HOLD_AFTER_CHECKPOINT)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        while True:
            time.sleep(60)


def load_checkpoint(folder: Path, fingerprint: str) -> dict:
    path = folder / STATE_FILE
    if not path.is_file():
        raise UserError("no checkpoint to resume from; run without --resume to start afresh", folder)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only" not in str(exc).lower():
            raise UserError(f"checkpoint is unreadable ({exc.__class__.__name__}); run without --resume", path) from None
        raise UserError(
            "checkpoint holds objects other than tensors and plain data, so it is not loaded (it could run code); "
            "run without --resume to start afresh",
            path,
        ) from None
    except Exception as exc:  # a damaged file of any sort
        raise UserError(f"checkpoint is unreadable ({exc.__class__.__name__}); run without --resume", path) from None
    if not isinstance(state, dict):
        raise UserError("checkpoint is unreadable (not a newsroles checkpoint); run without --resume", path)
    state = from_plain(state)
    if state.get("config_fingerprint") != fingerprint:
        raise UserError("checkpoint was made with a different config or data; run without --resume to start afresh", folder)
    return state


def remove_checkpoint(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
