"""LSL outlets on loopback, read back by real pylsl inlets.

A simulated Polar H10 is recorded through the real BLE path (150 s of session time, so the
60 s time-domain and 64 s breathing/coherence windows become valid and LF/HF is computed),
then the recorded timeline is fed to an :class:`LslOutlets`. LSL delivers an inlet only the
samples pushed after it connected, so the test connects an inlet to each outlet from
``on_outlet_created``, before its first sample. The reference for every value is the
project's own LiveAnalysis (and decode_signals for the raw ECG) run on the same timeline.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from recording_helpers import AnalysisCollector, record_simulated

from somafeedback import __version__
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.devices.events import ContactChange, Notification
from somafeedback.live.lsl_outlets import LslOutlets, LslStream, LslUnavailable, lsl_available, marker_json
from somafeedback.hrv.pipeline import BeatMetrics
from somafeedback.sessions.file import TimelineItem, read_session
from somafeedback.sessions.raw_signals import decode_signals

pylsl = pytest.importorskip("pylsl")

SESSION_S = 150.0  # session seconds recorded
OFFSET_S = 1000.0  # lsl_time = session time + this (given, so every timestamp is known exactly)
TIMEOUT_S = 5.0  # resolving, opening and draining an inlet
STRAP = "strap1"
KINDS = ("HR", "RR", "ECG", "ACC", "Metrics", "Breathing", "Markers")
SESSION_NAME = f"test{os.getpid()}"  # no clash with another test run on this host


def feed(sink: Any, timeline: list[TimelineItem]) -> None:
    for item in timeline:
        (sink.notification if isinstance(item, Notification) else sink.event)(item)


def owned_sockets() -> set[tuple[str, str, str, str]]:
    """(protocol, local address:port in hex, state, inode) of every TCP listening and UDP socket this process holds."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/self/net/{proto}") as table:
            for line in table.read().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if inode in inodes and (proto.startswith("udp") or state == "0A"):  # 0A: LISTEN
                    found.add((proto, local, state, inode))
    return found


def port(socket: tuple[str, str, str, str]) -> int:
    return int(socket[1].rsplit(":", 1)[1], 16)


@dataclass
class Received:
    info: Any  # the full StreamInfo (with desc), from the inlet
    samples: list[Any] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)


@dataclass
class Run:
    timeline: list[TimelineItem]
    reference: AnalysisCollector
    announced: list[LslStream]
    received: dict[str, Received]
    pushed: dict[str, int]
    offset_s: float | None
    sockets_before: set[tuple[str, str, str, str]]
    sockets_streaming: set[tuple[str, str, str, str]]
    sockets_after: set[tuple[str, str, str, str]]


@pytest.fixture(scope="module")
def timeline(tmp_path_factory: pytest.TempPathFactory) -> list[TimelineItem]:
    path = record_simulated(tmp_path_factory.mktemp("lsl") / "h10.session.sqlite", "calm", SESSION_S, seed=3, h10=True)
    return read_session(path).timeline


@pytest.fixture(scope="module")
def run(timeline: list[TimelineItem]) -> Iterator[Run]:
    reference = AnalysisCollector()
    feed(reference, timeline)
    before = owned_sockets()
    outlets = LslOutlets(SESSION_NAME, clock_offset=lambda: OFFSET_S)
    inlets: dict[str, Any] = {}
    announced: list[LslStream] = []

    def connect(stream: LslStream) -> None:  # before the outlet's first sample
        announced.append(stream)
        (info,) = pylsl.resolve_byprop("source_id", stream.source_id, minimum=1, timeout=TIMEOUT_S)
        inlet = pylsl.StreamInlet(info)
        inlet.open_stream(timeout=TIMEOUT_S)
        inlets[stream.kind] = inlet

    outlets.on_outlet_created = connect
    feed(outlets, timeline)
    received: dict[str, Received] = {}
    for kind, inlet in inlets.items():
        got = received[kind] = Received(inlet.info(timeout=TIMEOUT_S))
        expected = outlets.pushed.get(outlets.source_id(None if kind == "Markers" else STRAP, kind), 0)
        deadline = time.monotonic() + TIMEOUT_S
        while len(got.samples) < expected and time.monotonic() < deadline:
            samples, stamps = inlet.pull_chunk(timeout=0.2, max_samples=4096)
            got.samples.extend(samples)
            got.stamps.extend(stamps)
    del inlet
    inlets.clear()  # inlets gone: what remains listening is the outlets'
    streaming = owned_sockets()
    outlets.close()
    deadline = time.monotonic() + TIMEOUT_S
    while owned_sockets() != before and time.monotonic() < deadline:
        time.sleep(0.05)
    yield Run(timeline, reference, announced, received, dict(outlets.pushed), outlets.offset_s,
              before, streaming, owned_sockets())


