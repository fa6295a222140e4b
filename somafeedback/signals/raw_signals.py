"""Per strap: the Polar H10's raw ECG and chest motion -> R-peak beats, breathing, movement.

* Data frames are decoded and timed by :class:`~somafeedback.devices.pmd_stream.PmdStream`
  (device clock mapped to the host's): ECG and acceleration chunks go out as they are, for
  the ECG strip and the record; a frame it sets aside (unreadable bytes, a stamp off the
  strap's clock) goes out as its malformed packet and feeds nothing else here.
* R peaks are found in every ECG chunk as it arrives (:class:`~.ecg_peaks.EcgPeakDetector`,
  at most one frame late); each becomes a :class:`~somafeedback.devices.events.Beat` with
  ``source="ecg"``: its time from the strap's clock mapped onto the session's, its RR from the
  samples between R peaks (the strap's own clock, so a correction of the time map, which can
  move a beat, never distorts an interval). A chunk that does not follow on from
  the previous one starts a new beat segment.
* Breathing comes from the accelerometer (:class:`~.chest_motion.ChestMotion`: rate, phase,
  amplitude, movement), or, while no acceleration streams, from the ECG
  (:class:`~.ecg_respiration.EcgRespiration`, R-amplitude modulation), about once a second.
  The projected breathing trace goes out chunk by chunk for drawing.
* A whole recording read at once may have its R peaks and chest motion computed elsewhere (second
  processes, :mod:`somafeedback.live.raw_ahead`): a :class:`RawSource` then answers each ECG and
  acceleration chunk with what :meth:`StrapRawSignals.ecg_outputs` / :meth:`~StrapRawSignals.chest_outputs`
  give for it, the same items in the same order.

Thread: the loop that delivers the notifications (synchronous, one instance per strap).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import numpy as np

from .chest_motion import BreathingEstimate, ChestMotion
from somafeedback.devices.events import AccChunk, Beat, EcgChunk, GapEvent, MalformedPacket, Notification, TimelineEvent
from somafeedback.devices.pmd_stream import PmdStream
from .ecg_peaks import EcgPeakDetector
from .ecg_respiration import EcgRespiration

ECG_SEGMENT_BASE: Final = 1_000_000  # ECG beat segments are numbered from here (strap RR segments from 0)
ECG_IDLE_S: Final = 3.0  # s without an ECG chunk after which the strap's own RR take over again
EDR_EVERY_S: Final = 1.0  # s between ECG-derived breathing estimates
TIME_MAP_S: Final = 4.0  # s of sample times kept to place R peaks (the detector looks back less)
TICKS_PER_S: Final = 1024  # RR units of a Beat


@dataclass(frozen=True, slots=True, eq=False)
class BreathingTrace:
    """The breathing movement of the chest along its main axis (mG), for drawing."""

    strap_id: str
    t_s: np.ndarray
    mg: np.ndarray  # nan while the wearer moves


RawItem = EcgChunk | AccChunk | MalformedPacket | Beat | BreathingEstimate | BreathingTrace
Chunk = EcgChunk | AccChunk
ChunkOutputs = Callable[[Any], "list[RawItem]"]  # an ECG chunk -> its beats (and breathing); acceleration -> breathing, trace


class RawSource(Protocol):
    """Answers a strap's ECG and acceleration chunks in order (:meth:`StrapRawSignals.ecg_outputs`,
    :meth:`StrapRawSignals.chest_outputs`)."""

    def outputs(self, strap_id: str, chunk: Chunk, compute: ChunkOutputs) -> list[RawItem]:
        """What ``compute(chunk)`` gives (computed now with it, or earlier elsewhere)."""
        ...


class _TimeMap:
    """Session times of the ECG detector's last ``size`` samples, to place R peaks found at sub-sample indices.

    A Python list trimmed now and then (no array copy per chunk); :meth:`at` is ``np.interp`` on the
    sample grid, computed as np.interp does it (same operations, same result) without building the grid.
    """

    def __init__(self) -> None:
        self._times: list[float] = []
        self._first = 0  # detector index of _times[0]
        self.size = 0  # samples kept (the map covers the last ``size`` samples pushed)

    def extend(self, t_s: np.ndarray, size: int) -> None:
        """Append a chunk's sample times (s); keep the last ``size`` of them."""
        self.size = size
        self._times.extend(t_s.tolist())
        excess = len(self._times) - 2 * size  # trimmed in batches: at most 2 x size held
        if excess > 0:
            del self._times[:excess]
            self._first += excess

    def at(self, index: float) -> float | None:
        """Session time (s) of detector sample ``index`` (fractional: linear between samples), None if no longer kept."""
        times = self._times
        start = max(len(times) - self.size, 0)  # the oldest sample still in the map
        position = index - (self._first + start)  # one subtraction of an integer, as np.interp's caller did
        if position < 0:
            return None
        j = int(position)  # position >= 0: the sample at or before it
        last = len(times) - start - 1
        if j >= last:  # at (or, never for a peak, after) the newest sample
            return times[-1]
        if position == j:
            return times[start + j]
        before, after = times[start + j], times[start + j + 1]
        # np.interp: slope over the unit step, then slope * offset + left value (NaN retry kept)
        slope = after - before
        value = slope * (position - j) + before
        if math.isnan(value):
            value = slope * (position - (j + 1)) + after
            if math.isnan(value) and before == after:
                value = before
        return value

    def clear(self) -> None:
        self._times.clear()
        self._first = 0


