"""Private on disk (#22 item 6): folders 0700 and files 0600 for everything the app and the CLI
create in the library (recordings, imports, review-note copies, exports, reports, settings),
temporary files private while they are written, an existing folder open to others tightened with
one message, and ``export --deidentify`` leaving out typed free text (counted) unless ``--keep-notes``.

Modes are read with ``os.stat``; de-identification is checked by searching every byte of every
exported file for words typed into notes, markers, cues and tags of a session recorded through
the real BLE path (simulated strap -> bumble -> bleak -> SessionWriter).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyedflib
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recording_helpers import record_simulated
from session_helpers import REPO, SHARED_DATA

from somafeedback.cli.main import main as cli_main
from somafeedback.devices.events import TimelineEvent
from somafeedback.interop.export import FORMATS, export_session
from somafeedback.interop.export._deidentify import (
    APP_EVENT_KINDS,
    APP_MARKER_LABELS,
    FREE_TEXT_KEYS,
    NEUTRAL_MARKER,
    NOTE_PLACEHOLDER,
    without_free_text,
)
from somafeedback.sessions.file import read_session
from somafeedback.sessions.private import FILE_MODE, FOLDER_MODE, private_folder, set_notice_handler
from somafeedback.sessions.review_notes import add_review_note, copy_for_review

SAMPLE = REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite"
RR_FILE = SHARED_DATA / "rr" / "polar_h10_slow_breathing_ibi.csv"
OPEN_MODE = 0o755  # what mkdir gives under the usual umask 022
TIGHTENED = "now private to your account"  # the one-line message's words

CLIENT = "Wren Halloway"
PRACTITIONER = "Sophie Kaurwitz"
# Words typed into free text below (5+ letters, none of them in any text the app writes itself).
TYPED_WORDS = ("jonathan", "leeds", "maudie", "divorce", "grandmother", "whisper-text")
NAME_WORDS = ("wren", "halloway", "sophie", "kaurwitz")
EVENTS = [  # (session s, kind, data), as the app and the review write them
    (5.0, "note", {"text": "Jonathan rang from Leeds about grandmother"}),
    (8.0, "marker", {"label": "Jonathan called again"}),
    (11.0, "marker", {"label": "resource"}),  # one of the app's own labels: kept
    (14.0, "cue", {"action": "end-offered", "cue_id": None, "kind": "script", "exercise": "grounding",
                   "text": "I stop and call my sister Maudie"}),
    (17.0, "undo", {"of": "marker", "host_ns": 8_000_000_000, "label": "Jonathan called again"}),
    (20.0, "note", {"text": "phase: practice starts", "review": True, "phase": "practice", "author": PRACTITIONER}),
    (23.0, "note", {"text": "The divorce came up here", "review": True, "author": PRACTITIONER}),
    (26.0, "whisper", {"text": "whisper-text", "level": 3}),  # a kind the app does not make itself
    (29.0, "state", {"previous": "settled", "state": "activated", "reason": "heart rate rose"}),
]
REMOVED = {"notes": 1, "review notes": 1, "marker labels": 2, "cue texts": 1, "tags": 1, "other texts": 1}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _tree_modes(root: Path) -> dict[str, int]:
    """The permission bits of ``root`` and of every folder and file below it."""
    modes = {".": _mode(root)}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            modes[str(path.relative_to(root))] = _mode(path)
    return modes


def _assert_private_tree(root: Path) -> None:
    bad = {name: f"{mode:03o}" for name, mode in _tree_modes(root).items()
           if mode != (FOLDER_MODE if (root / name).is_dir() else FILE_MODE)}
    assert bad == {}, f"not private under {root}: {bad}"


def _open_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, OPEN_MODE)
    return path


def _tightened_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if TIGHTENED in line]


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    """A process umask for the block (modes must not depend on it)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@contextmanager
def _notices() -> Iterator[list[str]]:
    said: list[str] = []
    previous = set_notice_handler(said.append)
    try:
        yield said
    finally:
        set_notice_handler(previous)


