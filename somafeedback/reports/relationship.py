"""The "relationship" timeline of a recording with two people's straps: how their heart rates moved together.

:func:`session_relationship` takes a recording's timeline, reads the practitioner's strap
(:data:`PRACTITIONER_STRAP`, A) and the client's (:data:`~somafeedback.sessions.client_strap.CLIENT_STRAP`, B)
as the live analysis measures them (accepted beats, the live artifact verdicts), both on the session's
clock (seconds since ``origin_ns``: one computer, one clock, no offset), and runs
:func:`~somafeedback.synchrony.dyad.analyse_dyad` on them. The review window draws the result beside
the session's cues, markers and notes; the session report adds the same figure and
:meth:`Relationship.summary_text` / :meth:`Relationship.settings_text`: what was measured and how
(docs/metrics.md, "Synchrony between two people"). It is a reflection aid for the practitioner,
never a score of either person or of the relationship.

Confounds: the recording's artifacts and gaps are marked; pacer and movement spans are not read
from recordings yet (the live engine marks them; see docs/metrics.md).

Thread: any (pure; about a second for an hour of two people's beats, so the app runs it on a worker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from somafeedback.devices.events import Notification
from somafeedback.sessions.beat_series import session_beats
from somafeedback.sessions.client_strap import CLIENT_STRAP
from somafeedback.synchrony.beats import Beats
from somafeedback.synchrony.dyad import analyse_dyad
from somafeedback.synchrony.settings import SynchronySettings

PRACTITIONER_STRAP: Final = "strap2"  # the strap panel's practitioner (ui/device_panel.py ROLES; dyad scenarios)
RELATIONSHIP_CAVEAT: Final = ("A reflection aid: it shows when two heart rates moved together and with what lag, "
                              "against the chance level of this recording. It is not a score of either person or of "
                              "the relationship; a lag is the lag of best alignment, not proof that one person leads, "
                              "and both hearts also follow shared events (a noise, a laugh, standing up).")


@dataclass(frozen=True)
class Relationship:
    """``analyse_dyad``'s result for the practitioner (A) and one other person (B), times in session seconds."""

    a_strap: str
    b_strap: str
    result: dict[str, Any]

    @property
    def windows(self) -> list[dict[str, Any]]:
        return list(self.result["windows"])

    def summary_text(self, a_name: str = "the practitioner", b_name: str = "the client") -> str:
        """What was measured over the whole recording, in words."""
        s = self.result["summary"]
        if not s["windows_with_value"]:
            return "No window had enough clean beats from both people to compare their heart rates."
        share = s["share_above_chance"]
        if share is None:
            return (f"{s['windows_with_value']} windows had both heart rates; the recording is too short to set a "
                    "chance level (the surrogates need windows far enough apart), so no window is judged.")
        lag = s["lag_s"]
        timing = ("" if lag is None else f", {b_name} ~{lag:.1f} s after {a_name}" if lag >= 0.25
                  else f", {a_name} ~{-lag:.1f} s after {b_name}" if lag <= -0.25 else ", at the same time")
        text = (f"Heart rates moved together beyond chance in {100 * share:.0f} % of the {s['windows_with_value']} "
                f"windows with both heart rates{timing} (median lag of those windows); effect size against chance "
                f"{s['effect_size']:.2f}.")
        if s["in_phase_share_of_above_chance"] is not None:
            text += (f" Of those windows, {100 * s['in_phase_share_of_above_chance']:.0f} % were in phase (both up "
                     "together), the rest anti-phase (one up as the other went down).")
        marked = ", ".join(f"{name}: {n}" for name, n in s["confounded_windows"].items() if n)
        if marked:
            text += f" Windows marked ({marked}) keep their values."
        return text

    def settings_text(self) -> str:
        """How the numbers were made: the settings, the chance level and the conventions."""
        st, chance = self.result["settings"], self.result["chance"]
        return (f"Windowed cross-correlation of the two instantaneous heart rates (accepted beats only, resampled at "
                f"{st['fs_hz']:g} Hz, each window detrended): windows of {st['window_s']:g} s every {st['step_s']:g} s, "
                f"lags ±{st['max_lag_s']:g} s; per window the signed peak r and its lag (positive: {self.b_strap} "
                f"after {self.a_strap}). Chance level from {chance['surrogates']} segment-shuffled surrogate pairs "
                f"(seed {chance['seed']}); a window stands out when its peak |z| is above the "
                f"{100 * (1 - st['alpha']):.0f}th percentile of the surrogates; effect size = (mean peak |z| − "
                "surrogate mean) / surrogate SD.")


def dyad_straps(straps: Iterable[str]) -> tuple[str, str] | None:
    """(A, B) when the practitioner's strap and the client's both gave beats (else None)."""
    present = set(straps)
    if PRACTITIONER_STRAP in present and CLIENT_STRAP in present:
        return PRACTITIONER_STRAP, CLIENT_STRAP
    return None


def session_relationship(timeline: Iterable[object], origin_ns: int,
                         settings: SynchronySettings = SynchronySettings()) -> Relationship | None:
    """The relationship timeline of a recording (None: it holds no two straps of practitioner and client)."""
    items = list(timeline)
    if dyad_straps({item.strap_id for item in items if isinstance(item, Notification)}) is None:
        return None  # one person's session: no second pass over its beats (an H10's ECG peaks are found again)
    straps = {strap: record for strap, record in session_beats(items).items()  # type: ignore[arg-type]
              if len(record.beats) >= 2}
    pair = dyad_straps(straps)
    if pair is None:
        return None
    a, b = (Beats(straps[s].t_s - origin_ns / 1e9, straps[s].rr_ms, np.array(straps[s].flagged, dtype=bool))
            for s in pair)
    return Relationship(pair[0], pair[1], analyse_dyad(a, b, settings))
