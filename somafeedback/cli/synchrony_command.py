"""``somafeedback synchrony A B``: how two recordings' heart rates moved together (docs/metrics.md,
"Synchrony between two people"). A and B are session files (or ids) or RR files, read as
``analyze`` reads them; B is placed on A's time axis by their recorded start times or ``--offset``.
Windows are marked with the confounds a session holds (pacer, following, movement, remote clock:
:mod:`.synchrony_spans`) and with a shared breathing rhythm read from both people's beats.

Thread: the main thread (writes to stdout).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .options import add_library_option, library_folder, seconds_arg
from .reading_commands import recording_kind
from .running import EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from somafeedback.synchrony.beats import Beats
    from somafeedback.synchrony.settings import SynchronySettings

    from .synchrony_spans import RecordedSpans

PROG = "somafeedback synchrony"
CSV_COLUMNS = ("start_s", "end_s", "r", "z", "lag_s", "r_at_zero_lag", "above_chance", "confounds")


def add_synchrony(commands: Any) -> None:
    sync = commands.add_parser("synchrony", help="how two people's heart rates moved together (two sessions or RR files)")
    sync.add_argument("a", metavar="A", help="person A: an RR file, a session file, or a session id")
    sync.add_argument("b", metavar="B", help="person B: the same kinds")
    add_library_option(sync)
    output = sync.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object: summary, settings, conventions, windows")
    output.add_argument("--series", action="store_true", help="the windows as CSV")
    sync.add_argument("--offset", type=float, metavar="S",
                      help="B's start minus A's start, s (default: from the recorded start times)")
    sync.add_argument("--strap-a", metavar="ID", help="which strap of session A (default: the client's, as analyze)")
    sync.add_argument("--strap-b", metavar="ID", help="which strap of session B")
    sync.add_argument("--window", type=seconds_arg, default=30.0, metavar="S", help="window length (default 30 s)")
    sync.add_argument("--step", type=seconds_arg, default=5.0, metavar="S", help="one window every S (default 5 s)")
    sync.add_argument("--max-lag", type=seconds_arg, default=5.0, metavar="S", help="lags up to ±S (default 5 s)")
    sync.add_argument("--surrogates", type=int, default=500, metavar="N", help="surrogate pairs, at least 100 (default 500)")
    sync.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the surrogate pairing (default 0)")
    sync.set_defaults(run=_synchrony)


@dataclass(frozen=True)
class Recording:
    """One person's beats (times from the first beat), with where they came from and when they started."""

    beats: Beats
    start_wall: float | None  # Unix seconds of the first beat, when known
    label: str
    spans: RecordedSpans | None = None  # a session's confound spans, on this recording's time axis


def _read(text: str, strap: str | None, args: argparse.Namespace, clock_limit_ms: float) -> Recording:
    """A recording from an RR file or a session (SessionFileError / RRFileError when it cannot be read)."""
    from somafeedback.synchrony.beats import Beats

    path, is_id, is_session = recording_kind(text)
    if is_session:
        from somafeedback.sessions.analysis import session_series
        from somafeedback.sessions.library import find_session

        from .synchrony_spans import recorded_spans

        source = find_session(text, library_folder(args)) if is_id else path
        series = session_series(source, strap)
        t0 = float(series.beat_times_s[0])
        wall = None if series.wall_offset_s is None else t0 + series.wall_offset_s
        straps = [s for s in (args.strap_a, args.strap_b, series.strap_id) if s]
        spans = recorded_spans(source, straps, clock_limit_ms).shifted(-t0)
        return Recording(Beats(series.beat_times_s - t0, series.rr_ms, series.flagged), wall,
                         f"{series.source.name} (strap {series.strap_id})", spans)
    import numpy as np

    from somafeedback.interop.rr_files import RRFileError, read_rr_file

    rr = read_rr_file(text)
    if len(rr.rr_ms) < 2:
        raise RRFileError(text, "fewer than two beats")
    t = rr.beat_times_s if rr.beat_times_s is not None else np.cumsum(rr.rr_ms) / 1000.0
    return Recording(Beats.judged(t - t[0], rr.rr_ms), rr.start_wall_time, f"{rr.source.name} ({rr.format} format)")