@pytest.fixture(scope="module")
def typed_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s of a simulated H10 with names and other words typed into notes, markers, a cue and a tag."""
    folder = tmp_path_factory.mktemp("typed")
    manifest = {"client": CLIENT, "practitioner": PRACTITIONER, "mode": "session", "tags": ["Maudie divorce"]}
    return record_simulated(folder / "2024-05-17_142305_Wren-Halloway_0001.session.sqlite", "calm", 60.0,
                            markers=EVENTS, manifest=manifest, h10=True)


# -- the helper ------------------------------------------------------------------------------------
def test_private_folder_creates_each_missing_level_0700_and_tightens_an_open_one_once(tmp_path: Path) -> None:
    with _umask(0o000), _notices() as said:  # the widest umask: modes are set, not left to it
        made = private_folder(tmp_path / "a" / "b" / "library")
        assert _mode(tmp_path / "a") == _mode(tmp_path / "a" / "b") == _mode(made) == FOLDER_MODE and said == []
        existing = _open_folder(tmp_path / "existing")
        private_folder(existing)
        private_folder(existing)
    assert _mode(existing) == FOLDER_MODE
    assert len(said) == 1 and str(existing) in said[0] and "755" in said[0] and TIGHTENED in said[0]


# -- the CLI: record, import, export, report ----------------------------------------------------------
def test_a_recording_creates_only_private_folders_and_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library = tmp_path / "clinic" / "sessions"  # neither exists yet
    with _umask(0o000):
        code = cli_main(["record", "--simulate", "--speed", "max", "--duration", "20", "--recordings", str(library),
                         "--client", "Wren"])
    assert code == 0
    assert [p.name.endswith(".session.sqlite") for p in library.iterdir()] == [True]
    _assert_private_tree(tmp_path / "clinic")
    assert _tightened_lines(capsys.readouterr().err) == []  # made private, not changed: nothing to say


def test_an_open_library_is_made_private_when_recording_with_one_message(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    library = _open_folder(tmp_path / "sessions")
    args = ["record", "--simulate", "--speed", "max", "--duration", "10", "--recordings", str(library)]
    assert cli_main(args) == 0
    lines = _tightened_lines(capsys.readouterr().err)
    assert len(lines) == 1 and str(library) in lines[0] and "755" in lines[0]
    _assert_private_tree(library)
    assert cli_main(args) == 0  # already private: no message again
    assert _tightened_lines(capsys.readouterr().err) == []
    _assert_private_tree(library)


def test_an_import_into_an_open_library_is_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    library = _open_folder(tmp_path / "sessions")
    assert cli_main(["import", str(RR_FILE), "--recordings", str(library), "--client", "Wren"]) == 0
    assert len(_tightened_lines(capsys.readouterr().err)) == 1
    assert len(list(library.glob("*.session.sqlite"))) == 1
    _assert_private_tree(library)
    new = tmp_path / "new" / "sessions"  # made by the import: private from the start, nothing to say
    assert cli_main(["import", str(RR_FILE), "--recordings", str(new)]) == 0
    assert _tightened_lines(capsys.readouterr().err) == []
    _assert_private_tree(tmp_path / "new")


def _partial_modes(folder: Path) -> list[int]:
    return [_mode(p) for p in folder.glob(".*.partial")]


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_and_their_temporary_files_are_private(fmt: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    library = _open_folder(tmp_path / "sessions")
    session_path = library / SAMPLE.name
    shutil.copyfile(SAMPLE, session_path)
    os.chmod(session_path, FILE_MODE)

    # beside the session, in the library: the library is made private (one message) and the files are 0600
    assert cli_main(["export", str(session_path), "--format", fmt, "--recordings", str(library)]) == 0
    captured = capsys.readouterr()
    written = [Path(line) for line in captured.out.splitlines()]
    assert written and all(p.parent == library for p in written)
    assert len(_tightened_lines(captured.err)) == 1
    _assert_private_tree(library)

    # into a new folder: made 0700 (parents too); the temporary files are 0600 while the export is written
    # (seen from the progress call made just before they are moved into place)
    session = read_session(session_path)
    out = tmp_path / "out" / "new"
    target = out if fmt == "csv" else out / f"x.{'txt' if fmt == 'kubios' else 'edf'}"
    seen: list[list[int]] = []
    export_session(session, fmt, target, progress=lambda f: seen.append(_partial_modes(out)) if f == 1.0 else None)
    assert seen and seen[-1] and set(seen[-1]) == {FILE_MODE}
    _assert_private_tree(tmp_path / "out")

    # into a folder the user chose: its own mode is theirs, the files are 0600
    desk = _open_folder(tmp_path / "desk")
    assert cli_main(["export", str(session_path), "--format", fmt, "--out", str(desk), "--recordings", str(library)]) == 0
    assert _mode(desk) == OPEN_MODE and _tightened_lines(capsys.readouterr().err) == []
    assert [_mode(p) for p in desk.iterdir()] == [FILE_MODE] * len(list(desk.iterdir())) != []


def test_the_edf_file_is_private_from_its_first_byte(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pyedflib opens the file by name: it must find a 0600 file, and keep that mode while it writes."""
    modes: list[int] = []

    class Spy(pyedflib.EdfWriter):  # type: ignore[misc]
        def __init__(self, path: str, *args: object, **kwargs: object) -> None:
            super().__init__(path, *args, **kwargs)
            self.spied = path
            modes.append(_mode(Path(path)))

        def writeSamples(self, *args: object, **kwargs: object) -> object:  # noqa: N802 - pyedflib's name
            result = super().writeSamples(*args, **kwargs)
            modes.append(_mode(Path(self.spied)))
            return result

    monkeypatch.setattr(pyedflib, "EdfWriter", Spy)
    with _umask(0o000):
        (path,) = export_session(read_session(SAMPLE), "edf", tmp_path / "x.edf")
    assert len(modes) >= 2 and set(modes) == {FILE_MODE} and _mode(path) == FILE_MODE


