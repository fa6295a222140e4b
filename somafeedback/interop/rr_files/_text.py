"""Reading an RR file's bytes as text: file checks, decoding, and refusing binary data.

UTF-8 (with or without BOM), UTF-16 with BOM, or else Windows-1252; files over
``MAX_FILE_BYTES`` or with more than ``MAX_LINES`` lines, a line longer than ``MAX_LINE_CHARS``
(a recording written on one line), and binary content (NUL or other control bytes, undecodable bytes, a NumPy
``.npy``, a zip/xlsx archive, a PDF), raise :class:`~somafeedback.interop.rr_files.RRFileError`.

Thread: any.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .series import RRFileError

MAX_QUOTED_CHARS = 40  # characters of an offending value quoted in an error message
MAX_FILE_BYTES = 64 * 2**20  # bytes; larger files are refused (a week of RR as text is ~3-25 MB)
MAX_LINES = 1_000_000  # lines; more are refused (one beat per line: ~11 days at 60 bpm, a week at 100 bpm)
MAX_LINE_CHARS = 262_144  # characters of one line; a longer line is refused (a header may list ~30,000 segment starts)

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x93NUMPY", "a NumPy .npy array, not a text file; save it as text first "
                   "(numpy.savetxt(path, rr_ms, fmt='%g'))"),
    (b"PK\x03\x04", "a zip archive (an .xlsx workbook?), not a text file; export it as CSV first"),
    (b"%PDF", "a PDF document, not an RR text file"),
)


def quote(text: str) -> str:
    """``text`` quoted for an error message, shortened when long."""
    if len(text) > MAX_QUOTED_CHARS:
        text = text[: MAX_QUOTED_CHARS - 3] + "..."
    return repr(text)


def _decode(label: str, data: bytes) -> tuple[str, list[str]]:
    """Bytes to text (UTF-8, UTF-16 with BOM, or Windows-1252), refusing binary data."""
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise RRFileError(label, f"this is {what}")
    notes: list[str] = []
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise RRFileError(label, "not a text file: it starts like UTF-16 but does not decode as UTF-16") from None
        notes.append("text decoded as UTF-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                line = data.count(b"\n", 0, error.start) + 1
                raise RRFileError(label, f"not a text file: undecodable byte 0x{data[error.start]:02x} "
                                  f"(binary data?); expected RR intervals as text", line) from None
            notes.append("text decoded as Windows-1252 (it is not valid UTF-8)")
    text = text.rstrip("\x1a")  # a DOS end-of-file mark
    _check_line_length(label, text)
    bad = CONTROL_CHARS.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise RRFileError(label, f"not a text file: control character 0x{ord(bad.group()):02x} "
                          f"(binary data?); expected RR intervals as text", line)
    return text, notes


_LONG_LINE = re.compile(f"[^\\n\\r]{{{MAX_LINE_CHARS + 1}}}")


def _check_line_length(label: str, text: str) -> None:
    """Refuse a line longer than MAX_LINE_CHARS (e.g. a whole recording on one line), naming it."""
    long = _LONG_LINE.search(text)
    if long is None:
        return
    line = text.count("\n", 0, long.start()) + 1
    ends = [i for i in (text.find("\n", long.start()), text.find("\r", long.start())) if i >= 0]
    length = (min(ends) if ends else len(text)) - text.rfind("\n", 0, long.start()) - 1
    raise RRFileError(label, f"the line is {length:,} characters long; an RR file holds one beat per line "
                      f"(at most {MAX_LINE_CHARS:,} characters): were many values written on one line? "
                      "Put each RR interval on its own line", line)


def read_text(path: str | os.PathLike[str]) -> tuple[str, Path, str, list[str]]:
    """The file's text, its Path, the label for messages, and decoding notes."""
    label = str(path)
    file = Path(path).expanduser()
    if not file.exists():
        raise RRFileError(label, "file not found")
    if file.is_dir():
        raise RRFileError(label, "is a directory, not an RR file")
    if not file.is_file():
        raise RRFileError(label, "not a regular file (a device or pipe?)")
    try:
        size = file.stat().st_size
    except OSError as error:
        raise RRFileError(label, f"cannot read the file: {error.strerror or error}") from None
    if size > MAX_FILE_BYTES:
        raise RRFileError(label, f"the file is {size / 2**20:.0f} MiB; RR files over "
                          f"{MAX_FILE_BYTES / 2**20:.0f} MiB are not read (is it really RR intervals?)")
    try:
        data = file.read_bytes()
    except PermissionError:
        raise RRFileError(label, "permission denied: the file cannot be read") from None
    except OSError as error:
        raise RRFileError(label, f"cannot read the file: {error.strerror or error}") from None
    if not data:
        raise RRFileError(label, "the file is empty (0 bytes); no RR values")
    lines = data.count(b"\n")
    if lines > MAX_LINES:
        raise RRFileError(label, f"the file has {lines:,} lines; RR files of more than {MAX_LINES:,} lines "
                          "(one beat per line: about a week) are not read; split it into shorter recordings")
    text, notes = _decode(label, data)
    return text, file, label, notes
