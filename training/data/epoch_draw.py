"""Which of n items an epoch trains on: the semi-supervised stories and the auxiliary corpora's articles."""

from __future__ import annotations

import random


def epoch_draw(n: int, per_epoch: int, key: str) -> list[int]:
    """`per_epoch` of range(n), drawn from `key` alone (a resumed run draws the same), in order;
    all of them when per_epoch is 0 or at least n."""
    if not per_epoch or per_epoch >= n:
        return list(range(n))
    return sorted(random.Random(key).sample(range(n), per_epoch))
