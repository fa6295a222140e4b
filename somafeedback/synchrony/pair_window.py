"""What the live engine hands the practitioner's window for one pair of people: :class:`PairWindow`.

A (``a_strap``) is the practitioner's strap and B (``b_strap``) the other person's (the client's), so a
positive lag means the client's heart rate followed the practitioner's. Each new window of the pair
comes with how the session so far compares with chance (the effect size and the share of windows
that stand out), a timing note when a strap without ECG timed the beats (:data:`PLAIN_STRAP_TIMING`:
its beats are placed by the arrival of the notifications, docs/metrics.md §9) and :func:`describe`'s
plain words: what was measured, never a judgement of either person or of the relationship.

Thread: any (immutable values, pure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from .windows import SyncWindow

PLAIN_STRAP_TIMING: Final = "beat times from a strap without ECG: lag uncertain by up to ~1 s"


@dataclass(frozen=True, slots=True)
class PairWindow:
    """One window of one pair, with the session-so-far summary (None until a chance level is known)."""

    a_strap: str  # the practitioner's strap
    b_strap: str  # the other person's strap: lag_s > 0 means B followed A
    window: SyncWindow
    effect_size: float | None = None
    share_above_chance: float | None = None
    timing_note: str | None = None  # e.g. PLAIN_STRAP_TIMING: why the lag is less certain (None: nothing to add)

    @property
    def pair(self) -> tuple[str, str]:
        return self.a_strap, self.b_strap

    def row(self) -> dict[str, Any]:
        """The window's JSON row with the pair and the summary so far (an LSL sample, a ``--json`` line)."""
        return {"a_strap": self.a_strap, "b_strap": self.b_strap, **self.window.row(),
                "effect_size": self.effect_size, "share_above_chance": self.share_above_chance,
                "timing_note": self.timing_note}

    def text(self, a_name: str = "you", b_name: str = "client") -> str:
        """:func:`describe`'s words, with the timing note when there is one."""
        text = describe(self.window, a_name, b_name)
        return f"{text}; {self.timing_note}" if self.timing_note and self.window.lag_s is not None else text


def describe(window: SyncWindow, a_name: str = "you", b_name: str = "client") -> str:
    """What one window measured, in words, e.g. "heart rates moved together, client ~2.0 s after you,
    r = 0.61, above chance" (with the confounds it carries)."""
    if window.r is None or window.lag_s is None:
        return "not enough clean beats from both people in this window"
    how = "moved together" if window.r > 0 else "moved in opposite directions"
    if abs(window.lag_s) < 0.25:
        timing = "at the same time"
    elif window.lag_s > 0:
        timing = f"{b_name} ~{window.lag_s:.1f} s after {a_name}"
    else:
        timing = f"{a_name} ~{-window.lag_s:.1f} s after {b_name}"
    chance = {True: "above chance", False: "within chance", None: "chance level not known yet"}[window.above_chance]
    text = f"heart rates {how}, {timing}, r = {window.r:.2f}, {chance}"
    if window.confounds:
        text += f" (marked: {', '.join(window.confounds)})"
    return text
