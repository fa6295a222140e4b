"""One session, one beat series: the beats every reader measures, chosen by the live rule.

A Polar H10 gives two beat series: its own RR (Heart Rate service) and the R peaks the app
finds in its raw ECG. The live analysis (:class:`~somafeedback.live.analysis.LiveAnalysis`,
which replay, the app and the report run) measures, per strap:

* while the strap's ECG streams (:meth:`StrapRawSignals.ecg_active`: ECG started and a chunk
  within the last ``ECG_IDLE_S``), the ECG R-peak beats, each checked against the strap's RR
  (:class:`~somafeedback.signals.rr_crosscheck.RrCrossCheck`: a disagreement flags the beat);
  the strap's RR of that time are not measured;
* elsewhere the strap's RR;
* a lost link, lost skin contact or a gap breaks the windows (and the artifact rule starts
  afresh), as does a change of beat segment.

:func:`session_beats` walks a recorded timeline through the same building blocks in the same
order, without the metric windows, so ``analyze`` and the exports measure exactly the beats
(times, RR, artifact verdicts, gap-free segments) that replay, the app and the report measure.
``tests/test_one_beat_series.py`` holds it to the live analysis beat for beat. Each strap's
series says where its beats came from (:func:`beat_source_text`).

This lives in ``sessions/`` (below ``live/`` and ``interop/``) so that ``analyze`` (cli), the
export (interop, which may not import live) and the report can all call it.

Thread: any (pure; one pass over the timeline).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from somafeedback.devices.events import (
    Beat,
    ContactChange,
    GapEvent,
    LinkEvent,
    LinkState,
    MalformedPacket,
    Notification,
    SourceEvent,
    TimelineEvent,
)
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.devices.heart_rate_stream import HeartRateStream
from somafeedback.hrv.artifacts import ArtifactDetector
from somafeedback.signals.raw_signals import StrapRawSignals
from somafeedback.signals.rr_crosscheck import CheckedBeat, RrCrossCheck

from .beats import BeatColumns, StrapBeats, beat_source_text

__all__ = ["ECG_SOURCE", "beat_source_text", "session_beats"]

ECG_SOURCE: Final = "ecg"  # Beat.source of an R-peak beat


class _Strap:
    """One strap's decoders and the series being built (the metric pipeline's beat bookkeeping)."""

    def __init__(self, strap_id: str) -> None:
        self.stream = HeartRateStream(strap_id)
        self.raw: StrapRawSignals | None = None
        self.crosscheck: RrCrossCheck | None = None
        self.detector = ArtifactDetector()
        self.breaks = 0  # windows broken by a gap, lost contact or lost link
        self.last_segment: int | None = None
        self.ids: dict[tuple[int, int], int] = {}

    def start_raw(self, strap_id: str) -> StrapRawSignals:
        if self.raw is None:
            self.raw = StrapRawSignals(strap_id, breathing=False)  # the beats only: breathing never changes them
            self.crosscheck = RrCrossCheck()
        return self.raw


class _Chooser:
    """Walks a timeline as :class:`LiveAnalysis` (metrics on) does and keeps the beats it measures."""

    def __init__(self, columns: bool = False) -> None:
        self.straps: dict[str, _Strap] = {}
        self.out: dict[str, StrapBeats] = {}
        self.columns = columns

    def strap(self, strap_id: str) -> _Strap:
        if strap_id not in self.straps:
            self.straps[strap_id] = _Strap(strap_id)
        if strap_id not in self.out:
            self.out[strap_id] = StrapBeats(strap_id, columns=BeatColumns() if self.columns else None)
        return self.straps[strap_id]

    # -- the series -------------------------------------------------------------------------
    def measure(self, strap_id: str, beat: Beat, disagrees: bool = False) -> None:
        """One measured beat, judged as the metric pipeline judges it."""
        state, record = self.straps[strap_id], self.out[strap_id]
        if state.last_segment is not None and beat.segment != state.last_segment:
            state.detector.reset()
        state.last_segment = beat.segment
        flagged = True if disagrees else state.detector.judge(beat.rr_ms).flagged  # a disagreement teaches nothing
        record.add(beat)
        record.flagged.append(flagged)
        record.segment_ids.append(state.ids.setdefault((state.breaks, beat.segment), len(state.ids)))
        if beat.source == ECG_SOURCE:
            record.ecg_beats += 1
        else:
            record.strap_beats += 1

    def measure_checked(self, strap_id: str, checked: list[CheckedBeat]) -> None:
        for c in checked:
            self.measure(strap_id, c.beat, c.agrees is False)

    def gap(self, strap_id: str) -> None:
        """The windows break (the pipeline's gap): the artifact rule and the segments start afresh."""
        state = self.straps[strap_id]
        state.detector.reset()
        state.last_segment = None
        state.breaks += 1

    def flush(self, strap_id: str) -> None:
        state = self.straps[strap_id]
        if state.crosscheck is not None:
            self.measure_checked(strap_id, state.crosscheck.flush())

    # -- the timeline ---------------------------------------------------------------------
    def notification(self, n: Notification) -> None:
        strap_id = n.strap_id
        state = self.strap(strap_id)
        record = self.out[strap_id]
        if n.characteristic != HEART_RATE_MEASUREMENT:
            for raw in state.start_raw(strap_id).feed(n):
                if isinstance(raw, Beat) and state.crosscheck is not None:
                    self.measure_checked(strap_id, state.crosscheck.add_ecg(raw))
            return
        ecg = state.raw is not None and state.raw.ecg_active(n.host_ns / 1e9)
        if not ecg:  # the ECG stopped: what it left is decided before the strap's RR resume
            self.flush(strap_id)
        for item in state.stream.feed(n):
            lost_contact = isinstance(item, ContactChange) and item.contact is False
            if lost_contact:
                self.flush(strap_id)
                if state.raw is not None:
                    state.raw.contact_lost()
            if isinstance(item, ContactChange):
                record.contact_changes.append(item)
            elif isinstance(item, MalformedPacket):
                record.malformed.append(item)
            if isinstance(item, Beat):
                if ecg and state.crosscheck is not None:  # the ECG times the beats; the strap's RR only check them
                    self.measure_checked(strap_id, state.crosscheck.add_strap(item.t_s, item.rr_ms, item.segment))
                else:
                    self.measure(strap_id, item)
            elif lost_contact:
                self.gap(strap_id)

    def event(self, event: SourceEvent) -> None:
        if isinstance(event, TimelineEvent) and event.kind == "seek":  # every strap starts afresh
            for strap_id, old in self.straps.items():
                fresh = self.straps[strap_id] = _Strap(strap_id)
                fresh.breaks, fresh.ids = old.breaks + 1, old.ids  # segments never merge across the seek
            return
        if isinstance(event, TimelineEvent) and event.kind.startswith("pmd_") and event.strap_id is not None:
            self.strap(event.strap_id).start_raw(event.strap_id).event(event)
            return
        if isinstance(event, GapEvent):
            state = self.strap(event.strap_id)
            state.stream.gap(event)
            if state.raw is not None and state.crosscheck is not None:
                state.raw.event(event)
                state.crosscheck.reset()
            self.gap(event.strap_id)
        elif isinstance(event, LinkEvent) and event.state is LinkState.LOST:
            state = self.strap(event.strap_id)
            if state.raw is not None:
                state.raw.link_lost()
            self.flush(event.strap_id)
            self.gap(event.strap_id)


def session_beats(timeline: Iterable[Notification | SourceEvent], columns: bool = False) -> dict[str, StrapBeats]:
    """Per strap (in the order the timeline first names them), the beats the live analysis
    measures: ECG R-peak beats while the ECG streams, the strap's RR elsewhere, with the live
    artifact verdicts, gap-free segments and the counts behind :attr:`StrapBeats.beat_source`.
    Straps that gave no beat are kept (their contact changes and malformed packets).

    As live, ECG beats still waiting for the strap's RR when the recording ends (at most
    ``rr_crosscheck.TIMEOUT_S`` of them) are not measured. ``columns``: the beats kept as
    :class:`~somafeedback.sessions.beats.BeatColumns` (times and RR; no Beat objects)."""
    chooser = _Chooser(columns)
    for item in timeline:
        if isinstance(item, Notification):
            chooser.notification(item)
        else:
            chooser.event(item)
    return chooser.out
