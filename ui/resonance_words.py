"""The words of the breathing-rate assessment in the app: the practitioner's step view, the client's screen
and the client's words at home (issue #19).

The practitioner sees what was measured, with its unit (breaths/min, bpm, ms²/Hz, degrees); the client sees
no numbers during the run (the pacer, the step and the rest in plain words) and, at home, one plain sentence at
the end, never a diagnosis nor a judgement. A step the client did not follow is "not assessable", never "low".

Thread: any (pure functions and constants).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from somafeedback.regulation.exercises import ASSESSMENT_ROLE


SETTLE_TEXT: Final = "settling: the first {settle:.0f} s of a step are not measured"
MEASURING_TEXT: Final = "measuring"
REST_TEXT: Final = "rest: breathe as you like"
BEGIN_TEXT: Final = "The assessment is starting."
STOPPED_TEXT: Final = "Stopped by the {by}."
DONE_TEXT: Final = "All steps done."
RATE_TEXT: Final = "{rate:.1f} breaths a minute"
STEP_TEXT: Final = "step {number} of {count}"
STEP_AGAIN_TEXT: Final = "step {number} of {count}, again"
TIME_LEFT_TEXT: Final = "{left} left in this step"
REST_LEFT_TEXT: Final = "{left} of rest left"
NOT_YET: Final = "not yet"
NOT_MEASURED: Final = "—"
FOLLOW_NO: Final = "no: not assessable"
USE_RATE_TEXT: Final = "Use {rate:g} breaths/min as {client}'s rate"
USE_RATE_NO_CLIENT: Final = "Use {rate:g} breaths/min as the client's rate"
RATE_SAVED_TEXT: Final = "Saved: {rate:g} breaths/min is {client}'s breathing rate for the pacer and home practice."
RATE_BAD_TEXT: Final = "Type a breathing rate between 3 and 10 breaths a minute (for example 5.5)."
NO_CLIENT_TEXT: Final = "Name the client first (Session → Settings…), so the rate can be kept for them."
NO_ASSESSMENT_TEXT: Final = ("The “Assess breathing rate” exercise file is missing, so the assessment runs with "
                             "the documented default steps.")
RESULT_UNREADABLE_TEXT: Final = "The assessment's result could not be read; the steps above show what was measured."
CAUTION_TITLE: Final = "Before you start"
OVER_BREATHING_TEXT: Final = ("Slow breathing can feel light-headed or tingly when the breaths are too deep: "
                              "then stop and breathe normally.")

# (key in StepMeasures.as_dict, what the step view shows)
CRITERIA: Final = (
    ("peak_trough_hr_bpm", "Heart-rate rise and fall per breath"),
    ("lf_peak", "LF peak"),
    ("spectral_peaks", "Peaks in the LF band"),
    ("hr_breath_phase_deg", "Heart rate vs breath (phase)"),
    ("following", "Following the pacer"),
)

# the client's screen: the pacer and the step in words, never a number measured
CLIENT_STEP_TEXT: Final = "Breathe along with the circle, if that feels comfortable. You can stop at any time."
CLIENT_REST_TEXT: Final = "A short rest: breathe as you like."
CLIENT_BEGIN_TEXT: Final = ("We will try a few slow breathing paces. Breathe gently, not deeply; if you feel "
                            "light-headed or tingly, stop and breathe normally.")
CLIENT_END_TEXT: Final = "That was the last part. Breathe as you like."
CLIENT_STOPPED_TEXT: Final = "The breathing practice has stopped. Breathe as you like."
# the client's words at home when the run ends
HOME_RESULT_TEXT: Final = ("Your heart rate rose and fell most with your breath at about {rate} breaths a minute; "
                           "your practitioner can help you use it.")
HOME_NO_RESULT_TEXT: Final = ("This time no single breathing pace stood out; that happens often, and your "
                              "practitioner can help you try again another day.")
HOME_STOP_LABEL: Final = "Stop"
HOME_STOP_TIP: Final = "Stop the breathing-rate practice here; breathe as you like"


def clock_text(seconds: float) -> str:
    """``m:ss`` of a non-negative duration (rounded up, so 0:00 shows only at the end)."""
    whole = max(0, math.ceil(seconds - 1e-9))
    return f"{whole // 60}:{whole % 60:02d}"


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def criteria_texts(measures: Mapping[str, Any] | None, final: bool) -> dict[str, str]:
    """What each criterion row shows for a step's ``measures`` (StepMeasures.as_dict), so far (``final``
    False: a progress event) or for the whole step (an end/skipped event)."""
    m = measures or {}
    missing = NOT_MEASURED if final else NOT_YET
    out: dict[str, str] = {}
    hr = _finite(m.get("peak_trough_hr_bpm"))
    out["peak_trough_hr_bpm"] = missing if hr is None else f"{hr:.1f} bpm"
    peak_hz, height = _finite(m.get("lf_peak_hz")), _finite(m.get("lf_peak_amplitude_ms2_per_hz"))
    if peak_hz is None:
        out["lf_peak"] = missing
    else:
        out["lf_peak"] = f"{peak_hz * 60.0:.1f} breaths/min ({peak_hz:.3f} Hz)" + (
            "" if height is None else f", {height:.0f} ms²/Hz")
    peaks = m.get("spectral_peaks")
    if not isinstance(peaks, int) or isinstance(peaks, bool) or peaks < 1:
        out["spectral_peaks"] = missing
    else:
        out["spectral_peaks"] = "one clear peak" if peaks == 1 else f"{peaks} peaks"
    phase = _finite(m.get("hr_breath_phase_deg"))
    out["hr_breath_phase_deg"] = missing if phase is None else f"{phase:+.0f}° (0° = in phase)"
    out["following"] = following_text(m, final)
    return out


def following_text(measures: Mapping[str, Any], final: bool) -> str:
    """yes / not yet / no: not assessable (and why, when the step ended not assessable for another reason)."""
    reason = str(measures.get("reason") or "")
    if final and measures.get("assessable") is False:
        if measures.get("following_checked") and measures.get("following") is False:
            return FOLLOW_NO
        return f"not assessable: {reason}" if reason else "not assessable"
    if measures.get("following_checked") and measures.get("following") is True:
        return "yes"
    if measures.get("following_checked") and measures.get("following") is False:
        return FOLLOW_NO if final else "no, so far"
    return NOT_YET if not final else "not checked (no breathing signal)"


def home_result_text(result: Mapping[str, Any]) -> str:
    """The client's one sentence at home for a ``resonance`` event's data (no diagnosis, no judgement)."""
    best = _finite(result.get("best_rate_bpm"))
    if best is None:
        return HOME_NO_RESULT_TEXT
    return HOME_RESULT_TEXT.format(rate=f"{round(best * 2) / 2:g}")


def resonance_texts() -> tuple[str, ...]:
    """Every fixed string of the assessment's views (for tests/test_claims.py)."""
    return (SETTLE_TEXT, MEASURING_TEXT, REST_TEXT, BEGIN_TEXT, STOPPED_TEXT, DONE_TEXT, RATE_TEXT, STEP_TEXT,
            STEP_AGAIN_TEXT, TIME_LEFT_TEXT, REST_LEFT_TEXT, NOT_YET, FOLLOW_NO, USE_RATE_TEXT, USE_RATE_NO_CLIENT,
            RATE_SAVED_TEXT, RATE_BAD_TEXT, NO_CLIENT_TEXT, NO_ASSESSMENT_TEXT, RESULT_UNREADABLE_TEXT,
            CAUTION_TITLE, OVER_BREATHING_TEXT, *(label for _, label in CRITERIA), CLIENT_STEP_TEXT,
            CLIENT_REST_TEXT, CLIENT_BEGIN_TEXT, CLIENT_END_TEXT, CLIENT_STOPPED_TEXT, HOME_RESULT_TEXT,
            HOME_NO_RESULT_TEXT, HOME_STOP_LABEL, HOME_STOP_TIP)


def assessment_log_text(data: Mapping[str, Any], kind: str) -> str:
    """The practitioner's live-log line for an assessment event ("" for the ones not logged: progress, pacer)."""
    if kind == "resonance":
        best = _finite(data.get("best_rate_bpm"))
        return "assessment result: " + ("no step could be assessed" if best is None else f"best {best:g} breaths/min")
    if kind != "resonance-step":
        return ""
    action, rate = data.get("action"), _finite(data.get("rate_bpm"))
    at = "" if rate is None else f" ({rate:g} breaths/min)"
    return {"begin": "assessment begins", "start": f"assessment step starts{at}", "end": f"assessment step ends{at}",
            "skipped": f"assessment step skipped{at}", "repeat": f"assessment step repeated{at}",
            "rest": "assessment rest", "stopped": f"assessment stopped by the {data.get('by') or 'practitioner'}",
            }.get(str(action), "")


# --- the assessment among the exercise lists ---------------------------------------------------------------


def is_assessment(exercise: Any) -> bool:
    """True for the assessment's exercise (role "resonance-assessment"): never pushed as an ordinary exercise."""
    return getattr(exercise, "role", None) == ASSESSMENT_ROLE