def test_a_report_in_the_library_is_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ui.launcher import main as launcher_main

    library = _open_folder(tmp_path / "sessions")
    session_path = library / SAMPLE.name
    shutil.copyfile(SAMPLE, session_path)
    os.chmod(session_path, FILE_MODE)
    assert launcher_main(["report", str(session_path), "--format", "html", "--recordings", str(library)]) == 0
    captured = capsys.readouterr()
    assert Path(captured.out.strip()).parent == library and len(_tightened_lines(captured.err)) == 1
    _assert_private_tree(library)


# -- review-note copies, settings ---------------------------------------------------------------------
def test_a_review_copy_and_its_notes_are_private(tmp_path: Path) -> None:
    library = _open_folder(tmp_path / "sessions")
    with _notices() as said:
        copy = copy_for_review(SAMPLE, library)  # the shipped sample is not in this library: copied into it
        add_review_note(copy, 10_000_000_000, "a review note", "Sophie")
    assert copy.parent == library and len(said) == 1 and TIGHTENED in said[0]
    _assert_private_tree(library)


def test_the_settings_file_and_the_apps_settings_folder_are_private(tmp_path: Path) -> None:
    from PySide6 import QtCore

    from ui.settings import AppSettings

    folder = _open_folder(tmp_path / "somafeedback")
    with _notices():
        app_settings = AppSettings(QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat))
        app_settings.set("people/client", CLIENT)
        app_settings.set_plan_text(CLIENT, "I call my sister")
    assert (folder / "settings.ini").is_file()
    _assert_private_tree(folder)
    other = _open_folder(tmp_path / "elsewhere")  # a store somewhere else: only the file is the app's
    AppSettings(QtCore.QSettings(str(other / "s.ini"), QtCore.QSettings.Format.IniFormat)).set("x", 1)
    assert _mode(other) == OPEN_MODE and _mode(other / "s.ini") == FILE_MODE


# -- de-identification: typed free text --------------------------------------------------------------
def _export_all(session_path: Path, out: Path, *extra: str) -> list[Path]:
    """Every format through the CLI; the files written."""
    files: list[Path] = []
    for fmt in FORMATS:
        folder = out / fmt
        folder.mkdir(parents=True)
        assert cli_main(["export", str(session_path), "--format", fmt, "--out", str(folder), *extra]) == 0
        files += list(folder.iterdir())
    return files


def _found(paths: list[Path], words: tuple[str, ...]) -> list[str]:
    """Each (file, word) whose bytes hold ``word`` in any case (raw bytes, whatever the format)."""
    return [f"{p.name}: {w}" for p in paths for w in words if w.encode() in p.read_bytes().lower()]


