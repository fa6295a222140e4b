"""No strap input escapes the stream layers (#22 item 4).

The material is real protocol bytes: a Polar H10 session recorded through the real BLE path
(simulated strap -> bumble -> bleak -> supervisor -> SessionWriter), whose ECG and
acceleration frames the project's encoder built and whose Heart Rate notifications follow the
Bluetooth layout. Hypothesis then perturbs them as a strap (or a damaged recording) might:
device stamps anywhere in 0..2**64-1, run backwards, jump by any amount, a clock reset for
the rest of the session; payloads truncated or extended, sample counts changed, measurement
and frame types rewritten, arbitrary bytes; RR values anywhere in 0..65535; settings no strap
should confirm; gaps, lost links, seeks, duplicated and swapped notifications.

Every perturbed timeline goes through the PMD and Heart Rate stream layers, through
LiveAnalysis (the live and replay path) and through the session decoders (EDF export,
reports): nothing may raise, and every notification must be accounted for, as data checked
against decoders written here, or as one malformed packet / clock reset that keeps its bytes.
A session holding hostile frames then replays, exports to EDF and gives a report, and each
says that the frames were set aside.

Run time on the 2-core dev VM: about 20 s for the module at the default 80 examples per fuzz
test (recording the 60 s session ~1 s); SOMAFEEDBACK_FUZZ_EXAMPLES=5000 makes it a soak.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from recording_helpers import record_simulated

from somafeedback.devices.device_clock import RESET_JUMP_S
from somafeedback.devices.events import (
    AccChunk,
    Beat,
    ClockReset,
    EcgChunk,
    GapEvent,
    LinkEvent,
    LinkState,
    MalformedPacket,
    Notification,
    TimelineEvent,
)
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT, POLAR_PMD_DATA
from somafeedback.devices.heart_rate import encode_measurement
from somafeedback.devices.heart_rate_stream import HeartRateStream
from somafeedback.devices.pmd_stream import UNREADABLE, PmdStream
from somafeedback.live.analysis import LiveAnalysis
from somafeedback.sessions.beats import decode_beats
from somafeedback.sessions.file import read_session, write_session
from somafeedback.sessions.raw_signals import decode_signals

Item = Any  # a timeline item: Notification | SourceEvent

INT64_MAX: Final = 2**63 - 1
UINT64: Final = 2**64
FUZZ_EXAMPLES: Final = int(os.environ.get("SOMAFEEDBACK_FUZZ_EXAMPLES", "80"))  # per fuzz test; the suite runs on a 2-core CI box (a soak sets more)
SLACK_S: Final = 1e-3  # s: the clock map floors to whole ns; a sample time is never later than its arrival beyond this

# An independent reading of the uncompressed frames the H10 sends (Polar's layout, research/ble.md §4):
# (measurement type, frame type) -> (channels, bytes per channel value), values signed little-endian.
RAW_LAYOUTS: Final = {(0, 0): (1, 3), (2, 0): (3, 1), (2, 1): (3, 2), (2, 2): (3, 3)}


# -- the material ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s of a simulated Polar H10 (ECG 130 Hz, acceleration, Heart Rate) recorded through the real BLE path."""
    return record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 60.0, h10=True)


@pytest.fixture(scope="module")
def manifest(recording: Path) -> dict[str, Any]:
    return dict(read_session(recording).manifest)


class Timeline(list[Item]):
    """A recorded timeline that hypothesis names briefly when it reports an example."""

    def __repr__(self) -> str:
        return f"<the recorded timeline: {len(self)} items>"


@pytest.fixture(scope="module")
def timeline(recording: Path) -> list[Item]:
    items = Timeline(read_session(recording).timeline)
    kinds = {getattr(i, "characteristic", None) for i in items}
    assert {POLAR_PMD_DATA, HEART_RATE_MEASUREMENT} <= kinds  # both streams are there to perturb
    return items


def pmd_stamp(payload: bytes) -> int | None:
    return int.from_bytes(payload[1:9], "little") if len(payload) >= 9 else None


