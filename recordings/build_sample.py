"""Rebuild recordings/polar-h10-slow-breathing.session.sqlite from the real Polar H10 record.

Usage (from the repository root, with ../shared/data beside the checkout)::

    python recordings/build_sample.py [--data ../shared/data] [--out recordings/polar-h10-slow-breathing.session.sqlite]

The session is made by the ordinary importer (:func:`somafeedback.importer.import_file`),
exactly as any imported session is made, with a fixed start time
(the source gives no date), no client, the tag ``sample`` and no markers (the source has
none). The content is deterministic; only the random session id (and so the file's bytes)
differ from run to run. The file is then switched to SQLite's rollback journal, so it can be
read from a read-only folder, and made world-readable (it is public data, not a client's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import sys
import tempfile
from pathlib import Path

from somafeedback.interop.importer import import_file

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
SOURCE = Path("rr") / "polar_h10_slow_breathing_ibi.csv"
NAME = "polar-h10-slow-breathing.session.sqlite"
START = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)  # fixed: the source gives no date
TAGS = ("sample",)
ORIGIN = {
    "description": "real Polar H10 RR stream, 620 beats / 10 min, slow and varying breathing",
    "repository": "https://github.com/kbre93/dont-hold-your-breath",
    "commit": "0bf570f",
    "path": "data/sample_data_ibi.csv",
    "licence": "MIT",
    "copyright": "Copyright (c) Kieran Brennan",
    "start_time": "fixed at 2023-01-01T00:00:00Z: the source gives no date",
    "columns": "column 1 BLE arrival time (s, ignored), column 2 RR (ms)",
}


def build(data: Path = DEFAULT_DATA, out: Path = HERE / NAME) -> Path:
    """Write the sample session to ``out`` (replacing it) and return its path."""
    source = data / SOURCE
    if not source.is_file():
        raise FileNotFoundError(f"{source}: the real Polar H10 record is missing (../shared/data beside the checkout)")
    out = Path(out)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".build-sample-") as scratch:
        made = import_file(source, Path(scratch), client=None, tags=TAGS, start_wall=START.timestamp(), origin=ORIGIN)
        db = sqlite3.connect(made)
        try:
            db.execute("PRAGMA journal_mode=DELETE")  # readable where no -wal/-shm files can be made
            db.execute("VACUUM")
        finally:
            db.close()
        os.chmod(made, 0o644)
        os.replace(made, out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=HERE / NAME, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    path = build(args.data, args.out)
    print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
