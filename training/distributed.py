"""Processes, devices and mixed precision for training, handled by Hugging Face Accelerate.

`newsroles train` runs as one process, or as several under `accelerate launch` or `torchrun`
(one per GPU, on one machine or many). Accelerate reads the launcher's environment, starts the
process group (DDP), gives each process its device, and supplies autocast, the fp16 gradient
scaler, gradient clipping and `no_sync` for gradient accumulation. Our loop (training/trainer.py)
stays in charge of what it trains on: every process draws the same batch order from the same
seed and trains on its share of each batch (`process_share`), so a step's global batch is
`train.batch_size` windows whatever the number of processes, and the learning-rate schedule,
checkpoints and `--resume` count the same steps. Only the main process scores dev, writes
checkpoints, the model folder, logs and progress bars.
"""

from __future__ import annotations

import datetime

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs, InitProcessGroupKwargs, PartialState
from accelerate.state import AcceleratorState, GradientState

from newsroles.model.network.device import resolve_device, resolve_precision

# A DDP collective waits this long for the others: the main process scores dev after each epoch
# while the others wait at the next step, and a large dev set takes a while.
COLLECTIVE_TIMEOUT = datetime.timedelta(hours=3)
MIXED_PRECISION = {None: "no", torch.bfloat16: "bf16", torch.float16: "fp16"}


def make_accelerator(train_config, trackers: list | None = None):
    """An Accelerator for `train.device` and `train.precision` (auto resolves as for one process),
    logging to `trackers` (Accelerate tracker objects: training/tracking.py)."""
    device = resolve_device(train_config.device)  # "cuda" without a GPU: one clear line
    dtype = resolve_precision(train_config.precision, device, training=True)
    # Accelerate keeps its settings process-wide; a second run in the same process (tests, a
    # notebook) may ask for another precision. The process group itself (PartialState) is kept.
    AcceleratorState._reset_state(reset_partial_state=False)
    GradientState._reset_state()
    return Accelerator(
        cpu=device.type == "cpu",
        mixed_precision=MIXED_PRECISION[dtype],
        log_with=trackers or None,
        # The encoder's pooler is never used (we take token states), nor is every head in every
        # batch: DDP must not wait for their gradients.
        kwargs_handlers=[InitProcessGroupKwargs(timeout=COLLECTIVE_TIMEOUT), DistributedDataParallelKwargs(find_unused_parameters=True)],
    )


def is_main_process() -> bool:
    """Whether this is the process that writes (the only one, without a launcher)."""
    return PartialState().is_main_process


def end_processes() -> None:
    """Wait for every process, then leave the process group (nothing to do for one process)."""
    state = PartialState()
    if state.use_distributed:
        state.wait_for_everyone()
        state.destroy_process_group()


def process_share(batch: list, rank: int, processes: int) -> list:
    """This process's pieces (windows, or whole articles) of a global batch (every `processes`-th, from `rank`)."""
    return batch[rank::processes]


def targets_weight(label_rows: list[list[int]], class_weights: torch.Tensor | None) -> float:
    """What role_loss's mean divides by for these windows: their labeled sentences, class-weighted.

    A part's loss times its share of the batch's weight adds up to the whole batch's loss (the
    auxiliary loss, a mean over other units, only nearly)."""
    labeled = [label for row in label_rows for label in row if label != -100]
    if class_weights is None:
        return float(len(labeled))
    weights = class_weights.detach().cpu().tolist()
    return float(sum(weights[label] for label in labeled))


def micro_batches(share: list, parts: int) -> list[list]:
    """`share` cut into at most `parts` nearly equal runs, for gradient accumulation."""
    parts = max(1, min(parts, len(share)))
    size, extra = divmod(len(share), parts)
    out, at = [], 0
    for k in range(parts):
        n = size + (k < extra)
        out.append(share[at : at + n])
        at += n
    return out
