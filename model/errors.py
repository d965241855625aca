"""The one exception type for problems a user can fix (bad path, bad record, bad config).

The CLI prints its message on one line and exits with code 2; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A problem in the user's input, named by where it is (file and line when known)."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.message}"


class InputWarning(UserWarning):
    """Input that was read, but not exactly as written (undecodable bytes replaced, HTML markup
    stripped). The CLI prints it as one line, `warning: ...`."""
