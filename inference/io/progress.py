"""The progress bar of the commands that run a model over sentences (label, distill-targets)."""

from __future__ import annotations


def sentence_bar(enabled: bool, desc: str, total: int | None = None):
    """A tqdm bar on stderr counting sentences (so its rate is sentences/s), gone when done; None
    when `enabled` is false. `total`, when known, gives the bar an end and an estimate."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit=" sentences", desc=desc, leave=False)