class StrapRawSignals:
    """One strap's PMD notifications in; chunks, ECG beats and breathing out."""

    def __init__(self, strap_id: str, breathing: bool = True, ahead: RawSource | None = None) -> None:
        """``breathing=False``: ECG chunks and beats only (no breathing, no trace), for a reader that needs the beats;
        ``ahead``: where each chunk's outputs come from (None: computed here)."""
        self.strap_id = strap_id
        self.breathing = breathing
        self.ahead = ahead
        self.pmd = PmdStream(strap_id)
        self.detector: EcgPeakDetector | None = None
        self.motion: ChestMotion | None = None
        self.edr = EcgRespiration()
        self.segment = ECG_SEGMENT_BASE - 1
        self.last_ecg_s = -np.inf
        self.last_acc_s = -np.inf
        self._times = _TimeMap()  # session times of the detector's recent samples
        self._last_peak: float | None = None  # detector sample index of the previous R peak
        self._next_edr_s = -np.inf
        self._trace_until_s = -np.inf

    def ecg_active(self, now_s: float) -> bool:
        """ECG is streaming: its beats replace the strap's RR."""
        return self.pmd.ecg_running and now_s - self.last_ecg_s <= ECG_IDLE_S

    def event(self, event: TimelineEvent | GapEvent) -> None:
        self.pmd.event(event)
        if isinstance(event, GapEvent):
            self._restart_ecg()
            if self.motion is not None:
                self.motion.reset()
            self.edr.reset()

    def contact_lost(self) -> None:
        """The electrodes lost the skin: the next R peak starts a new beat segment (no RR spans the loss)."""
        self._restart_ecg()
        self.segment += 1

    def link_lost(self) -> None:
        self.pmd.link_lost()
        self.last_ecg_s = -np.inf

    def feed(self, notification: Notification) -> list[RawItem]:
        out: list[RawItem] = []
        for item in self.pmd.feed(notification):
            out.append(item)
            if isinstance(item, EcgChunk):
                self.last_ecg_s = float(item.t_s[-1])
                out.extend(self._answer(item, self.ecg_outputs))
            elif isinstance(item, AccChunk) and self.breathing:
                self.last_acc_s = float(item.t_s[-1])
                out.extend(self._answer(item, self.chest_outputs))
        return out

    def _answer(self, chunk: Chunk, compute: ChunkOutputs) -> list[RawItem]:
        return self.ahead.outputs(self.strap_id, chunk, compute) if self.ahead is not None else compute(chunk)

    # -- ECG ----------------------------------------------------------------------------------
    def _restart_ecg(self) -> None:
        if self.detector is not None:
            self.detector.reset()
        self._times.clear()
        self._last_peak = None

    def ecg_outputs(self, chunk: EcgChunk) -> list[RawItem]:
        """One ECG chunk through the R-peak detector: its beats, and the ECG's breathing estimate when due."""
        if self.detector is None or self.detector.fs_hz != chunk.fs_hz:  # first chunk, or the stream restarted at another rate
            self._restart_ecg()
            self.detector = EcgPeakDetector(chunk.fs_hz)
            self.segment += 1
        elif not chunk.contiguous:
            self._restart_ecg()
            self.segment += 1
        self._times.extend(chunk.t_s, int(TIME_MAP_S * chunk.fs_hz))
        out: list[RawItem] = []
        for peak in self.detector.push(chunk.uv):
            t_s = self._times.at(peak.index)
            if t_s is None:
                continue  # older than the time map: cannot be placed
            self.edr.push_peak(t_s, peak.amplitude_uv)
            if self._last_peak is not None:  # RR on the strap's own sample clock: exact, whatever the time map does
                rr_ms = (peak.index - self._last_peak) * 1000.0 / chunk.fs_hz
                out.append(Beat(self.strap_id, t_s, round(rr_ms * TICKS_PER_S / 1000.0), rr_ms, self.segment,
                                chunk.arrival_ns, chunk.seq, 0, True, source="ecg"))
            self._last_peak = peak.index
        if self.breathing and not self.pmd.acc_running and self.last_ecg_s >= self._next_edr_s:
            self._next_edr_s = self.last_ecg_s + EDR_EVERY_S
            estimate = self.edr.estimate(self.last_ecg_s)
            if estimate is not None:
                out.append(estimate)
        return out

    # -- chest motion ---------------------------------------------------------------------------
    def chest_outputs(self, chunk: AccChunk) -> list[RawItem]:
        """One acceleration chunk through the chest motion: its breathing estimate (if refreshed) and trace."""
        if self.motion is None or self.motion.fs_hz != chunk.fs_hz:  # first chunk, or restarted at another rate
            self.motion = ChestMotion(chunk.fs_hz)
        elif not chunk.contiguous:
            self.motion.reset()
        out: list[RawItem] = []
        estimate = self.motion.push(chunk.t_s, chunk.mg)
        if estimate is not None:
            out.append(estimate)
        t, mg = self.motion.trace(len(chunk.t_s) / chunk.fs_hz + 1.0)
        fresh = int(t.searchsorted(self._trace_until_s, side="right"))  # times never decrease: the fresh ones end it
        if fresh < len(t):
            self._trace_until_s = t.item(-1)
            out.append(BreathingTrace(self.strap_id, t[fresh:], mg[fresh:]))
        return out
