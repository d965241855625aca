"""The article readers' public import path, the one README's Python API gives (the code: training/data/readers.py and sentence_tables.py)."""

from newsroles.training.data.readers import iter_articles, read_articles
from newsroles.training.data.sentence_tables import load_articles_dataset

__all__ = ["iter_articles", "load_articles_dataset", "read_articles"]