def with_stamp(payload: bytes, stamp: int) -> bytes:
    return payload[:1] + (stamp % UINT64).to_bytes(8, "little") + payload[9:]


def indices(items: Sequence[Item], characteristic: str) -> list[int]:
    return [i for i, item in enumerate(items) if isinstance(item, Notification) and item.characteristic == characteristic]


# -- independent decoders (the test's own, written from the layouts) --------------------------
def raw_frame_values(payload: bytes) -> np.ndarray | None:
    """The samples of a well-formed uncompressed ECG/ACC frame, (n, channels); None for anything else."""
    if len(payload) < 10 or payload[9] & 0x80:
        return None
    layout = RAW_LAYOUTS.get((payload[0] & 0x3F, payload[9] & 0x7F))
    if layout is None:
        return None
    channels, width = layout
    body = payload[10:]
    if not body or len(body) % (channels * width):
        return None
    values = [int.from_bytes(body[k:k + width], "little", signed=True) for k in range(0, len(body), width)]
    return np.array(values, dtype=np.float64).reshape(-1, channels)


def hr_fields(payload: bytes) -> tuple[bool | None, list[int]] | None:
    """(contact, RR ticks) of a well-formed Heart Rate Measurement (0x2A37); None when malformed."""
    if not payload:
        return None
    flags = payload[0]
    pos = 1 + (2 if flags & 0x01 else 1) + (2 if flags & 0x08 else 0)
    if len(payload) < pos:
        return None
    rest = payload[pos:]
    if (rest and not flags & 0x10) or len(rest) % 2:
        return None
    contact = bool(flags & 0x02) if flags & 0x04 else None
    return contact, [rest[k] | rest[k + 1] << 8 for k in range(0, len(rest), 2)]


# -- perturbations --------------------------------------------------------------------------
HOSTILE_SETTINGS: Final = (0, -1, None, math.nan, math.inf, 65535, "x", 1e300, 2**70, 99, True, 9, 10, 2000, 25, 200)
SETTING_KEYS: Final = ("sample_rate", "resolution", "factor", "type", "range")
KINDS: Final = (
    "stamp", "shift", "nudge", "rewind", "reset", "truncate", "extend", "resize", "mtype", "frame_type", "blob",
    "hr_rr", "hr_bytes", "settings", "gap", "link_lost", "seek", "duplicate", "swap",
)
edits = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 2**20), st.integers(0, UINT64 - 1), st.binary(max_size=48)),
    min_size=1, max_size=16,
)


