"""Imports refuse absurd input with a clear message naming the line: many values on one line, a
line past the stated length, seconds mixed with milliseconds, a file past the stated size or line
count. Real RR data from ../shared/data are the valid side (they still import)."""

from __future__ import annotations

from pathlib import Path

import pytest

from somafeedback.interop.importer import ImportFileError, import_file
from somafeedback.interop.rr_files import RRFileError, read_rr_file
from somafeedback.interop.rr_files._text import MAX_FILE_BYTES, MAX_LINE_CHARS, MAX_LINES

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "rr"


def _real_rr_ms(count: int | None = 2000) -> list[str]:
    """RR in ms, one per line, from a real recording (PhysioNet nsr001, seconds in the file); all 24 h when count is None."""
    lines = (DATA / "nsr001_rr_secs.txt").read_text().split()
    return [f"{float(v) * 1000:.0f}" for v in lines[1:None if count is None else count + 1]]


def _refused(path: Path, tmp_path: Path) -> str:
    with pytest.raises((ImportFileError, RRFileError)) as caught:
        import_file(path, tmp_path / "library")
    assert not (tmp_path / "library").exists() or not list((tmp_path / "library").iterdir())  # nothing left behind
    return str(caught.value)


def test_real_files_still_import(tmp_path: Path) -> None:
    for name in ("irurzun_000_ms.txt", "nsr001_rr_secs.txt", "polar_h10_slow_breathing_ibi.csv"):
        assert import_file(DATA / name, tmp_path / name).exists()


def test_a_recording_written_on_one_line_is_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "one_line.txt"
    values = " ".join(_real_rr_ms(None))  # 24 h of beats on one line
    assert len(values) > MAX_LINE_CHARS
    path.write_text("RR\n" + values + "\n")
    message = _refused(path, tmp_path)
    assert "line 2:" in message and "one beat per line" in message and f"{MAX_LINE_CHARS:,}" in message


def test_many_values_on_a_short_line_are_refused_not_read_as_one_beat(tmp_path: Path) -> None:
    values = _real_rr_ms()
    path = tmp_path / "rows.txt"
    path.write_text("\n".join(" ".join(values[i:i + 8]) for i in range(0, 800, 8)) + "\n")
    message = _refused(path, tmp_path)
    assert "line 1:" in message and "8 values" in message and "one beat per line" in message


def test_seconds_mixed_with_milliseconds_are_refused_naming_both_lines(tmp_path: Path) -> None:
    values = _real_rr_ms()
    values[300] = f"{int(values[300]) / 1000:.3f}"  # one value typed in seconds
    path = tmp_path / "mixed.txt"
    path.write_text("\n".join(values) + "\n")
    message = _refused(path, tmp_path)
    assert "line 301:" in message and "mixed units" in message and "line 1 " in message
    assert "seconds" in message and "milliseconds" in message


def test_a_cut_off_last_value_is_still_just_a_value(tmp_path: Path) -> None:
    values = _real_rr_ms()
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(values) + "\n" + values[0][:1])  # the file ends mid-number
    assert read_rr_file(path).rr_ms.size == len(values) + 1


def test_files_past_the_stated_size_or_line_count_are_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as out:  # sparse: no disk used for the zeros
        out.truncate(MAX_FILE_BYTES + 1)
    assert f"{MAX_FILE_BYTES / 2**20:.0f} MiB" in _refused(big, tmp_path)
    many = tmp_path / "many.txt"
    many.write_bytes(b"8\n" * (MAX_LINES + 1))
    message = _refused(many, tmp_path)
    assert f"{MAX_LINES + 1:,} lines" in message and "split it" in message
