"""Damage never gives a traceback or a hang: flips, truncations, broken schema, impossible manifest values.

The property test runs a small sample of ``scripts/soak_damage.py``'s cases (the soak runs
>= 1000) on two real recordings: the shipped sample (format 1, a real Polar H10 RR record)
and an H10 session recorded here through the simulated strap (format 2). Every reader must end
with what it could read or with one clear SessionFileError; a case gets a generous bound
(``CASE_LIMIT_S``) before it counts as a hang.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_helpers import record_simulated
from session_helpers import REPO

from somafeedback.live.stored_pass import PASS_NAME, store_pass
from somafeedback.sessions.file import read_session
from somafeedback.sessions.library import list_sessions

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
CASE_LIMIT_S = 120.0  # generous: a sound case takes well under a second on a 2-core box
_spec = importlib.util.spec_from_file_location("soak_damage", REPO / "scripts" / "soak_damage.py")
assert _spec is not None and _spec.loader is not None
soak = importlib.util.module_from_spec(_spec)
sys.modules["soak_damage"] = soak  # dataclasses look their module up
_spec.loader.exec_module(soak)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    h10 = record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 60.0, h10=True,
                           finish=functools.partial(store_pass, within_s=None))  # with the report's pass stored
    assert PASS_NAME in read_session(h10).analyses
    return [SAMPLE.read_bytes(), h10.read_bytes()]


def _damage() -> st.SearchStrategy:
    flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=0, max_size=4)
    cut = st.none() | st.integers(0, 10**6)
    return st.tuples(st.integers(0, 1), flips, cut)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=_damage())
def test_random_flips_and_truncations_end_with_what_could_be_read(recordings, tmp_path_factory, case) -> None:
    which, flips, cut = case
    source = recordings[which]
    damage = soak.Damage(tuple((p % len(source), m) for p, m in flips), None if cut is None else cut % len(source))
    outcome = soak.run_case(source, damage, tmp_path_factory.mktemp("case"), CASE_LIMIT_S)
    assert outcome is not None, f"readers still running after {CASE_LIMIT_S} s: {damage}"
    assert outcome.tracebacks == [], outcome.tracebacks
    assert outcome.read + outcome.clear_errors == len(soak.READERS)


def _library(tmp_path: Path) -> tuple[Path, Path]:
    library = tmp_path / "library"
    library.mkdir()
    good = library / "good.session.sqlite"
    shutil.copyfile(SAMPLE, good)
    bad = library / "bad.session.sqlite"
    shutil.copyfile(SAMPLE, bad)
    return good, bad


def _set(path: Path, **values: str) -> None:
    db = sqlite3.connect(path)
    db.executemany("INSERT OR REPLACE INTO manifest VALUES (?, ?)", list(values.items()))
    db.commit()
    db.close()


@pytest.mark.parametrize("values", [
    {"ended_host_ns": json.dumps(10**30)},  # absurd: a flipped digit must not make a year-long export
    {"started_host_ns": '"soon"', "ended_host_ns": "[1, 2]"},
    {"started_wall": "1e300", "tags": '{"not": "a list"}', "devices": "7"},
    {"client": "42", "session_id": "null", "format_version": '"two"'},
])
def test_impossible_manifest_values_are_ignored_with_one_line_each(tmp_path, values) -> None:
    good, bad = _library(tmp_path)
    _set(bad, **values)
    session = read_session(bad)
    assert len(session.notifications) == 620
    assert len(session.problems) >= 1 and all("impossible" in p for p in session.problems)
    assert 0 <= session.duration_s < 31 * 24 * 3600
    listed = {s.path.name: s for s in list_sessions(good.parent)}
    assert listed[good.name].status == "complete" and listed[good.name].problem == ""
    assert listed[bad.name].status == "damaged" and "impossible" in listed[bad.name].problem


def test_missing_manifest_keys_still_read(tmp_path) -> None:
    _, bad = _library(tmp_path)
    db = sqlite3.connect(bad)
    db.execute("DELETE FROM manifest WHERE key IN ('started_host_ns', 'started_wall', 'session_id', 'devices')")
    db.commit()
    db.close()
    session = read_session(bad)
    assert len(session.notifications) == 620 and session.duration_s >= 0


def test_a_broken_schema_gives_what_the_pages_hold_and_one_line(tmp_path) -> None:
    good, bad = _library(tmp_path)
    data = bytearray(bad.read_bytes())
    at = data.find(b"CREATE TABLE notifications")
    data[at:at + 6] = b"CRE@TE"  # SQLite can no longer parse the schema
    bad.write_bytes(bytes(data))
    session = read_session(bad)
    assert len(session.notifications) == 620  # salvaged from the pages
    assert any("recovered" in p for p in session.problems)
    listed = {s.path.name: s for s in list_sessions(good.parent)}
    assert listed[good.name].status == "complete"
    assert listed[bad.name].status == "damaged" and listed[bad.name].problem


def test_damaged_bytes_in_the_table_definitions_are_named_in_words_by_every_reader(
        recordings: list[bytes], tmp_path: Path) -> None:
    """A flip inside the schema's text makes SQLite's own messages quote bytes that are not UTF-8 (found by the
    property test above): every reader says it in words, none raises UnicodeDecodeError."""
    from somafeedback.sessions.library import summarize_file
    from somafeedback.sessions.verify import DAMAGED, verify_session

    source = recordings[1]
    at = source.index(b"CREATE TABLE analyses")  # the stored analyses' definition, on the first page
    damaged = bytearray(source)
    damaged[at + 7] = 0xC5  # a lead byte followed by ASCII: not UTF-8
    path = tmp_path / "schema.session.sqlite"
    path.write_bytes(bytes(damaged))
    outcome = soak.read_everything(path)
    assert outcome.tracebacks == [] and outcome.read + outcome.clear_errors == len(soak.READERS)
    verdict = verify_session(path)
    assert verdict.status == DAMAGED and not any("codec" in line for line in verdict.lines)
    assert "codec" not in " ".join(read_session(path).problems)
    assert "codec" not in str(summarize_file(path))