def reference_metrics(run: Run) -> list[BeatMetrics]:
    return [m for strap, m in run.reference.outputs if strap == STRAP and isinstance(m, BeatMetrics)]


# -- streams and metadata ------------------------------------------------------------------------
def test_every_kind_of_stream_appears_once_with_its_metadata(run: Run) -> None:
    assert sorted(s.kind for s in run.announced) == sorted(KINDS)
    expected_channels = {
        "HR": [("hr", "bpm")], "RR": [("rr", "ms"), ("flagged", "none")], "ECG": [("ECG", "microvolts")],
        "ACC": [("x", "mG"), ("y", "mG"), ("z", "mG")],
        "Metrics": [("hr_bpm", "bpm"), ("rmssd_ms", "ms"), ("ln_rmssd", "ln(ms)"), ("sdnn_ms", "ms"),
                    ("pnn50_pct", "percent"), ("breathing_rate_bpm", "breaths/min"), ("coherence_ratio", "none"),
                    ("lf_ms2", "ms^2"), ("hf_ms2", "ms^2"), ("time_valid", "none")],
        "Breathing": [("rate_bpm", "breaths/min"), ("phase", "cycles"), ("amplitude_mg", "mG"), ("valid", "none"),
                      ("moving", "none"), ("from_chest_motion", "none")],
        "Markers": [("event", "none")],
    }
    rates = {"ECG": 130.0, "ACC": 25.0}
    for kind in KINDS:
        info = run.received[kind].info
        strap_part = "" if kind == "Markers" else f"{STRAP}-"
        assert info.source_id() == f"somafeedback-{SESSION_NAME}-{strap_part}{kind}"
        assert info.name() == ("somafeedback Markers" if kind == "Markers" else f"somafeedback {STRAP} {kind}")
        assert info.type() == kind
        assert info.channel_count() == len(expected_channels[kind])
        assert info.nominal_srate() == rates.get(kind, pylsl.IRREGULAR_RATE)
        assert list(zip(info.get_channel_labels(), info.get_channel_units())) == expected_channels[kind]
        assert info.channel_format() == (pylsl.cf_string if kind == "Markers"
                                         else pylsl.cf_float32 if kind in rates else pylsl.cf_double64)
        desc = info.desc()
        acquisition = desc.child("acquisition")
        assert acquisition.child_value("manufacturer") == "somafeedback"
        # the simulated strap names itself before any data flows
        assert acquisition.child_value("model") == ("somafeedback session events" if kind == "Markers"
                                                    else "Polar H10 SIM00001")
        ours = desc.child("somafeedback")
        assert ours.child_value("version") == __version__
        assert ours.child_value("session") == SESSION_NAME
        assert float(ours.child_value("session_time_offset_s")) == OFFSET_S
        assert "not a medical device" in ours.child_value("notice")
        assert ours.child_value("frequency_conventions") == ("live" if kind == "Metrics" else "")


# -- beats ------------------------------------------------------------------------------------------
def test_hr_and_rr_carry_every_beat_that_fed_the_metrics(run: Run) -> None:
    beats = [m for m in reference_metrics(run) if m.rr_ms is not None]
    assert len(beats) > 130  # ~150 s of a calm heart
    hr, rr = run.received["HR"], run.received["RR"]
    assert len(hr.samples) == len(rr.samples) == len(beats) == run.pushed[f"somafeedback-{SESSION_NAME}-{STRAP}-HR"]
    rr_ms = np.array([b.rr_ms for b in beats])
    np.testing.assert_allclose(np.array(hr.samples)[:, 0], 60000.0 / rr_ms, rtol=1e-12)
    np.testing.assert_allclose(np.array(rr.samples)[:, 0], rr_ms, rtol=1e-12)
    assert [s[1] for s in rr.samples] == [1.0 if b.flagged else 0.0 for b in beats]
    t_s = np.array([b.t_s for b in beats])
    for got in (hr, rr):
        stamps = np.array(got.stamps)
        assert np.all(np.diff(stamps) > 0)
        np.testing.assert_allclose(stamps, t_s + OFFSET_S, rtol=0, atol=1e-9)  # the session's spacing, exactly
    # while the H10's ECG streams, its R peaks time the beats (the strap's RR only check them)
    ecg_beat_times = {round(b.t_s, 9) for _, b in run.reference.outputs
                      if getattr(b, "source", None) == "ecg"}
    assert sum(round(t, 9) in ecg_beat_times for t in t_s) >= 0.95 * len(t_s)


