"""Writing Kubios HRV RR text files: :func:`write_kubios_rr` (layout in its docstring).

:func:`~somafeedback.interop.rr_files.read_rr_file` reads them back exactly.

Thread: any.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from somafeedback.sessions.private import open_private_text
from ._text import CONTROL_CHARS
from .series import MS_PER_S

KUBIOS_DECIMALS = 10  # decimals of seconds written; exact for the 1/1024 s steps of BLE straps
OWN_KUBIOS_MARKER = "Kubios HRV RR interval data (somafeedback)"  # first line of write_kubios_rr files


def _header_text(value: object) -> str:
    """``value`` as one header line's worth of text: whitespace runs to one space, control characters to '?'."""
    return " ".join(CONTROL_CHARS.sub("?", str(value)).split())


def write_kubios_rr(path: str | os.PathLike[str], rr_ms: Sequence[float] | np.ndarray,
                    header: Mapping[str, str] | None = None) -> Path:
    """Write RR intervals as a Kubios HRV RR text file; :func:`read_rr_file` reads it back exactly.

    Layout (UTF-8, CRLF line ends): every header line starts with ``#``::

        # Kubios HRV RR interval data (somafeedback): N header lines, then one RR interval per line in seconds
        # unit: s
        # <key>: <value>            one line per ``header`` entry, in order
        # RR interval (s)
        0.7890000000

    Header keys and values are flattened to one line each (control characters become ``?``).
    Then one RR per line in seconds with ``KUBIOS_DECIMALS`` decimals (exact for 1/1024 s strap
    values; any RR round-trips to better than 1e-6 ms). In Kubios HRV open it as an RR
    interval ASCII file ("custom" import): skip the N header lines the first line announces,
    one data column, data type RR intervals, unit seconds. Tools that skip ``#`` lines (numpy's
    ``loadtxt``) read it directly. ``rr_ms`` must be one-dimensional, finite and positive.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    if rr.ndim != 1 or rr.size == 0:
        raise ValueError(f"rr_ms must be a non-empty one-dimensional sequence, not shape {rr.shape}")
    if not np.all(np.isfinite(rr)) or not np.all(rr > 0):
        index = int(np.flatnonzero(~(np.isfinite(rr) & (rr > 0)))[0])
        raise ValueError(f"rr_ms[{index}] = {rr[index]!r}: RR intervals must be finite and positive")
    entries: list[str] = []
    for key, value in (header or {}).items():
        key_text = _header_text(key)
        value_text = _header_text(value)
        if not key_text:
            raise ValueError("header keys must not be empty")
        entries.append(f"# {key_text}: {value_text}")
    count = 3 + len(entries)
    lines = [f"# {OWN_KUBIOS_MARKER}: {count} header lines, "
             "then one RR interval per line in seconds", "# unit: s", *entries, "# RR interval (s)"]
    rr_s = rr / MS_PER_S
    lines.extend(f"{value:.{KUBIOS_DECIMALS}f}" for value in rr_s)
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.unlink(missing_ok=True)  # a leftover of a killed writer of this process id
        with open_private_text(temporary, newline="\r\n") as stream:  # 0600: RR files are personal data
            stream.write("\n".join(lines) + "\n")
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return target