def perturb(base: Sequence[Item], plan: Sequence[tuple[str, int, int, bytes]]) -> list[Item]:
    """The timeline with each edit of ``plan`` applied in turn (kind, where, a number, some bytes)."""
    items = list(base)
    for kind, where, value, blob in plan:
        pmd, hr = indices(items, POLAR_PMD_DATA), indices(items, HEART_RATE_MEASUREMENT)
        at = where % len(items)
        if kind in ("stamp", "shift", "nudge", "rewind", "reset", "truncate", "extend", "resize", "mtype",
                    "frame_type", "blob") and pmd:
            i = pmd[where % len(pmd)]
            note: Notification = items[i]
            p = note.payload
            stamp = pmd_stamp(p) or 0
            if kind == "stamp":
                p = with_stamp(p, value)  # anywhere in 0..2**64-1
            elif kind == "shift":
                p = with_stamp(p, stamp + value)  # any jump, forwards or (wrapping) backwards
            elif kind == "nudge":
                p = with_stamp(p, max(0, stamp + value % 20_000_000_000 - 10_000_000_000))  # within +-10 s
            elif kind == "rewind":
                p = with_stamp(p, max(0, stamp - value % 10**15))  # backwards, up to ~12 days
            elif kind == "reset":  # the strap's clock set anew: every later frame moves with it
                delta = value % 10**15 - 5 * 10**14
                for j in pmd[where % len(pmd):]:
                    q = items[j].payload
                    if len(q) >= 9:
                        items[j] = dataclasses.replace(items[j], payload=with_stamp(q, max(0, (pmd_stamp(q) or 0) + delta)))
                continue
            elif kind == "truncate":
                p = p[:value % (len(p) + 1)]
            elif kind == "extend":
                p = p + blob
            elif kind == "resize" and len(p) > 10:  # a whole number of samples more or fewer (zero included)
                size = 3 if p[0] & 0x3F == 0 else 6  # ECG: 3 bytes; the H10's ACC (type 1): 3 x 2
                body = p[10:]
                count = value % (2 * len(body) // size + 2)
                p = p[:10] + (body * (count // max(1, len(body) // size) + 1))[:count * size]
            elif kind == "mtype" and p:
                p = bytes([value & 0xFF]) + p[1:]
            elif kind == "frame_type" and len(p) >= 10:
                p = p[:9] + bytes([value & 0xFF]) + p[10:]
            elif kind == "blob":
                p = blob
            items[i] = dataclasses.replace(note, payload=p)
        elif kind in ("hr_rr", "hr_bytes") and hr:
            i = hr[where % len(hr)]
            if kind == "hr_rr":  # any RR the layout can carry, with any contact state
                rr = [int.from_bytes(blob[k:k + 2], "little") for k in range(0, len(blob) - 1, 2)][:12]
                contact = (None, True, False)[value % 3]
                payload = encode_measurement(value % 256, rr, contact=contact, energy_kj=None if value & 8 else value % 65536)
            else:
                payload = blob
            items[i] = dataclasses.replace(items[i], payload=payload)
        elif kind == "settings":
            started = [j for j, item in enumerate(items) if isinstance(item, TimelineEvent) and item.kind == "pmd_started"]
            if started:
                j = started[where % len(started)]
                data = dict(items[j].data)
                key = SETTING_KEYS[value % len(SETTING_KEYS)]
                if value & 0x100:
                    data.pop(key, None)
                else:
                    data[key] = HOSTILE_SETTINGS[(value >> 3) % len(HOSTILE_SETTINGS)]
                items[j] = dataclasses.replace(items[j], data=data)
        elif kind == "gap":
            ns = getattr(items[at], "host_ns", 0)
            items.insert(at, GapEvent("strap1", ns - value % 5_000_000_000, ns))
        elif kind == "link_lost":
            items.insert(at, LinkEvent("strap1", LinkState.LOST, getattr(items[at], "host_ns", 0), 0.0))
        elif kind == "seek":
            items.insert(at, TimelineEvent("seek", getattr(items[at], "host_ns", 0), 0.0, {"to_ns": value % 10**11}))
        elif kind == "duplicate":
            items.insert(at, items[at])
        elif kind == "swap" and at + 1 < len(items):
            items[at], items[at + 1] = items[at + 1], items[at]
    return items


# -- feeding the layers ---------------------------------------------------------------------
def feed_pmd(items: Sequence[Item]) -> list[tuple[Notification, list[Any], PmdStream]]:
    """Every PMD data notification with what the stream layer made of it (routed as replay routes events)."""
    streams: dict[str, PmdStream] = {}
    out = []
    for item in items:
        if isinstance(item, TimelineEvent) and item.kind == "seek":
            streams.clear()
            continue
        strap = getattr(item, "strap_id", None)
        if strap is None:
            continue
        stream = streams.setdefault(strap, PmdStream(strap))
        if isinstance(item, (GapEvent, TimelineEvent)):
            stream.event(item)
        elif isinstance(item, LinkEvent) and item.state is LinkState.LOST:
            stream.link_lost()
        elif isinstance(item, Notification) and item.characteristic == POLAR_PMD_DATA:
            out.append((item, stream.feed(item), stream))
    return out


def feed_hr(items: Sequence[Item]) -> list[tuple[Notification, list[Any]]]:
    streams: dict[str, HeartRateStream] = {}
    out = []
    for item in items:
        if isinstance(item, TimelineEvent) and item.kind == "seek":
            streams.clear()
        elif isinstance(item, GapEvent):
            streams.setdefault(item.strap_id, HeartRateStream(item.strap_id)).gap(item)
        elif isinstance(item, Notification) and item.characteristic == HEART_RATE_MEASUREMENT:
            out.append((item, streams.setdefault(item.strap_id, HeartRateStream(item.strap_id)).feed(item)))
    return out


def run_live(items: Sequence[Item]) -> list[Any]:
    analysis = LiveAnalysis(metrics=True)
    out: list[Any] = []
    for item in items:
        produced = analysis.on_notification(item) if isinstance(item, Notification) else analysis.on_event(item)
        out.extend(output for _, output in produced)
    return out


def check_pmd(fed: list[tuple[Notification, list[Any], PmdStream]]) -> int:
    """Every PMD data notification is its data or one set-aside packet; returns how many were set aside."""
    set_aside = 0
    for note, items, _ in fed:
        assert len(items) == 1, (note, items)
        (item,) = items
        stamp = pmd_stamp(note.payload)
        if isinstance(item, MalformedPacket):
            set_aside += 1
            assert item.payload == note.payload and item.seq == note.seq and item.host_ns == note.host_ns
            assert UNREADABLE not in item.error and "set aside" in item.error, item.error
            continue
        assert isinstance(item, (EcgChunk, AccChunk))
        assert stamp is not None and stamp <= INT64_MAX  # no stamp beyond any clock becomes data
        values = item.uv if isinstance(item, EcgChunk) else item.mg
        expected = raw_frame_values(note.payload)
        if expected is not None:  # the samples are exactly the bytes' (uncompressed frames)
            assert np.array_equal(values.reshape(expected.shape), expected)
        arrival_s = note.host_ns / 1e9
        n = len(item.t_s)
        assert n == len(values) and np.all(np.isfinite(item.t_s)) and np.all(np.diff(item.t_s) >= 0)
        assert item.t_s[-1] <= arrival_s + SLACK_S  # no sample after its own arrival
        assert item.t_s[0] >= arrival_s - RESET_JUMP_S - 1.5 * n / item.fs_hz - 1.0  # nor long before it
    return set_aside


def check_hr(fed: list[tuple[Notification, list[Any]]]) -> int:
    malformed = 0
    for note, items in fed:
        fields = hr_fields(note.payload)
        if fields is None:
            assert [type(i) for i in items] == [MalformedPacket] and items[0].payload == note.payload
            malformed += 1
            continue
        contact, rr = fields
        assert not any(isinstance(i, MalformedPacket) for i in items)
        beats = [i for i in items if isinstance(i, Beat)]
        assert [b.rr_1024 for b in beats] == ([] if contact is False else rr)
        assert all(math.isfinite(b.t_s) for b in beats)
    return malformed


# -- the fuzz -------------------------------------------------------------------------------
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=edits)
def test_no_perturbed_input_escapes_any_stream_layer(timeline: list[Item], plan: list[tuple[str, int, int, bytes]]) -> None:
    items = perturb(timeline, plan)
    fed = feed_pmd(items)
    pmd_set_aside = check_pmd(fed)
    for kind in sorted({type(out[0]).__name__ for _, out, _ in fed}):
        event(f"PMD frames gave {kind}")
    if any(stream.clock.resets for _, _, stream in fed):
        event("the clock map restarted (a reset confirmed)")
    hr_malformed = check_hr(feed_hr(items))

    outputs = run_live(items)
    packets = [o for o in outputs if isinstance(o, MalformedPacket)]
    assert len(packets) == pmd_set_aside + hr_malformed  # live sets aside exactly what the layers did
    assert all(UNREADABLE not in p.error for p in packets)

    signals = decode_signals(items)  # what the EDF export and the reports decode
    assert sum(s.malformed for s in signals.values()) == pmd_set_aside
    beats = decode_beats(items)
    assert sum(len(b.malformed) for b in beats.values()) == hr_malformed


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(stamps=st.lists(st.integers(0, UINT64 - 1), min_size=1, max_size=40), arrivals=st.lists(st.integers(0, 10**13), min_size=1, max_size=40))
def test_any_sequence_of_stamps_is_data_or_a_clock_reset(timeline: list[Item], stamps: list[int], arrivals: list[int]) -> None:
    """Real ECG and ACC frames carrying any stamps at any arrival times: only data or clock resets."""
    frames = [timeline[i] for i in indices(timeline, POLAR_PMD_DATA)]
    started = [item for item in timeline if isinstance(item, TimelineEvent) and item.kind == "pmd_started"]
    stream = PmdStream("strap1")
    for event in started:
        stream.event(event)
    host = 0
    for k, stamp in enumerate(stamps):
        host += arrivals[k % len(arrivals)]
        note = dataclasses.replace(frames[k % len(frames)], host_ns=host, payload=with_stamp(frames[k % len(frames)].payload, stamp))
        fed = [(note, stream.feed(note), stream)]
        check_pmd(fed)
        (item,) = fed[0][1]
        if isinstance(item, MalformedPacket):
            assert isinstance(item, ClockReset) and item.device_ns == stamp  # the payload is a real frame: only its stamp can be wrong
        if stamp > INT64_MAX:
            assert isinstance(item, ClockReset)


# -- stray stamps and real resets -----------------------------------------------------------
def ecg_run(items: Sequence[Item]) -> list[tuple[Notification, Any, PmdStream]]:
    return [(note, out[0], stream) for note, out, stream in feed_pmd(items)]


@pytest.mark.parametrize("stray", ["zero", "int64 max", "2**63", "uint64 max", "10 s back", "1 h ahead", "repeated"])
def test_a_stray_stamp_costs_its_own_frame_only(timeline: list[Item], stray: str) -> None:
    pmd = indices(timeline, POLAR_PMD_DATA)
    i = pmd[len(pmd) // 2]
    stamp = pmd_stamp(timeline[i].payload) or 0
    previous = next(pmd_stamp(timeline[j].payload) for j in reversed(pmd[:pmd.index(i)])
                    if timeline[j].payload[0] == timeline[i].payload[0])
    value = {"zero": 0, "int64 max": INT64_MAX, "2**63": 2**63, "uint64 max": UINT64 - 1, "10 s back": stamp - 10**10,
             "1 h ahead": stamp + 3600 * 10**9, "repeated": previous}[stray]
    items = list(timeline)
    items[i] = dataclasses.replace(items[i], payload=with_stamp(items[i].payload, value))
    clean = ecg_run(timeline)
    fed = ecg_run(items)
    for (note, item, stream), (_, reference, _) in zip(fed, clean, strict=True):
        if note is items[i]:
            assert isinstance(item, ClockReset) and item.device_ns == value and "set aside" in item.error
            continue
        assert isinstance(item, (EcgChunk, AccChunk)), item
        # the clock map kept its fit: every other frame lands where it did without the stray
        assert np.allclose(item.t_s, reference.t_s, rtol=0.0, atol=0.05)
    assert fed[-1][2].clock.resets == 0


@pytest.mark.parametrize("delta_s", [-86400.0, -3.0, 3.0, 3 * 3600.0])
def test_a_real_clock_reset_costs_one_frame_then_timing_restarts(timeline: list[Item], delta_s: float) -> None:
    pmd = indices(timeline, POLAR_PMD_DATA)
    first = pmd[len(pmd) // 2]
    items = list(timeline)
    for j in pmd[pmd.index(first):]:
        items[j] = dataclasses.replace(items[j], payload=with_stamp(items[j].payload, (pmd_stamp(items[j].payload) or 0) + int(delta_s * 1e9)))
    clean = ecg_run(timeline)
    fed = ecg_run(items)
    set_aside = [note for note, item, _ in fed if isinstance(item, MalformedPacket)]
    assert set_aside == [items[first]] and isinstance(fed[pmd.index(first)][1], ClockReset)
    assert "jumped" in fed[pmd.index(first)][1].error
    assert fed[-1][2].clock.resets == 1
    for (note, item, _), (_, reference, _) in zip(fed[pmd.index(first) + 1:], clean[pmd.index(first) + 1:], strict=True):
        assert abs(item.t_s[-1] - reference.t_s[-1]) < 0.25  # placed again near where the strap measured it


# -- end to end: a recording holding hostile frames -------------------------------------------
HOSTILE_STAMPS: Final = {"uint64 max": UINT64 - 1, "2**63": 2**63, "zero": 0, "a day back": -86400 * 10**9}


@dataclasses.dataclass
class StillClock:
    """A writer's clock that does not advance (the whole timeline is written at once)."""

    wall: float

    def now(self) -> float:
        return 0.0

    def now_ns(self) -> int:
        return 0

    def wall_time(self) -> float:
        return self.wall


def hostile_session(timeline: Sequence[Item], manifest: dict[str, Any], path: Path) -> tuple[Path, int]:
    """The recording with hostile PMD frames inserted (copies of real frames with bad stamps, a truncated
    one, one of a measurement never started) and a malformed Heart Rate notification; and their count."""
    pmd = indices(timeline, POLAR_PMD_DATA)
    items = list(timeline)
    inserted: list[tuple[int, Notification]] = []
    for k, stamp in enumerate(HOSTILE_STAMPS.values()):
        source = timeline[pmd[(k + 1) * len(pmd) // 6]]
        value = stamp if stamp >= 0 else (pmd_stamp(source.payload) or 0) + stamp
        inserted.append((pmd[(k + 1) * len(pmd) // 6] + 1, dataclasses.replace(source, payload=with_stamp(source.payload, value))))
    source = timeline[pmd[-3]]
    inserted.append((pmd[-3] + 1, dataclasses.replace(source, payload=source.payload[:17])))  # truncated mid-sample
    inserted.append((pmd[-2] + 1, dataclasses.replace(source, payload=b"\x01" + source.payload[1:])))  # PPG: never started
    for at, note in sorted(inserted, key=lambda x: x[0], reverse=True):
        items.insert(at, note)
    seq = 10**6  # fresh sequence numbers: each notification stays its own row
    items = [dataclasses.replace(item, seq=(seq := seq + 1)) if isinstance(item, Notification) else item for item in items]
    kept = {key: manifest[key] for key in ("client", "mode", "started_wall", "started_host_ns", "straps") if key in manifest}
    write_session(path, kept, items, StillClock(float(manifest["started_wall"])), end_reason="duration reached")
    return path, len(inserted)


@pytest.fixture(scope="module")
def qt_app() -> Any:
    from somafeedback.ui.report.render import ensure_app

    return ensure_app()


def test_a_recording_with_hostile_frames_replays_exports_and_reports(
        timeline: list[Item], manifest: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], qt_app: Any) -> None:
    import pyedflib

    from somafeedback.cli.main import main
    from somafeedback.ui.report.render import render_session_report

    path, hostile = hostile_session(timeline, manifest, tmp_path / "hostile.session.sqlite")

    assert main(["replay", str(path), "--speed", "max"]) == 0
    replayed = capsys.readouterr().out
    assert replayed.count("set aside") == hostile, replayed
    assert replayed.count("clock") >= len(HOSTILE_STAMPS)  # the stamps are named as the strap's clock

    assert main(["export", str(path), "--format", "edf", "--out", str(tmp_path)]) == 0
    (edf,) = [Path(p) for p in capsys.readouterr().out.split() if p.endswith(".edf")]
    with pyedflib.EdfReader(str(edf)) as reader:
        texts = [str(t) for t in reader.readAnnotations()[2]]
        assert any(label.startswith("ECG") for label in reader.getSignalLabels())
    assert sum("set aside" in t for t in texts) == hostile, texts

    report = render_session_report(path, "html", tmp_path / "report.html")
    assert "raw data frames were set aside" in Path(report).read_text(encoding="utf-8")
