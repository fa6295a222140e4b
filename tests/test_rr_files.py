"""RR file reading (somafeedback.interop.rr_files): real recordings, each supported format, every error."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from real_records import real_file

from somafeedback.interop.rr_files import (
    FORMATS,
    KUBIOS_DECIMALS,
    RRFileError,
    RRSeries,
    detect_format,
    read_rr_file,
    write_kubios_rr,
)





def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def read_error(path: Path | str) -> RRFileError:
    """The RRFileError reading ``path`` raises (exactly that class), with the path leading its message."""
    with pytest.raises(RRFileError) as caught:
        read_rr_file(path)
    error = caught.value
    assert type(error) is RRFileError
    assert str(error).startswith(f"{path}: "), str(error)
    return error


# ---------------------------------------------------------------------------------------------
# Real recordings


def test_irurzun_integer_ms_24h_file() -> None:
    series = read_rr_file(real_file("irurzun_000_ms.txt"))
    assert series.format == "plain"
    assert series.rr_ms.dtype == np.float64 and series.rr_ms.ndim == 1
    assert series.rr_ms.size == 80_441
    assert series.rr_ms[:5].tolist() == [789, 727, 789, 750, 812]
    assert series.unit == "ms" and series.unit_detected
    assert any("inferred from values" in note for note in series.notes)
    assert series.start_wall_time is None and series.beat_times_s is None
    assert series.source == real_file("irurzun_000_ms.txt")


def test_nsr001_seconds_file_drops_its_start_offset() -> None:
    path = real_file("nsr001_rr_secs.txt")
    series = read_rr_file(path)
    assert series.format == "plain"
    assert series.rr_ms.size == 106_459
    assert series.unit == "s" and series.unit_detected
    assert series.rr_ms[0] == 695.3125  # 0.6953125 s, exactly
    raw = np.array([float(line) for line in path.read_text().split()])
    assert raw[0] == pytest.approx(225.796875)
    np.testing.assert_array_equal(series.rr_ms, raw[1:] * 1000.0)
    # the long pauses later in the file are data, not offsets: nothing else is filtered
    assert (series.rr_ms > 3000).sum() == 3
    offset_notes = [note for note in series.notes if "start offset" in note]
    assert len(offset_notes) == 1 and "225.797" in offset_notes[0] and "line 1" in offset_notes[0]
    assert any("seconds (inferred from values: median 0.71" in note for note in series.notes)


def test_polar_ibi_csv_takes_rr_from_the_last_column_and_no_beat_times() -> None:
    series = read_rr_file(real_file("polar_h10_slow_breathing_ibi.csv"))
    assert series.format == "plain"
    assert series.rr_ms.size == 620
    assert series.rr_ms[0] == 936
    assert series.unit == "ms" and series.unit_detected
    assert series.beat_times_s is None  # column 1 is BLE arrival time, not beat times
    assert series.start_wall_time is None
    assert any("last column" in note and "not beat times" in note for note in series.notes)


def test_npy_array_is_refused_with_a_clear_message() -> None:
    path = real_file("SampleNNISeriesShort.npy")
    error = read_error(path)
    assert "NumPy .npy" in str(error) and "not a text file" in str(error)


def test_an_hrv_report_is_not_an_rr_file() -> None:
    error = read_error(real_file("SampleReport.txt"))
    assert "no RR values" in str(error)


def test_detect_format_of_the_real_files() -> None:
    for name in ("irurzun_000_ms.txt", "nsr001_rr_secs.txt", "polar_h10_slow_breathing_ibi.csv"):
        assert detect_format(real_file(name)) == "plain"


def test_series_arrays_are_read_only() -> None:
    series = read_rr_file(real_file("polar_h10_slow_breathing_ibi.csv"))
    with pytest.raises(ValueError):
        series.rr_ms[0] = 1.0


# ---------------------------------------------------------------------------------------------
# Kubios


@settings(max_examples=60, deadline=None)
@given(
    rr=arrays(np.float64, st.integers(1, 400), elements=st.floats(250.0, 2500.0, allow_nan=False)),
    header=st.none() | st.dictionaries(st.text(min_size=1, max_size=12).filter(str.strip), st.text(max_size=30),
                                       max_size=4),
)
def test_kubios_write_read_round_trip(rr: np.ndarray, header: dict[str, str] | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.txt"
        write_kubios_rr(path, rr, header)
        assert detect_format(path) == "kubios"
        series = read_rr_file(path)
    assert series.format == "kubios"
    assert series.unit == "s" and not series.unit_detected
    assert series.rr_ms.shape == rr.shape
    np.testing.assert_allclose(series.rr_ms, rr, rtol=0, atol=1e-6)
    assert series.beat_times_s is None


def test_kubios_round_trip_is_exact_for_strap_resolution_and_keeps_an_odd_first_beat(tmp_path: Path) -> None:
    ticks = np.array([5000, 820, 801, 799, 1023, 640, 1, 3000])  # 1/1024 s units as BLE straps send them
    rr = ticks * 1000.0 / 1024.0
    path = write_kubios_rr(tmp_path / "k.txt", rr, {"unit": "ms", "subject": "line\nbreak\x1b"})
    series = read_rr_file(path)
    np.testing.assert_array_equal(series.rr_ms, rr)  # exact, including the implausible first value
    assert series.unit == "s"
    assert not any("start offset" in note for note in series.notes)
    assert b"# subject: line break?\r\n" in path.read_bytes()


def test_kubios_written_layout(tmp_path: Path) -> None:
    path = write_kubios_rr(tmp_path / "k.txt", [789.0, 812.5], {"Subject": "A. B.", "Device": "Polar H10"})
    raw = path.read_bytes()
    assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8").splitlines()
    header_count = int(lines[0].split(": ")[1].split()[0])
    assert header_count == 5
    assert all(line.startswith("#") for line in lines[:header_count])
    assert lines[1] == "# unit: s" and lines[2] == "# Subject: A. B." and lines[3] == "# Device: Polar H10"
    assert lines[header_count:] == [f"{0.789:.{KUBIOS_DECIMALS}f}", f"{0.8125:.{KUBIOS_DECIMALS}f}"]
    np.testing.assert_allclose(np.loadtxt(path, comments="#"), [0.789, 0.8125])


@pytest.mark.parametrize("bad", [[], [800.0, -1.0], [800.0, 0.0], [float("nan")], [[800.0, 810.0]]])
def test_kubios_writer_refuses_invalid_rr(tmp_path: Path, bad: list) -> None:
    with pytest.raises(ValueError):
        write_kubios_rr(tmp_path / "bad.txt", bad)
    assert not list(tmp_path.iterdir())


def test_kubios_file_with_header_lines_and_a_beat_time_column(tmp_path: Path) -> None:
    rr_s = [0.800, 0.812, 0.796, 0.792, 0.776]
    times = np.cumsum(rr_s)
    body = "".join(f"{t:.3f}\t{r:.3f}\n" for t, r in zip(times, rr_s, strict=True))
    header = "Kubios HRV custom ASCII RR data\nSubject: test\nTime (s)\tRR (s)\n"
    path = write(tmp_path, "kubios_custom.txt", header + body)
    series = read_rr_file(path)
    assert series.format == "kubios"
    assert series.unit == "s" and not series.unit_detected
    np.testing.assert_allclose(series.rr_ms, [800, 812, 796, 792, 776])
    assert series.beat_times_s is not None
    np.testing.assert_allclose(series.beat_times_s, times, atol=1e-9)


def test_kubios_time_column_of_interval_starts_is_shifted_to_the_ending_beat(tmp_path: Path) -> None:
    rr_ms = [800, 812, 796, 792]
    starts = np.concatenate([[0.0], np.cumsum(rr_ms[:-1]) / 1000])
    body = "".join(f"{t:.3f}  {r}\n" for t, r in zip(starts, rr_ms, strict=True))
    path = write(tmp_path, "k.txt", "# exported for Kubios\n" + body)
    series = read_rr_file(path)
    assert series.format == "kubios"
    np.testing.assert_allclose(series.rr_ms, rr_ms)
    np.testing.assert_allclose(series.beat_times_s, np.cumsum(rr_ms) / 1000, atol=1e-9)


def test_kubios_time_column_that_is_not_beat_times_is_ignored(tmp_path: Path) -> None:
    body = "0.221,936\n1.257,1020\n1.257,1078\n3.235,1054\n"  # arrival times: two RR in one notification
    path = write(tmp_path, "k.csv", "Kubios input\nrecorded with a strap\ntime,RR (ms)\n" + body)
    series = read_rr_file(path)
    assert series.format == "kubios"
    assert series.rr_ms.tolist() == [936, 1020, 1078, 1054]
    assert series.unit == "ms" and not series.unit_detected
    assert series.beat_times_s is None
    assert any("not taken as beat times" in note for note in series.notes)


def test_kubios_single_column_with_text_header_and_comments(tmp_path: Path) -> None:
    text = ("# SIGNAL/SERIES EXPORT - KUBIOS\n# File:\t\tRandomSamples\n# Comment:\tRR intervals\n"
            "766.000\n766.000\n727.000\n789.000\n")
    path = write(tmp_path, "pyhrv_kubios.txt", text)
    series = read_rr_file(path)
    assert series.format == "kubios"
    assert series.rr_ms.tolist() == [766, 766, 727, 789]
    assert series.unit == "ms" and series.unit_detected


def test_kubios_unit_statement_in_header(tmp_path: Path) -> None:
    path = write(tmp_path, "k.txt", "RR interval data\nunits = ms\n812\n900\n905\n")
    series = read_rr_file(path)
    assert series.format == "kubios"
    assert series.unit == "ms" and not series.unit_detected
    assert series.rr_ms.tolist() == [812, 900, 905]
    assert any("stated on line 2" in note for note in series.notes)
    assert not any("warning" in note for note in series.notes)


def test_stated_unit_that_contradicts_the_values_is_kept_with_a_warning(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "rr.txt", "RR (ms)\n0.812\n0.790\n"))
    assert series.unit == "ms" and not series.unit_detected
    assert series.rr_ms.tolist() == [0.812, 0.790]
    assert any(note.startswith("warning: the values (median 0.801) look like seconds") for note in series.notes)


# ---------------------------------------------------------------------------------------------
# HRV Logger


HRV_LOGGER_CLASSIC = """date,rr,since start
2025-04-25 06:37:37 +0000,823,823
2025-04-25 06:37:38 +0000,812,1635
2025-04-25 06:37:39 +0000,805,2440
2025-04-25 06:37:39 +0000,798,3238
"""


def test_hrv_logger_classic_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "2025-04-25_RR_0001ABCD.csv", HRV_LOGGER_CLASSIC)
    assert detect_format(path) == "hrv-logger"
    series = read_rr_file(path)
    assert series.format == "hrv-logger"
    assert series.rr_ms.tolist() == [823, 812, 805, 798]
    assert series.unit == "ms" and not series.unit_detected
    assert series.start_wall_time == datetime(2025, 4, 25, 6, 37, 37, tzinfo=timezone.utc).timestamp()
    assert series.beat_times_s is None
    assert any("since start" in note for note in series.notes)


def test_hrv_logger_unix_millisecond_timestamps(tmp_path: Path) -> None:
    text = "timestamp,rr,since_start\n1742229480012,823,823\n1742229480835,812,1635\n"
    series = read_rr_file(write(tmp_path, "RR.csv", text))
    assert series.format == "hrv-logger"
    assert series.rr_ms.tolist() == [823, 812]
    assert series.start_wall_time == pytest.approx(1742229480.012, abs=1e-6)


def test_hrv_logger_truncated_last_line(tmp_path: Path) -> None:
    cut_in_rr = HRV_LOGGER_CLASSIC + "2025-04-25 06:37:40 +0000,8"
    series = read_rr_file(write(tmp_path, "a.csv", cut_in_rr))
    assert series.rr_ms.tolist() == [823, 812, 805, 798, 8]  # a truncated value is just a value
    cut_before_rr = HRV_LOGGER_CLASSIC + "2025-04-25 06:3"
    series = read_rr_file(write(tmp_path, "b.csv", cut_before_rr))
    assert series.rr_ms.tolist() == [823, 812, 805, 798]
    assert any("incomplete last line 6" in note for note in series.notes)


def test_hrv_logger_row_with_too_many_fields(tmp_path: Path) -> None:
    text = HRV_LOGGER_CLASSIC.replace("805,2440", "805,2440,7")
    path = write(tmp_path, "rr.csv", text)
    error = read_error(path)
    assert error.line == 4 and "line 4: 4 field(s), but the header (line 1) names 3" in str(error)


# ---------------------------------------------------------------------------------------------
# Polar Sensor Logger


def test_polar_sensor_logger_rr_file(tmp_path: Path) -> None:
    text = ("Phone timestamp;RR-interval [ms]\n2026-06-01T21:17:07.832;1111\n2026-06-01T21:17:07.832;1085\n"
            "2026-06-01T21:17:09.901;1002\n")
    path = write(tmp_path, "Polar_H10_02849638_20260601_211700_RR.txt", text)
    assert detect_format(path) == "polar-sensor-logger"
    series = read_rr_file(path)
    assert series.format == "polar-sensor-logger"
    assert series.rr_ms.tolist() == [1111, 1085, 1002]
    assert series.unit == "ms" and not series.unit_detected
    # naive phone time: read in this computer's time zone
    assert series.start_wall_time == datetime(2026, 6, 1, 21, 17, 7, 832000).timestamp()
    assert series.beat_times_s is None  # phone timestamps are BLE arrival times
    assert any("arrival" in note for note in series.notes)


def test_polar_sensor_logger_hr_variant_with_rr_column(tmp_path: Path) -> None:
    text = ("Phone timestamp;sensor timestamp [ns];HR [bpm];HRV [ms];RR-interval [ms]\n"
            "2026-06-01T21:17:07.100;599626023839800192;61;;\n"
            "2026-06-01T21:17:08.110;599626024839800192;60;42;998\n"
            "2026-06-01T21:17:09.120;599626025839800192;59;40;1012\n")
    series = read_rr_file(write(tmp_path, "x_HR.txt", text))
    assert series.format == "polar-sensor-logger"
    assert series.rr_ms.tolist() == [998, 1012]  # not the HRV column, and rows without RR are skipped
    assert series.start_wall_time == datetime(2026, 6, 1, 21, 17, 8, 110000).timestamp()
    assert any("1 row(s) without an RR value skipped" in note for note in series.notes)


def test_polar_sensor_logger_hr_file_without_rr_is_an_error(tmp_path: Path) -> None:
    text = "Phone timestamp;HR [bpm];HRV [ms];Breathing interval [rpm];\n2026-06-01T21:17:07.100;61;;;\n"
    path = write(tmp_path, "Polar_H10_HR.txt", text)
    error = read_error(path)
    assert "has no RR intervals" in str(error) and "_RR.txt" in str(error)


# ---------------------------------------------------------------------------------------------
# Plain variants


def test_plain_file_with_comments_blank_lines_header_and_crlf(tmp_path: Path) -> None:
    text = "\ufeffRR (ms)\r\n# recorded lying down\r\n\r\n812\r\n  790  \r\n# a pause\r\n805\r\n"
    series = read_rr_file(write(tmp_path, "rr.txt", text))
    assert series.format == "plain"
    assert series.rr_ms.tolist() == [812, 790, 805]
    assert series.unit == "ms" and not series.unit_detected


def test_plain_seconds_with_decimal_comma(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "rr.txt", "0,812\n0,790\n1,005\n"))
    assert series.unit == "s" and series.unit_detected
    np.testing.assert_allclose(series.rr_ms, [812, 790, 1005])


def test_plain_utf16_file(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "rr.txt", "RR\n812\n790\n".encode("utf-16")))
    assert series.rr_ms.tolist() == [812, 790]


def test_truncated_last_value_is_just_a_value(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "rr.txt", "812\n790\n8"))
    assert series.rr_ms.tolist() == [812, 790, 8]


def test_plausible_first_value_is_kept(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "rr.txt", "0.9\n0.8\n0.81\n0.79\n"))
    assert series.rr_ms.size == 4
    assert not any("offset" in note for note in series.notes)


def test_formats_constant() -> None:
    assert FORMATS == ("plain", "kubios", "hrv-logger", "polar-sensor-logger")
    with pytest.raises(ValueError):
        RRSeries(rr_ms=np.ones(2), source=Path("x"), format="csv", unit="ms", unit_detected=True, notes=())


# ---------------------------------------------------------------------------------------------
# Errors


def test_missing_file(tmp_path: Path) -> None:
    error = read_error(tmp_path / "nope.txt")
    assert "nope.txt" in str(error) and "file not found" in str(error)


def test_directory(tmp_path: Path) -> None:
    error = read_error(tmp_path)
    assert "is a directory" in str(error)


def test_empty_file(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "empty.txt", ""))
    assert "empty.txt" in str(error) and "empty" in error.problem and "no RR values" in error.problem


def test_file_with_only_comments_and_blank_lines(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "blank.txt", "# nothing yet\n\n   \n"))
    assert "no RR values" in str(error)


def test_header_only_file(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "header.txt", "RR (ms)\n"))
    assert "no RR values" in str(error) and "line 1" in str(error)


def test_non_numeric_value_names_its_line(tmp_path: Path) -> None:
    lines = ["812"] * 13 + ["abc"] + ["800"] * 5
    path = write(tmp_path, "x.txt", "\n".join(lines) + "\n")
    error = read_error(path)
    assert str(error) == f"{path}: line 14: 'abc' is not a number"
    assert error.line == 14 and error.path == str(path)


def test_non_numeric_value_in_a_csv_rr_column(tmp_path: Path) -> None:
    path = write(tmp_path, "rr.csv", HRV_LOGGER_CLASSIC.replace(",812,", ",8l2,"))
    error = read_error(path)
    assert "line 3: '8l2' in column 'rr' is not a number" in str(error)


def test_non_numeric_value_in_a_psl_file(tmp_path: Path) -> None:
    text = "Phone timestamp;RR-interval [ms]\n2026-06-01T21:17:07.832;1111\n2026-06-01T21:17:08.832;n/a\n"
    error = read_error(write(tmp_path, "psl_RR.txt", text))
    assert "line 3: 'n/a' in column 'RR-interval [ms]' is not a number" in str(error)


def test_non_finite_value(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "nan.txt", "812\nnan\n800\n"))
    assert "line 2: 'nan' is not a finite number" in str(error)


@pytest.mark.parametrize(("value", "word"), [("-790", "negative"), ("0", "zero")])
def test_negative_or_zero_rr(tmp_path: Path, value: str, word: str) -> None:
    path = write(tmp_path, "neg.txt", f"812\n800\n{value}\n805\n")
    error = read_error(path)
    assert error.line == 3 and f"line 3: RR interval {value} ms is {word}" in str(error)


def test_negative_rr_in_a_csv(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "neg.csv", HRV_LOGGER_CLASSIC.replace(",805,", ",-805,")))
    assert "line 4: RR interval -805 ms is negative" in str(error)


def test_negative_first_value_is_not_taken_as_an_offset(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "neg.txt", "-5\n0.8\n0.81\n0.79\n"))
    assert "line 1: RR interval -5 s is negative" in str(error)


def test_binary_garbage(tmp_path: Path) -> None:
    garbage = bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8))
    error = read_error(write(tmp_path, "garbage.bin", garbage))
    assert "not a text file" in str(error) and "line " in str(error)


def test_undecodable_bytes_name_their_line(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "bad.txt", b"812\n800\n\x81\x8d\x90\x9d\n"))
    assert error.line == 3 and "not a text file" in str(error)


def test_control_characters_are_binary(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "nul.txt", b"812\n80\x000\n"))
    assert error.line == 2 and "not a text file" in str(error)


def test_csv_without_an_rr_column(tmp_path: Path) -> None:
    path = write(tmp_path, "hr.csv", "time,heart rate\n0.0,61\n1.0,62\n")
    error = read_error(path)
    assert error.line == 1 and "no RR-interval column" in str(error)


def test_single_heart_rate_column_is_not_rr(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "hr.txt", "HR [bpm]\n61\n62\n"))
    assert "heart rate, not RR intervals" in str(error)


def test_headerless_row_with_a_different_width(tmp_path: Path) -> None:
    error = read_error(write(tmp_path, "ibi.csv", "0.2,936\n1.2,1020\n2.2\n3.2,1054\n"))
    assert error.line == 3 and "1 field(s), but line 1 has 2" in str(error)


def test_headerless_truncated_last_row_is_dropped(tmp_path: Path) -> None:
    series = read_rr_file(write(tmp_path, "ibi.csv", "0.2,936\n1.2,1020\n2.2"))
    assert series.rr_ms.tolist() == [936, 1020]
    assert any("incomplete last line 3" in note for note in series.notes)


def test_detect_format_reports_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(RRFileError, match="file not found"):
        detect_format(tmp_path / "missing.txt")


def test_a_pipe_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "rr.fifo"
    os.mkfifo(fifo)
    error = read_error(fifo)
    assert "not a regular file" in str(error)


_PIECES = st.sampled_from([
    "812", "0.812", "-3", "0", "225.8", "abc", "nan", "1e3", "0,781", "", " ", "#", "# unit: s", "RR (ms)",
    "Phone timestamp", "RR-interval [ms]", "HR [bpm]", "date", "rr", "since start", "time", "Kubios",
    "2025-04-25 06:37:37 +0000", "2026-06-01T21:17:07.832", "1742229480012", '"', ";", ",", "\t", "\r",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_PIECES, max_size=5).map("".join), max_size=8).map("\n".join))
def test_any_text_reads_or_raises_rr_file_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.txt"
        path.write_text(text, encoding="utf-8")
        try:
            series = read_rr_file(path)
        except RRFileError as error:
            assert str(error).startswith(f"{path}: ")
            return
    assert series.format in FORMATS and series.unit in ("ms", "s")
    assert series.rr_ms.size > 0 and np.all(np.isfinite(series.rr_ms)) and np.all(series.rr_ms > 0)
    if series.beat_times_s is not None:
        assert series.beat_times_s.shape == series.rr_ms.shape
