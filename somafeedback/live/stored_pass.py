"""The session report's pass, stored by the recording at its clean end and read back by the report.

A report's slowest part is its one pass of the live analysis over the client strap
(:mod:`.strap_pass`: about 2.6 s for an hour of Polar H10 ECG and chest motion on a 2-core
laptop). The recording runs that same pass over its own rows once, as it ends cleanly, and
keeps the result in the file (:mod:`somafeedback.sessions.stored_analyses`, in the byte form of
:mod:`somafeedback.sessions.analysis_codec`). :func:`stored_pass` gives it back to a report
only when everything it was made with (``made_with``: the pass's version, the app's version,
the strap, the span, the number of rows read) equals what the report would use now; any
difference, a damaged row or bytes the codec refuses, and the report computes it afresh,
exactly as before.

When the recording stores nothing: a stop signal ended it (SIGTERM/SIGHUP must close within
2 s), its timeline holds more than :data:`MAX_STORED_ITEMS` rows (about two hours of H10), or
the pass would take longer than :data:`STORE_WITHIN_S` (it is abandoned): closing stays
bounded, and the report then runs the pass itself.

Thread: :func:`store_pass` the writer's (the BLE loop, at the recording's close); the rest any.
"""

from __future__ import annotations

import functools
import importlib.metadata
import time
from collections.abc import Callable
from typing import Any, Final

import numpy as np

from somafeedback import __version__
from somafeedback.devices.events import Beat, EcgChunk
from somafeedback.hrv.artifacts import FlagReason
from somafeedback.hrv.pipeline import BeatMetrics, BreathingMetrics, CoherenceMetrics, FrequencyDomain
from somafeedback.hrv.time_domain import TimeDomain, WindowValidity
from somafeedback.progress import Cancelled, Progress
from somafeedback.sessions.analysis_codec import CODEC_VERSION, CodecError, decode, encode, type_table
from somafeedback.sessions.file import Finisher, Session, is_review_note
from somafeedback.sessions.span import ReportSpan, report_span
from somafeedback.sessions.stored_analyses import StoredAnalysis
from somafeedback.signals.chest_motion import BreathingEstimate
from somafeedback.signals.raw_signals import BreathingTrace
from .strap_pass import RAW_EXCERPTS, RAW_KEEP_S, StrapPass, analyze_strap, client_strap_of

PASS_NAME: Final = "report-pass"
PASS_VERSION: Final = 1  # bump whenever the pass or StrapPass changes what it holds
MAX_STORED_ITEMS: Final = 25_000  # rows of a recording whose pass is stored (~2 h of H10 ECG + motion, ~5 s)
STORE_WITHIN_S: Final = 5.0  # s the pass may take at the close before it is abandoned (the app waits up to 10 s)
PASS_TYPES: Final = type_table([StrapPass, BeatMetrics, TimeDomain, FrequencyDomain, BreathingMetrics,
                                CoherenceMetrics, WindowValidity, FlagReason, BreathingEstimate, BreathingTrace,
                                Beat, EcgChunk])
# the end reasons that store it (the recorders' own; Ctrl-C is "interrupted"); a stop signal's reason names the signal
CLEAN_ENDS: Final = frozenset({"stopped", "duration reached", "interrupted"})


def finisher(end_reason: str) -> Finisher | None:
    """What a recording ending for ``end_reason`` stores: the pass after a clean end, nothing after a stop signal."""
    return store_pass if end_reason in CLEAN_ENDS else None


class _OutOfTime(Cancelled):
    """The pass took longer than the close may wait."""


def pass_made_with(session: Session, strap: str, span: ReportSpan) -> dict[str, Any]:
    """Everything the report's pass over ``session`` depends on, as JSON values (the numeric libraries'
    versions too: their arithmetic is the pass's)."""
    return {"pass": PASS_VERSION, "codec": CODEC_VERSION, "app_version": __version__, **_library_versions(),
            "strap": strap, "start_ns": span.start_ns, "start_s": span.start_s, "duration_s": span.duration_s,
            "items": sum(not is_review_note(item) for item in session.timeline),  # notes added in review: not read
            "raw_excerpts": RAW_EXCERPTS, "raw_keep_s": RAW_KEEP_S}


@functools.cache
def _library_versions() -> dict[str, str]:
    try:
        scipy = importlib.metadata.version("scipy")
    except importlib.metadata.PackageNotFoundError:  # an app bundle without scipy's metadata
        scipy = "unknown"
    return {"numpy": np.__version__, "scipy": scipy}


def store_pass(session: Session, within_s: float | None = STORE_WITHIN_S,
               clock: Callable[[], float] = time.monotonic) -> list[StoredAnalysis]:
    """The report's pass over a recording that is ending (a :data:`~somafeedback.sessions.file.Finisher`);
    nothing when the recording is too long or the pass takes more than ``within_s`` s of ``clock``
    (None: no limit)."""
    strap = client_strap_of(session)
    if strap is None or len(session.timeline) > MAX_STORED_ITEMS:
        return []
    span = report_span(session)
    progress = Progress(None if within_s is None else _deadline(clock() + within_s, clock))
    progress.set_total(len(session.timeline))
    try:
        found = analyze_strap(session, strap, span.origin_s, span.duration_s, progress, span.start_s)
    except _OutOfTime:
        return []
    return [StoredAnalysis(PASS_NAME, pass_made_with(session, strap, span), encode(found, PASS_TYPES))]


def _deadline(at: float, clock: Callable[[], float]) -> Callable[[float], None]:
    """A progress callback that abandons the pass once ``clock`` passes ``at``."""
    def check(_fraction: float) -> None:
        if clock() > at:
            raise _OutOfTime()
    return check


def stored_pass(session: Session, strap: str, span: ReportSpan) -> StrapPass | None:
    """The pass the recording stored, when it was made exactly as the report would make it now; else None."""
    stored = session.analyses.get(PASS_NAME)
    if stored is None or stored.made_with != pass_made_with(session, strap, span):
        return None
    try:
        found = decode(stored.data, PASS_TYPES)
    except CodecError:
        return None
    return found if isinstance(found, StrapPass) else None


__all__ = ["CLEAN_ENDS", "MAX_STORED_ITEMS", "PASS_NAME", "PASS_TYPES", "PASS_VERSION", "STORE_WITHIN_S", "finisher",
           "pass_made_with", "store_pass", "stored_pass"]
