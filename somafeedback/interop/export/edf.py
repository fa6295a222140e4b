"""The ``edf`` export: one EDF+ file with an RR and an HR tachogram per strap, and annotations.

``edf``: one EDF+ file (``EDF+C``) with every strap, ``<stem>.edf``
    * Signals per strap with beats, in order: ``RR <strap>`` (unit ``ms``, physical 0 to
      6553.5, resolution 0.1 ms) and ``HR <strap>`` (unit ``bpm``, physical 0 to 655.35,
      resolution 0.01 bpm), at :data:`EDF_FS_HZ` (4 Hz), 1 s data records. Labels are at most 16
      characters (the strap id is cut to fit).
    * Per strap that streamed raw ECG (a Polar H10): ``ECG <strap>`` (unit ``uV``, physical
      -32768 to 32767, resolution 1 uV) at the strap's ECG rate (130 samples per record), each
      sample at its own recorded time (the strap's clock mapped to the host's); samples
      without data are 0.
    * The tachogram: each beat is a point (beat time, its RR); samples between two consecutive
      beats of one timing segment are linearly interpolated; HR is ``60000 / RR`` per sample.
      Every other sample (before a strap's first beat, after its last, in a gap, a contact loss,
      a timing break, or between the beats of a one-beat segment) is :data:`EDF_FILL` (0:
      no data; RR 0 ms and HR 0 bpm cannot be real). Values are clipped to the physical range.
    * Sample 0 is at the start date/time in the header: the session start, rounded down to the
      whole second, in UTC (EDF has no time zone field). So an event at time ``t`` has the
      onset ``t + (started_wall - floor(started_wall))``.
    * Header: patient code = the client pseudonym (ASCII, spaces as ``_``; ``X`` when unknown
      or de-identified), technician = the practitioner (omitted when de-identified), equipment
      ``somafeedback_<version>`` (EDF+ writes spaces as ``_``).
    * Annotations (UTF-8, at most :data:`EDF_ANNOTATION_BYTES` bytes each, longer text is cut
      and ends in ``...``; the CSV export keeps full texts); ``<strap>`` is appended only when
      the session has more than one strap: ``marker: <label>``, ``note: <text>``,
      ``cue: ...``, ``state: ...``, ``settings: ...`` (other kinds likewise ``<kind>: ...``),
      ``gap (no data) <strap>`` with the gap's duration, ``link <state> <strap>``
      (connecting, streaming, lost, reconnecting, stopped), ``contact lost <strap>`` with the
      duration until ``contact regained <strap>`` (or the end), ``malformed packet <strap>``,
      ``raw data set aside <strap>`` (an ECG or motion frame whose bytes or clock stamp were unusable).
      Onsets before sample 0 are put at 0.

Thread: any.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from somafeedback import __version__
from somafeedback.devices.events import EcgChunk, GapEvent, LinkEvent, MalformedPacket, Notification, TimelineEvent
from somafeedback.sessions.file import TimelineItem
from somafeedback.sessions.raw_signals import raw_frames

from ._context import Context, file_targets, straps_with_beats
from ._writing import ExportError, Outputs, Progress, create_new_file, dedupe

EDF_FS_HZ: Final = 4  # Hz; tachogram sampling rate of the EDF+ signals
EDF_ECG_LIMIT_UV: Final = 32767.0  # physical range of the ECG signals, +- uV (1 uV resolution over int16)
EDF_FILL: Final = 0.0  # value of EDF samples without data (gaps, contact loss, before/after the beats)
EDF_RR_MAX_MS: Final = 6553.5  # physical maximum of the RR signals (0.1 ms resolution over int16)
EDF_HR_MAX_BPM: Final = 655.35  # physical maximum of the HR signals (0.01 bpm resolution over int16)
EDF_ANNOTATION_BYTES: Final = 40  # edflib keeps at most this many bytes of an annotation's text
EDF_LABEL_CHARS: Final = 16  # EDF signal labels are at most 16 characters
EDF_CHUNK_RECORDS: Final = 600  # data records written per call at most (progress and cancel between chunks)
EDF_STREAM_RECORDS: Final = 60  # complete ECG data records (1 s each) kept before they are written while decoding
EDF_MAX_ANNOTATION_SIGNALS: Final = 64  # edflib's maximum annotation signals (one annotation per record each)
EDF_YEARS: Final = (1985, 2084)  # the years an EDF header's dd.mm.yy start date can express
_SUMMARY_KEYS: Final = ("label", "text", "state", "cue", "name", "action", "decision")


def _ascii_field(text: str, limit: int) -> str:
    """An EDF header field: printable ASCII without spaces (spaces become '_'), at most ``limit`` chars."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(c if 32 < ord(c) < 127 else "_" for c in ascii_text.strip())
    return cleaned[:limit]


