"""The NewsDiscourse (brat) converter's public import path, the one README's Python API gives (the code: training/data/brat.py)."""

from newsroles.training.data.brat import convert_brat, iter_brat_articles

__all__ = ["convert_brat", "iter_brat_articles"]