# -- raw signals ------------------------------------------------------------------------------------
def test_ecg_samples_are_the_decoded_samples_in_order_at_their_session_times(run: Run) -> None:
    t_s, uv = decode_signals(run.timeline)[STRAP].ecg_samples()
    assert len(uv) > 140 * 130
    got = run.received["ECG"]
    values = np.array(got.samples, dtype=np.float32)[:, 0]
    np.testing.assert_array_equal(values, uv.astype(np.float32))
    stamps = np.array(got.stamps)
    assert np.all(np.diff(stamps) > 0)
    np.testing.assert_allclose(stamps, t_s + OFFSET_S, rtol=0, atol=1e-9)
    assert np.median(np.diff(stamps)) == pytest.approx(1 / 130, rel=0.01)


def test_acc_samples_are_the_decoded_samples_in_order(run: Run) -> None:
    acc = decode_signals(run.timeline)[STRAP].acc
    t_s = np.concatenate([c.t_s for c in acc])
    mg = np.concatenate([c.mg for c in acc])
    got = run.received["ACC"]
    np.testing.assert_array_equal(np.array(got.samples, dtype=np.float32), mg.astype(np.float32))
    np.testing.assert_allclose(np.array(got.stamps), t_s + OFFSET_S, rtol=0, atol=1e-9)


# -- metrics and breathing -------------------------------------------------------------------------
def test_metrics_are_sent_per_metric_set_and_nan_where_not_valid(run: Run) -> None:
    metrics = reference_metrics(run)
    got = run.received["Metrics"]
    assert len(got.samples) == len(metrics)
    np.testing.assert_allclose(np.array(got.stamps), np.array([m.t_s for m in metrics]) + OFFSET_S, rtol=0, atol=1e-9)
    values = np.array(got.samples)
    rmssd, time_valid = values[:, 1], values[:, 9]
    valid = np.array([m.time.validity.valid for m in metrics])
    assert valid.any() and not valid.all()  # filling during the first minute, valid later
    assert np.array_equal(time_valid == 1.0, valid)
    assert np.all(np.isnan(rmssd[~valid]))  # a filling window's value is not sent as a usable number
    np.testing.assert_allclose(rmssd[valid], [m.time.rmssd_ms for m in metrics if m.time.validity.valid], rtol=1e-12)
    last, last_sent = metrics[-1], values[-1]
    assert last.frequency is not None and last.frequency.validity.valid  # 150 s: LF/HF computed
    assert last_sent[7] == pytest.approx(last.frequency.lf_ms2, rel=1e-12)
    assert last_sent[8] == pytest.approx(last.frequency.hf_ms2, rel=1e-12)
    assert last.coherence is not None and last.coherence.validity.valid
    assert last_sent[6] == pytest.approx(last.coherence.ratio, rel=1e-12)
    assert last_sent[0] == pytest.approx(last.time.hr_bpm, rel=1e-12)


def test_breathing_estimates_are_sent_with_their_validity(run: Run) -> None:
    estimates = [e for _, e in run.reference.outputs if isinstance(e, BreathingEstimate)]
    got = run.received["Breathing"]
    assert len(got.samples) == len(estimates) > 100
    values = np.array(got.samples)
    valid = np.array([e.valid for e in estimates])
    assert valid.any() and not valid.all()  # warming up, then a rate
    assert np.array_equal(values[:, 3] == 1.0, valid)
    np.testing.assert_allclose(values[valid, 0], [e.rate_bpm for e in estimates if e.valid], rtol=1e-12)
    assert np.all(np.isnan(values[~valid, 0]))
    assert np.all(values[:, 5] == 1.0)  # from the chest accelerometer