def _cut_utf8(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` UTF-8 bytes, ending in '...' when cut (never mid-character)."""
    if len(text.encode("utf-8")) <= limit:
        return text
    kept = text.encode("utf-8")[: limit - 3].decode("utf-8", "ignore")
    return kept.rstrip() + "..."


class _Tachogram:
    """One strap's RR at every sample, made a block of samples at a time (never whole): linear
    between consecutive beats of a run, EDF_FILL elsewhere, clipped to the physical range."""

    def __init__(self, times_s: np.ndarray, rr_ms: np.ndarray, runs: np.ndarray) -> None:
        self.runs: list[tuple[np.ndarray, np.ndarray, int, int]] = []  # (times, RR, first, last sample)
        boundaries = np.flatnonzero(np.diff(runs)) + 1
        for t, rr in zip(np.split(times_s, boundaries), np.split(rr_ms, boundaries), strict=True):
            if len(t) >= 2:
                first = max(0, math.ceil(t[0] * EDF_FS_HZ - 1e-9))
                self.runs.append((t, rr, first, math.floor(t[-1] * EDF_FS_HZ + 1e-9)))

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start`` to ``stop - 1`` (each sample's value depends on the beats alone)."""
        signal = np.full(stop - start, EDF_FILL)
        for t, rr, first, last in self.runs:
            low, high = max(first, start), min(last + 1, stop)
            if high > low:
                signal[low - start:high - start] = np.interp(np.arange(low, high) / EDF_FS_HZ, t, rr)
        signal[~np.isfinite(signal)] = EDF_FILL
        return np.clip(signal, 0.0, EDF_RR_MAX_MS)


def _digital(signal: np.ndarray, header: Mapping[str, Any]) -> np.ndarray:
    """Physical values as the nearest digital values (edflib's own conversion truncates toward zero)."""
    low, high = float(header["physical_min"]), float(header["physical_max"])
    d_low, d_high = int(header["digital_min"]), int(header["digital_max"])
    scaled = (np.clip(signal, low, high) - low) * ((d_high - d_low) / (high - low)) + d_low
    return np.clip(np.round(scaled), d_low, d_high).astype(np.int32)


def _runs(times_s: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """A run number per beat: a new run at every segment change or when time does not advance."""
    if len(times_s) == 0:
        return np.zeros(0, dtype=int)
    new = np.concatenate(([False], (np.diff(segments) != 0) | (np.diff(times_s) <= 0)))
    return np.cumsum(new)


def _summary(data: Mapping[str, Any]) -> str:
    for key in _SUMMARY_KEYS:
        value = data.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            return str(value)
    return ", ".join(f"{k}={v}" for k, v in data.items() if not isinstance(v, (dict, list)))


class _Annotated:
    """Watches one walk over the timeline (the beats' walk) and keeps only what the EDF+ file annotates."""

    def __init__(self, ctx: Context, offset_s: float) -> None:
        self.ctx, self.offset_s = ctx, offset_s
        self.found: list[tuple[float, float, str, str | None]] = []  # the strap is named only when there are several
        self.straps: set[str | None] = set()

    def watch(self, timeline: Iterable[TimelineItem]) -> Iterator[TimelineItem]:
        """``timeline``'s items, passed on unchanged."""
        ctx, offset_s, found = self.ctx, self.offset_s, self.found
        for item in timeline:
            if isinstance(item, (Notification, LinkEvent, GapEvent)):
                self.straps.add(item.strap_id)
            if isinstance(item, GapEvent):
                found.append((ctx.rel_s(item.start_ns) + offset_s, item.duration_s, "gap (no data)", item.strap_id))
            elif isinstance(item, LinkEvent):
                found.append((ctx.rel_s(item.host_ns) + offset_s, -1.0, f"link {item.state}", item.strap_id))
            elif isinstance(item, TimelineEvent):
                details = ctx.event_details(item)
                summary = _summary(details)
                text = f"{item.kind}: {summary}" if summary else item.kind
                found.append((ctx.rel_s(item.host_ns) + offset_s, -1.0, text, item.strap_id))
            yield item


def _annotations(ctx: Context, seen: _Annotated, end_s: float,
                 raw: Mapping[str, _EcgScan] | None = None) -> list[tuple[float, float, str]]:
    """(onset, duration or -1, text) of everything the EDF+ file annotates, in time order."""
    offset_s = seen.offset_s
    several = len(ctx.beats) > 1 or len(seen.straps) > 1

    def strap(text: str, strap_id: str | None) -> str:
        return f"{text} {strap_id}" if several and strap_id else text

    out = [(onset, duration, strap(text, strap_id)) for onset, duration, text, strap_id in seen.found]
    for record in ctx.beats.values():
        lost_at: float | None = None
        for change in record.contact_changes:
            at = ctx.rel_s(change.host_ns) + offset_s
            if change.contact is False and lost_at is None:
                lost_at = at
            elif change.contact is not False and lost_at is not None:
                out.append((lost_at, at - lost_at, strap("contact lost", record.strap_id)))
                out.append((at, -1.0, strap("contact regained", record.strap_id)))
                lost_at = None
        if lost_at is not None:
            out.append((lost_at, max(0.0, end_s - lost_at), strap("contact lost", record.strap_id)))
        for packet in record.malformed:
            out.append((ctx.rel_s(packet.host_ns) + offset_s, -1.0, strap("malformed packet", record.strap_id)))
    for signals in (raw or {}).values():  # raw ECG/ACC frames set aside (bad bytes, or a stamp off the strap's clock)
        for packet in signals.set_aside:
            out.append((ctx.rel_s(packet.host_ns) + offset_s, -1.0, strap("raw data set aside", signals.strap_id)))
    cleaned = [(max(0.0, onset), duration, _cut_utf8(" ".join(text.split()), EDF_ANNOTATION_BYTES))
               for onset, duration, text in out]
    return sorted(cleaned, key=lambda a: a[0])


@dataclass
class _EcgScan:
    """What the first walk over a strap's raw frames found (small: no samples are kept)."""

    strap_id: str
    fs: int | None = None  # samples per second (per data record) of its first ECG chunk; None: no ECG
    set_aside: list[MalformedPacket] = field(default_factory=list)  # frames set aside (bad bytes, or a stamp off the clock)


class _EcgIndex:
    """Where an ECG sample goes: its sample number from EDF sample 0 (the strap's clock mapped to the host's)."""

    def __init__(self, start_s: float, offset_s: float) -> None:
        self.start_s, self.offset_s = start_s, offset_s

    def of(self, chunk: EcgChunk, fs: int) -> np.ndarray:
        return np.round((chunk.t_s - self.start_s + self.offset_s) * fs).astype(np.int64)


def _scan_ecg(timeline: Iterable[TimelineItem], where: _EcgIndex, known_records: int
              ) -> tuple[dict[str, _EcgScan], np.ndarray, dict[int, int]]:
    """First walk: per strap its ECG rate and set-aside frames, and per data record the last
    timeline position that puts an ECG sample into it (-1: none), so the second walk knows when a
    record is complete. Records from ``known_records`` on are kept in a dict (rarely any)."""
    scans: dict[str, _EcgScan] = {}
    last = np.full(known_records, -1, dtype=np.int64)
    beyond: dict[int, int] = {}
    for position, strap, chunk in raw_frames(timeline):
        scan = scans.setdefault(strap, _EcgScan(strap))
        if isinstance(chunk, EcgChunk):
            if scan.fs is None:
                scan.fs = round(chunk.fs_hz)
            index = where.of(chunk, scan.fs)
            records = np.unique(index[index >= 0] // scan.fs)
            inside = records[records < known_records]
            last[inside] = position
            for record in records[records >= known_records].tolist():
                beyond[record] = position
        elif isinstance(chunk, MalformedPacket):
            scan.set_aside.append(chunk)
    return scans, last, beyond


class _EcgRecords:
    """The ECG data records not yet written, per strap, filled as the second walk decodes the frames.

    Memory: only the records some sample has reached and that are not yet complete (a sample
    comes at most a few seconds ahead of its neighbours), whatever the session's length.
    """

    def __init__(self, scans: Mapping[str, _EcgScan], where: _EcgIndex, n_records: int) -> None:
        self.rates = {strap: scan.fs for strap, scan in scans.items() if scan.fs is not None}
        self.where = where
        self.n_records = n_records
        self.pending: dict[str, dict[int, np.ndarray]] = {strap: {} for strap in self.rates}

    def add(self, strap: str, chunk: EcgChunk) -> None:
        """One decoded chunk: each sample into its record (a later sample at the same place wins, as before)."""
        fs = self.rates[strap]
        index = self.where.of(chunk, fs)
        inside = (index >= 0) & (index < self.n_records * fs)
        index, uv = index[inside], chunk.uv[inside]
        records = index // fs
        pending = self.pending[strap]
        for record in np.unique(records).tolist():
            here = records == record
            samples = pending.get(record)
            if samples is None:
                samples = pending[record] = np.full(fs, EDF_FILL)
            samples[index[here] - record * fs] = uv[here]

    def take(self, strap: str, first: int, last: int) -> np.ndarray:
        """Records ``first`` to ``last - 1`` of ``strap`` (EDF_FILL where no sample came), forgotten here."""
        fs = self.rates[strap]
        pending = self.pending[strap]
        fill = np.full(fs, EDF_FILL)
        return np.concatenate([pending.pop(record, fill) for record in range(first, last)])


def export_edf(ctx: Context, out: Path | None, outputs: Outputs, progress: Progress) -> None:
    """Write the EDF+ file, data record by data record as the raw frames are decoded (bounded memory).

    The timeline is walked three times (a :class:`~somafeedback.sessions.reader.SessionReader`
    reads the file at each walk, so the timeline is never held): the beats (kept as columns of
    times and RR when ``ctx.beat_columns``) and the annotations; the raw frames, to learn each ECG
    strap's rate, the frames set aside and when each data record is complete; the raw frames again,
    to fill the records and write them as soon as :data:`EDF_STREAM_RECORDS` of them are complete.
    The tachograms (4 Hz) are made a block at a time too. A 24-hour Polar H10 session: peak
    resident memory ~130 MiB, of which ~110 MiB are the imported modules (scipy).
    """
    try:
        import pyedflib
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise ExportError(f"{ctx.session.path}: EDF+ export needs pyedflib ({error})") from error
    start = math.floor(ctx.start_wall)
    offset_s = ctx.start_wall - start  # EDF time of the session start (sample 0 is the whole second before)
    seen = _Annotated(ctx, offset_s)
    if "beats" in vars(ctx):  # measured already: a walk for the annotations alone
        for _ in seen.watch(ctx.session.timeline):
            pass
    else:  # one walk: the beats, and the annotations on the way
        ctx.measure_beats(seen.watch(ctx.session.timeline))
    straps = straps_with_beats(ctx)
    (target,) = file_targets(ctx, outputs, out, "edf", [None])
    temporary = outputs.reserve(target)

    start_time = dt.datetime.fromtimestamp(start, tz=dt.timezone.utc).replace(tzinfo=None)
    if not EDF_YEARS[0] <= start_time.year <= EDF_YEARS[1]:
        raise ExportError(f"{ctx.session.path}: the session start ({start_time:%Y-%m-%d}) is outside the years "
                          f"EDF can store ({EDF_YEARS[0]}-{EDF_YEARS[1]})")
    series = []
    for record in straps:
        times = (record.t_s - ctx.start_ns / 1e9) + offset_s  # ctx.beat_rel_s of every beat
        series.append((record, times, record.rr_ms, _runs(times, record.segments)))
    end_s = max(ctx.duration_s + offset_s, *(float(t[-1]) for _, t, _, _ in series))
    where = _EcgIndex(ctx.start_ns / 1e9, offset_s)
    timeline = ctx.session.timeline
    scans, last_position, beyond = _scan_ecg(timeline, where, max(1, math.ceil(end_s - 1e-9)))
    annotations = _annotations(ctx, seen, end_s, scans)
    annotation_signals = EDF_MAX_ANNOTATION_SIGNALS - 1
    n_records = max(1, math.ceil(end_s - 1e-9), math.ceil(len(annotations) / annotation_signals))
    annotation_signals = min(EDF_MAX_ANNOTATION_SIGNALS, math.ceil(len(annotations) / n_records) + 1)
    progress.set_total(len(straps) + n_records)

    tachograms: list[_Tachogram] = []
    headers: list[dict[str, Any]] = []
    labels = dedupe([_ascii_field(r.strap_id, EDF_LABEL_CHARS - 3) or "strap" for r, _, _, _ in series])
    for (_record, times, rr, runs), label in zip(series, labels, strict=True):
        tachograms.append(_Tachogram(times, rr, runs))
        common = {"sample_frequency": EDF_FS_HZ, "physical_min": 0.0, "digital_min": -32768, "digital_max": 32767,
                  "prefilter": "", "transducer": ""}
        rr_header = {**common, "label": f"RR {label}", "dimension": "ms", "physical_max": EDF_RR_MAX_MS}
        hr_header = {**common, "label": f"HR {label}", "dimension": "bpm", "physical_max": EDF_HR_MAX_BPM}
        headers += [rr_header, hr_header]
        progress.advance()
    ecg = _EcgRecords(scans, where, n_records)
    ecg_straps = list(ecg.rates)  # in the order the straps' raw frames first came (as before)
    for strap_id in ecg_straps:
        label = _ascii_field(strap_id, EDF_LABEL_CHARS - 4) or "strap"
        headers.append({"sample_frequency": ecg.rates[strap_id], "physical_min": -EDF_ECG_LIMIT_UV - 1,
                        "physical_max": EDF_ECG_LIMIT_UV, "digital_min": -32768, "digital_max": 32767, "prefilter": "",
                        "transducer": "chest strap ECG", "label": f"ECG {label}", "dimension": "uV"})
    # complete[r]: the timeline position after which records 0..r hold every sample they will get
    complete = np.full(n_records, -1, dtype=np.int64)
    known = min(n_records, len(last_position))
    complete[:known] = last_position[:known]
    for late, position in beyond.items():
        if late < n_records:
            complete[late] = position
    complete = np.maximum.accumulate(complete)

    patient = (_ascii_field(ctx.client, 40) if ctx.client else "") or "X"
    technician = _ascii_field(ctx.practitioner, 20) if ctx.practitioner else ""
    create_new_file(temporary)  # 0600 before pyedflib writes a byte into it (it keeps the mode)
    writer = pyedflib.EdfWriter(str(temporary), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    written = 0

    def write_until(last: int) -> None:
        """Write data records ``written`` to ``last - 1``, at most EDF_CHUNK_RECORDS per call."""
        nonlocal written
        while written < last:
            upto = min(last, written + EDF_CHUNK_RECORDS)
            block = []
            for k, tachogram in enumerate(tachograms):  # its headers: RR at 2k, HR at 2k + 1
                rr_header, hr_header = headers[2 * k], headers[2 * k + 1]
                rr_signal = tachogram.samples(written * EDF_FS_HZ, upto * EDF_FS_HZ)
                hr_signal = np.divide(60000.0, rr_signal, out=np.full_like(rr_signal, EDF_FILL), where=rr_signal > 0)
                block += [_digital(rr_signal, rr_header).astype(np.int16),
                          _digital(np.clip(hr_signal, 0.0, EDF_HR_MAX_BPM), hr_header).astype(np.int16)]
            block += [_digital(ecg.take(strap, written, upto), header)
                      for strap, header in zip(ecg_straps, headers[2 * len(tachograms):], strict=True)]
            writer.writeSamples(block, digital=True)
            progress.advance(upto - written)
            written = upto

    try:
        writer.setSignalHeaders(headers)
        writer.setStartdatetime(start_time)
        writer.setPatientCode(patient)
        if technician:
            writer.setTechnician(technician)
        writer.setEquipment(_ascii_field(f"somafeedback_{__version__}", 30))
        writer.set_number_of_annotation_signals(annotation_signals)
        if ecg_straps:
            for position, strap, chunk in raw_frames(timeline):
                if isinstance(chunk, EcgChunk) and strap in ecg.rates:
                    ecg.add(strap, chunk)
                ready = int(np.searchsorted(complete, position, side="right"))
                if ready - written >= EDF_STREAM_RECORDS:
                    write_until(ready)
        write_until(n_records)
        for onset, duration, text in annotations:
            writer.writeAnnotation(onset, duration, text)
    finally:
        writer.close()