def _events(paths: list[Path]) -> list[dict[str, str]]:
    (events,) = [p for p in paths if p.name.endswith("_events.csv")]
    with open(events, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_deidentify_leaves_out_every_typed_text_and_says_what(typed_session: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    plain = _export_all(typed_session, tmp_path / "plain")
    capsys.readouterr()
    assert {w.split(": ")[1] for w in _found(plain, TYPED_WORDS)} == set(TYPED_WORDS)  # the search finds them

    paths = _export_all(typed_session, tmp_path / "deid", "--deidentify")
    said = capsys.readouterr().err
    assert _found(paths, TYPED_WORDS + NAME_WORDS) == []
    assert said.count("typed text left out: 1 note, 1 review note, 2 marker labels, 1 cue text, 1 tag, 1 other text") \
        == len(FORMATS)
    (manifest,) = [json.loads(p.read_text()) for p in paths if p.name.endswith("_manifest.json")]
    assert manifest["free_text_removed"] == REMOVED and manifest["tags"] == []

    # markers keep their time and a neutral label; the app's own label stays; a phase marked in review stays
    events = _events(paths)
    plain_events = _events(plain)
    markers = [(float(r["time_s"]), json.loads(r["details"])) for r in events if r["kind"] == "marker"]
    plain_markers = [float(r["time_s"]) for r in plain_events if r["kind"] == "marker"]
    assert [t for t, _ in markers] == plain_markers
    assert [d for _, d in markers] == [{"label": NEUTRAL_MARKER}, {"label": "resource"}]
    notes = [json.loads(r["details"]) for r in events if r["kind"] == "note"]
    assert notes == [{"text": NOTE_PLACEHOLDER}, {"text": "phase: practice starts", "review": True, "phase": "practice"},
                     {"text": NOTE_PLACEHOLDER, "review": True}]
    (cue,) = [json.loads(r["details"]) for r in events if r["kind"] == "cue"]
    assert cue == {"action": "end-offered", "cue_id": None, "kind": "script", "exercise": "grounding"}
    (edf,) = [p for p in paths if p.suffix == ".edf"]
    with pyedflib.EdfReader(str(edf)) as reader:
        onsets, _, texts = reader.readAnnotations()
    marked = [(round(float(o)), str(t)) for o, t in zip(onsets, texts, strict=True) if str(t).startswith("marker")]
    assert [text for _, text in marked] == ["marker: marker", "marker: resource"]


def test_keep_notes_keeps_typed_text_but_not_names(typed_session: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    paths = _export_all(typed_session, tmp_path / "kept", "--deidentify", "--keep-notes")
    said = capsys.readouterr().err
    found = {w.split(": ")[1] for w in _found(paths, TYPED_WORDS)}
    assert found == set(TYPED_WORDS) and _found(paths, NAME_WORDS) == []
    assert "typed text kept" in said and "left out:" not in said
    (edf,) = [p for p in paths if p.suffix == ".edf"]
    with pyedflib.EdfReader(str(edf)) as reader:
        texts = [str(t) for t in reader.readAnnotations()[2]]
    assert "note: Jonathan rang from Leeds about..." in texts
    (manifest,) = [json.loads(p.read_text()) for p in paths if p.name.endswith("_manifest.json")]
    assert manifest["free_text_removed"] is None and manifest["tags"] == ["Maudie divorce"]


def test_keep_notes_needs_deidentify(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", str(SAMPLE), "--format", "csv", "--keep-notes"]) == 2
    assert "--keep-notes goes with --deidentify" in capsys.readouterr().err


def test_the_app_marker_labels_are_the_ones_the_app_records() -> None:
    """The labels kept are exactly the app's fixed vocabulary (the panel's buttons, mute, movement blocks)."""
    from somafeedback.live.regulation_session import BLOCK_MARKERS, MARKER_KINDS
    from ui.cue_panel import MARKERS

    assert APP_MARKER_LABELS == {label for _, label, _ in MARKERS} | set(MARKER_KINDS) | set(BLOCK_MARKERS)


FIXED_WORDS = " ".join([*APP_MARKER_LABELS, *FREE_TEXT_KEYS, NOTE_PLACEHOLDER, NEUTRAL_MARKER, "review", "true", "false",
                        "count", "marker", "null"])  # what the details may hold besides the typed text
TEXT = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "Zs")), min_size=6, max_size=40).filter(
    lambda t: bool(t.strip()) and t.lower() not in FIXED_WORDS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=TEXT, kind=st.sampled_from(["note", "marker", "cue", "undo", "something-new"]),
       key=st.sampled_from(FREE_TEXT_KEYS), review=st.booleans())
def test_no_typed_text_survives_in_any_event(text: str, kind: str, key: str, review: bool) -> None:
    data: dict[str, object] = {key: text, "review": review, "of": "marker", "count": 3}
    details, removed = without_free_text(TimelineEvent(kind, 0, 0.0, data))
    assert text not in json.dumps(details, ensure_ascii=False)
    relevant = kind not in ("note", "marker", "undo") or key in {"note": ("text", "author"), "marker": ("label",),
                                                                   "undo": ("label",)}[kind]
    assert (removed is not None) == relevant


def test_app_event_kinds_keep_their_texts() -> None:
    """Texts the app writes itself (a method's description, a state's reason) are not typed: kept, not counted."""
    for kind in sorted(APP_EVENT_KINDS):
        data = {"description": "Somatic Experiencing: track and pendulate", "reason": "heart rate rose"}
        assert without_free_text(TimelineEvent(kind, 0, 0.0, data)) == (data, None)


def test_a_shared_or_personal_top_folder_keeps_its_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writing a session straight into /tmp-like (sticky) folder or the home folder never changes
    that folder's mode (a 0700 /tmp breaks every other program); the session file itself is private."""
    from somafeedback.sessions.private import is_shared_place, private_folder

    sticky = tmp_path / "shared"
    sticky.mkdir()
    os.chmod(sticky, 0o1777)
    said: list[str] = []
    private_folder(sticky, said.append)
    assert stat.S_IMODE(os.stat(sticky).st_mode) == 0o1777 and said == []
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(home, 0o755)
    monkeypatch.setenv("HOME", str(home))  # Path.home() reads $HOME: the test's own home folder
    assert is_shared_place(home)
    private_folder(home, said.append)
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o755 and said == []
    library = home / "sessions"  # a folder of its own below home is made private as before
    library.mkdir()
    os.chmod(library, 0o755)
    private_folder(library, said.append)
    assert stat.S_IMODE(os.stat(library).st_mode) == 0o700 and len(said) == 1
