"""The whole analysis of two recordings: windows, chance level, summary and the slower layer.

:func:`analyse_dyad` returns one JSON-ready object (what ``somafeedback synchrony --json``
prints): ``summary`` (effect size against chance, median lag of the windows that stand out and
whether enough stand out to support it, their share, counts), ``settings``, ``conventions``, ``chance``, ``windows`` and ``slow``.

Thread: any (pure); about a second for an hour of two people's beats.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

import numpy as np

from .beats import Beats
from .confounds import ALL as CONFOUNDS, ConfoundSpans
from .settings import SynchronySettings, conventions
from .slow import concordance_index, rsa_synchrony
from .surrogates import ChanceLevel, stands_out, windows_chance_level
from .windows import SyncWindow, all_windows

# summary.lag_supported: the share of windows that stand out reaches this many times alpha (what chance alone lets
# stand out). Below it, the median lag may come from windows that stood out by chance (docs/metrics.md §9).
LAG_SUPPORT_FACTOR: Final = 2.0


def judged_windows(windows: Sequence[SyncWindow], settings: SynchronySettings) -> tuple[list[SyncWindow], ChanceLevel]:
    """The windows judged against the chance level drawn from all of them."""
    chance = windows_chance_level(windows, settings)
    return [replace(w, above_chance=stands_out(w, chance)) for w in windows], chance


def summarize(windows: Sequence[SyncWindow], chance: ChanceLevel, alpha: float = 0.05) -> dict[str, Any]:
    """Effect size, median lag and share of the windows that stand out, and how many windows there were;
    ``lag_supported``: the windows that stand out are more than chance alone gives (docs/metrics.md §9)."""
    valued = [w for w in windows if w.z is not None]
    out = [w for w in valued if w.above_chance]
    effect = None
    if valued and chance.mean_z is not None and chance.sd_z:
        effect = (float(np.mean([abs(w.z) for w in valued if w.z is not None])) - chance.mean_z) / chance.sd_z
    share = len(out) / len(valued) if valued and chance.threshold_z is not None else None
    return {
        "effect_size": effect,
        "lag_s": float(np.median([w.lag_s for w in out])) if out else None,
        "lag_supported": None if share is None or not out else share >= LAG_SUPPORT_FACTOR * alpha,
        "share_above_chance": share,
        "windows": len(windows),
        "windows_with_value": len(valued),
        "windows_above_chance": len(out),
        "in_phase_share_of_above_chance": sum(1 for w in out if (w.r or 0) > 0) / len(out) if out else None,
        "confounded_windows": {name: sum(1 for w in windows if name in w.confounds) for name in CONFOUNDS},
    }


def analyse_dyad(a: Beats, b: Beats, settings: SynchronySettings = SynchronySettings(),
                 spans: ConfoundSpans = ConfoundSpans(), slow: bool = True) -> dict[str, Any]:
    """Every measure of two recordings already on one time axis (B shifted by the offset)."""
    windows, chance = judged_windows(all_windows(a, b, settings, spans), settings)
    result: dict[str, Any] = {
        "summary": summarize(windows, chance, settings.alpha),
        "settings": settings.as_dict(),
        "conventions": conventions(),
        "chance": chance.as_dict(),
        "windows": [w.row() for w in windows],
    }
    if slow and windows:
        start, end = windows[0].start_s, windows[-1].end_s
        result["slow"] = {"rsa_synchrony": rsa_synchrony(a, b, start, end, settings),
                          "concordance": concordance_index(a, b, start, end, settings)}
    return result
