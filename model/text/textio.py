"""Bytes to text, the same way for every reader of user files.

* UTF-8, a byte-order mark dropped by the callers;
* bytes that are not UTF-8 are replaced with U+FFFD, and an `InputWarning` names the file and the
  line of the first one (once per file): what can be decoded is kept, and the user is told;
* a binary file (NUL bytes, a known file signature, mostly control characters or undecodable
  bytes) is refused with a `UserError` saying what it looks like.
"""

from __future__ import annotations

import re
import warnings

from newsroles.model.errors import InputWarning, UserError

SAMPLE = 8192  # bytes looked at to tell a binary file from text

# File signatures of the binary files most often passed by mistake.
_MAGIC = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive, .docx or .xlsx"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"(\xb5/\xfd", "zstd-compressed"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"\x7fELF", "an executable"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0 control characters that never occur in text (tab, newlines, form feed and escape may).
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 11, 12, 13, 27))
_CONTROL_TABLE = bytes.maketrans(b"", b"")
_SURROGATE = re.compile("[\udc80-\udcff]")


def binary_reason(data: bytes, whole: bool = False) -> str | None:
    """What a file whose bytes start with `data` looks like, if it is not text; None for text.

    `whole`: `data` is the whole file (or line), so a NUL byte anywhere counts.
    """
    head = data[:SAMPLE]
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith(_UTF16_BOMS):
        return "UTF-16 text; save it as UTF-8"
    if b"\x00" in (data if whole else head):
        return "NUL bytes"
    if head:
        controls = len(head) - len(head.translate(_CONTROL_TABLE, _CONTROL))
        if controls > 0.05 * len(head):
            return "control characters"
        invalid = len(head) - len(head.decode("utf-8", errors="ignore").encode("utf-8"))  # bytes that are not UTF-8
        if invalid > 0.3 * len(head):
            return "mostly bytes that are not UTF-8: binary data, or text in another encoding; save it as UTF-8"
    return None


def binary_error(data: bytes, where: str, line: int | None = None, whole: bool = False) -> UserError | None:
    """A UserError for a binary file (see `binary_reason`), or None for text."""
    reason = binary_reason(data, whole)
    if reason is None:
        return None
    if reason.startswith("UTF-16"):
        return UserError(f"not UTF-8 but {reason}", where, line)
    if reason == "NUL bytes" and line is None and b"\n" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1  # a text file with a NUL byte: say where
    return UserError(f"binary file ({reason}), not text", where, line)


class Decoder:
    """UTF-8 decoding that replaces undecodable bytes and warns once per file, naming the line."""

    def __init__(self, where: str):
        self.where = where
        self.warned = False

    def _warn(self, byte: int, line: int | None, column: int | None) -> None:
        if self.warned:
            return
        self.warned = True
        at = self.where if line is None else f"{self.where}:{line}"
        col = f" at column {column}" if column is not None else ""
        warnings.warn(
            f"{at}: not valid UTF-8 (byte 0x{byte:02x}{col}); undecodable bytes replaced with U+FFFD",
            InputWarning,
            stacklevel=3,
        )

    def __call__(self, data: bytes, line: int | None = None) -> str:
        """Decode `data`: one line (numbered `line`), or, with `line` None, a whole file."""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if line is None:
                first = data.count(b"\n", 0, exc.start) + 1
                column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            else:
                first, column = line, exc.start + 1
            self._warn(data[exc.start], first, column)
            return data.decode("utf-8", errors="replace")

    def text_line(self, line: str, lineno: int) -> str:
        """A line read with errors="surrogateescape": bad bytes (lone surrogates) become U+FFFD."""
        m = _SURROGATE.search(line)
        if m is None:
            return line
        self._warn(ord(m.group(0)) - 0xDC00, lineno, m.start() + 1)
        return _SURROGATE.sub("\ufffd", line)


def read_config_text(path, what: str = "file") -> str:
    """A small config-like file (YAML) as text, strictly: a binary or non-UTF-8 file is a
    UserError naming the line, since a replaced character in a setting would silently change it."""
    from pathlib import Path

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the {what} ({exc.strerror or exc})", path) from None
    err = binary_error(data, str(path), whole=True)
    if err is not None:
        raise err
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the {what} as UTF-8", path, line) from None
