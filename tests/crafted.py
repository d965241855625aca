"""A crafted pickle payload: proof that loading a file never unpickles it."""

from __future__ import annotations


class WritesAMarker:
    """Unpickling this runs code: it creates the marker file named at pickling time."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))