# -- markers ----------------------------------------------------------------------------------------
def test_markers_carry_links_strap_info_pmd_and_contact_as_json(run: Run) -> None:
    got = run.received["Markers"]
    records = [json.loads(sample[0]) for sample in got.samples]
    kinds = [r["kind"] for r in records]
    assert [r["state"] for r in records if r["kind"] == "link"] == ["connecting", "streaming", "stopped"]
    assert sorted(r["measurement"] for r in records if r["kind"] == "pmd_started") == ["acc", "ecg"]
    assert sorted(r["by"] for r in records if r["kind"] == "pmd_stopped") == ["app", "app"]
    (strap,) = [r for r in records if r["kind"] == "strap"]
    assert strap["name"] == "Polar H10 SIM00001" and "address" not in strap  # the address stays in the file
    contacts = [o for _, o in run.reference.outputs if isinstance(o, ContactChange)]
    assert kinds.count("contact") == len(contacts) >= 1
    assert all(r["strap"] == STRAP for r in records)
    expected_stamps = [e.host_ns / 1e9 + OFFSET_S for e in run.timeline
                       if not isinstance(e, Notification)]  # the session's events (contact changes interleave)
    assert sorted(set(expected_stamps)) == sorted({s for s, k in zip(got.stamps, kinds) if k != "contact"})
    assert np.all(np.diff(got.stamps) >= 0)


def test_marker_json_is_strict_and_keeps_colliding_keys() -> None:
    text = marker_json("note", "s1", {"text": "ok", "kind": "x", "value": math.nan})
    assert json.loads(text) == {"kind": "note", "strap": "s1", "text": "ok", "data_kind": "x", "value": None}
    assert " " not in text.replace('"ok"', "")


# -- sockets ----------------------------------------------------------------------------------------
def test_outlets_listen_while_streaming_and_close_leaves_no_socket(run: Run) -> None:
    opened = run.sockets_streaming - run.sockets_before
    tcp_listening = {s for s in opened if s[0] == "tcp" and s[2] == "0A"}
    assert len(tcp_listening) == len(KINDS)  # one IPv4 TCP data port per outlet ...
    assert len({s for s in opened if s[0] == "tcp6" and s[2] == "0A"}) == len(KINDS)  # ... and one IPv6
    assert len({port(s) for s in tcp_listening}) == len(KINDS)
    assert any(s[0] == "udp" for s in opened)  # service and multicast responders
    assert run.sockets_after == run.sockets_before


# -- errors and laziness ----------------------------------------------------------------------------
def test_lsl_failures_are_logged_once_and_streaming_goes_on(timeline: list[TimelineItem],
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    real = pylsl.StreamOutlet

    class Faulty(real):  # type: ignore[misc, valid-type]
        def __init__(self, info: Any, *args: Any) -> None:
            if info.type() == "ECG":
                raise RuntimeError("could not create stream outlet.")
            super().__init__(info, *args)
            self.kind = info.type()

        def __del__(self) -> None:
            if hasattr(self, "obj"):  # a refused construction has nothing to destroy
                super().__del__()

        def push_sample(self, x: Any, timestamp: float = 0.0, pushthrough: bool = True) -> None:
            if self.kind == "HR":
                raise pylsl.util.InternalError("an internal error has occurred.")
            super().push_sample(x, timestamp, pushthrough)

    monkeypatch.setattr(pylsl, "StreamOutlet", Faulty)
    outlets = LslOutlets(f"{SESSION_NAME}faulty")
    before = pylsl.local_clock()
    feed(outlets, timeline[:1])  # the first event (session time 0) fixes the offset
    after = pylsl.local_clock()
    assert outlets.offset_s is not None and before <= outlets.offset_s <= after
    feed(outlets, timeline[1:])
    outlets.close()
    warnings = [r for r in caplog.records if r.name == "somafeedback.live.lsl_outlets"]
    assert len(warnings) == 2
    assert {w.args[1] for w in warnings} == {"ECG", "HR"}
    sent = {source_id.rsplit("-", 1)[1]: n for source_id, n in outlets.pushed.items()}
    assert "ECG" not in sent and "HR" not in sent
    assert sent["RR"] > 130 and sent["ACC"] > 140 * 25 and sent["Metrics"] > 130


def test_without_pylsl_nothing_is_available(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lsl_available()
    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl now raises ImportError
    assert not lsl_available()
    with pytest.raises(LslUnavailable):
        LslOutlets()


def test_streaming_without_lsl_never_loads_it(tmp_path: Path) -> None:
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from pathlib import Path
from recording_helpers import AnalysisCollector, record_simulated
import somafeedback.live.lsl_outlets, somafeedback.live.stream_printer, somafeedback.live.analysis
collector = AnalysisCollector()
record_simulated(Path({str(tmp_path / 'plain.session.sqlite')!r}), "calm", 20.0, also=collector, h10=True)
assert len(collector.outputs) > 50, len(collector.outputs)
assert "pylsl" not in sys.modules
assert "liblsl" not in open("/proc/self/maps").read()
print("streamed", len(collector.outputs))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("streamed")