def _synchrony(args: argparse.Namespace) -> int:
    from somafeedback.interop.rr_files import RRFileError
    from somafeedback.sessions.file import SessionFileError
    from somafeedback.synchrony.dyad import analyse_dyad
    from somafeedback.synchrony.settings import SynchronySettings

    from .synchrony_spans import confound_spans

    try:
        settings = SynchronySettings(window_s=args.window, step_s=args.step, max_lag_s=args.max_lag,
                                     surrogates=args.surrogates, seed=args.seed)
    except ValueError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    try:
        limit = settings.clock_uncertain_ms
        a, b = _read(args.a, args.strap_a, args, limit), _read(args.b, args.strap_b, args, limit)
    except (RRFileError, SessionFileError, OSError) as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return EXIT_USAGE
    offset, how = _offset(args, a, b)
    b_beats = b.beats.shifted(offset)
    recorded = [spans for spans in (a.spans, None if b.spans is None else b.spans.shifted(offset)) if spans is not None]
    spans = confound_spans(recorded, _shared_breathing(a.beats, b_beats, settings))
    result = analyse_dyad(a.beats, b_beats, settings, spans)
    result["alignment"] = {"offset_s": offset, "how": how, "a": a.label, "b": b.label}
    if not result["windows"]:
        print(f"{PROG}: the two recordings do not overlap by one {settings.window_s:g} s window "
              f"(with ±{settings.max_lag_s:g} s of lag) once aligned ({how})", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result))
    elif args.series:
        _print_series(result["windows"])
    else:
        print_text(result)
    return EXIT_OK


def _shared_breathing(a: Beats, b: Beats, settings: SynchronySettings) -> tuple[tuple[float, float], ...]:
    """Where both people's beats show one breathing rhythm, over the span both recordings cover."""
    from somafeedback.synchrony.breathing import shared_breathing_spans

    first_a, first_b, last_a, last_b = a.first_accepted_s(), b.first_accepted_s(), a.last_s(), b.last_s()
    if first_a is None or first_b is None or last_a is None or last_b is None:
        return ()
    return shared_breathing_spans(a, b, max(first_a, first_b), min(last_a, last_b), settings)


def _offset(args: argparse.Namespace, a: Recording, b: Recording) -> tuple[float, str]:
    """B's start minus A's (s) and how it was found."""
    if args.offset is not None:
        return float(args.offset), "--offset"
    if a.start_wall is not None and b.start_wall is not None:
        return b.start_wall - a.start_wall, "recorded start times"
    return 0.0, "first beats together (a recording has no clock time; use --offset)"


def _print_series(windows: list[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for w in windows:
        writer.writerow(["" if w[c] is None else ";".join(w[c]) if c == "confounds" else w[c] for c in CSV_COLUMNS])


def print_text(result: dict[str, Any]) -> None:
    """What was measured, in words."""
    s, settings, align = result["summary"], result["settings"], result["alignment"]
    print(f"A: {align['a']}\nB: {align['b']}\n  aligned by {align['how']}: B starts {align['offset_s']:+.1f} s after A")
    print(f"  {s['windows']} windows of {settings['window_s']:g} s every {settings['step_s']:g} s, lags ±{settings['max_lag_s']:g} s; "
          f"{s['windows_with_value']} with both heart rates")
    share = s["share_above_chance"]
    if share is None:
        print("  too short to set a chance level (the surrogates need windows far enough apart)")
    else:
        lag = s["lag_s"]
        when = "" if lag is None else (f", B ~{lag:.1f} s after A" if lag > 0 else f", A ~{-lag:.1f} s after B" if lag < 0
                                       else ", at the same time")
        print(f"  heart rates moved together beyond chance in {100 * share:.0f} % of windows{when} "
              f"(effect size against chance {s['effect_size']:.2f}; {settings['surrogates']} surrogates, seed {settings['seed']})")
        if s.get("lag_supported") is False:
            from somafeedback.synchrony.dyad import LAG_SUPPORT_FACTOR

            print(f"  that lag comes from few windows: fewer than {100 * LAG_SUPPORT_FACTOR * settings['alpha']:.0f} % "
                  f"stood out, and chance alone lets about {100 * settings['alpha']:.0f} % stand out, so it may be chance")
        if s["in_phase_share_of_above_chance"] is not None:
            print(f"  of those, {100 * s['in_phase_share_of_above_chance']:.0f} % in phase (both up together), the rest anti-phase")
    marked = ", ".join(f"{name}: {n}" for name, n in s["confounded_windows"].items() if n)
    if marked:
        print(f"  windows marked ({marked}); their values are kept")
    slow = result.get("slow")
    if slow:
        ci, rsa = slow["concordance"]["index"], slow["rsa_synchrony"]["mean_r"]
        print(f"  concordance index of HR slopes: {'--' if ci is None else f'{ci:.2f}'}; "
              f"mean RSA synchrony r: {'--' if rsa is None else f'{rsa:.2f}'}")
