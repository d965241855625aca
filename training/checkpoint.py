"""Training checkpoints, so that `newsroles train --resume` continues a killed run.

A checkpoint holds everything the loop needs to go on exactly where it stopped: weights, optimizer
and scheduler state, every random generator, the current epoch's batch order and position, and the
best epoch so far. Resuming with the same config and seed gives the same model as an uninterrupted
run. It is written atomically (a kill while writing leaves the previous checkpoint intact) and
deleted once the model folder is complete.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from newsroles.model.errors import UserError
from newsroles.model.fileio import atomic_dir

STATE_FILE = "state.pt"


def config_fingerprint(config) -> str:
    """What must match for a checkpoint to be resumed: the whole config and the data's contents."""
    from newsroles.model.folder import file_fingerprint

    data = {p: file_fingerprint(p) for p in (config.data.train, config.data.dev) if p and Path(p).is_file()}
    blob = json.dumps({"config": config.to_dict(), "data": data}, sort_keys=True, default=str)
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


def save_checkpoint(folder: Path, state: dict) -> None:
    with atomic_dir(folder, overwrite=True) as tmp:
        torch.save(state, tmp / STATE_FILE)


def load_checkpoint(folder: Path, fingerprint: str) -> dict:
    path = folder / STATE_FILE
    if not path.is_file():
        raise UserError("no checkpoint to resume from; run without --resume to start afresh", folder)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a damaged file of any sort
        raise UserError(f"checkpoint is unreadable ({exc.__class__.__name__}); run without --resume", path)
    if state.get("config_fingerprint") != fingerprint:
        raise UserError("checkpoint was made with a different config or data; run without --resume to start afresh", folder)
    return state


def remove_checkpoint(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
