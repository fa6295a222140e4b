"""A time axis in minutes and seconds for every plot over session time.

pyqtgraph's default axis labels seconds with SI prefixes ("1.2 ks" after about 17 minutes)
or as "1e+04"; a practitioner reads a clock. :class:`MinutesSecondsAxis` labels ticks as
``m:ss`` (``h:mm:ss`` once a shown tick is an hour or more) at clock-like steps (1, 2, 5, 10,
15, 30 s, 1, 2, 5, 10, 15, 30 min, 1, 2, 3, 6 h ...), never with an SI prefix.
:func:`clock_text` is the windows' zero-padded ``mm:ss`` clock.

Thread: the Qt GUI thread (like every graphics item).
"""

from __future__ import annotations

import math
from typing import Final

import pyqtgraph as pg

STEPS_S: Final = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
                  3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0)  # clock-like tick steps, s
LABEL_PX: Final = 80.0  # at least this many px between major tick labels ("1:23:45" plus a gap)
MINOR_PX: Final = 12.0  # at least this many px between minor ticks (grid lines)


def clock_label(t_s: float, hours: bool = False, decimals: int = 0) -> str:
    """Seconds as ``m:ss``, or ``h:mm:ss`` when ``hours`` (or past an hour); a leading ``-`` when negative."""
    sign = "-" if t_s < 0 and round(abs(t_s), decimals) > 0 else ""
    t = round(abs(t_s), decimals)
    whole = int(t)
    seconds = f"{whole % 60:02d}"
    if decimals:
        seconds += f"{t - whole:.{decimals}f}"[1:]
    if hours or whole >= 3600:
        return f"{sign}{whole // 3600}:{whole // 60 % 60:02d}:{seconds}"
    return f"{sign}{whole // 60}:{seconds}"


def clock_text(t_s: float) -> str:
    """Session seconds as ``mm:ss`` (``h:mm:ss`` past an hour; negative as ``00:00``): the review window's
    and the live window's clock (the axes use :func:`clock_label`)."""
    t = max(0, int(t_s))
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60:02d}:{t % 60:02d}"


class MinutesSecondsAxis(pg.AxisItem):
    """An axis of seconds labelled ``m:ss`` / ``h:mm:ss``, at clock-like steps, with no SI prefix."""

    def __init__(self, orientation: str = "bottom", **kwargs: object) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, float]]:  # noqa: N802 - pyqtgraph API
        """Major ticks at the smallest clock step that leaves :data:`LABEL_PX` per label; minor ticks between."""
        if self._tickSpacing is not None:
            return self._tickSpacing
        dif = abs(maxVal - minVal)
        if dif == 0 or not math.isfinite(dif) or size <= 0:
            return []
        most = max(2.0, size / LABEL_PX)  # major intervals that fit
        if dif > most * STEPS_S[-1] or dif < 2.0 * STEPS_S[0]:
            return super().tickSpacing(minVal, maxVal, size)  # beyond days, or under 2 s: plain decimal steps
        major = next(s for s in STEPS_S if dif / s <= most)
        levels = [(major, 0.0)]
        minors = [s for s in STEPS_S if s < major and (major / s).is_integer() and major / s <= 6
                  and dif / s <= size / MINOR_PX]
        if minors:
            levels.append((minors[0], 0.0))  # the finest that still leaves MINOR_PX between grid lines
        return levels

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802 - pyqtgraph API
        """``m:ss``, or ``h:mm:ss`` for every tick when any shown tick is an hour or more."""
        decimals = 0 if spacing * scale >= 1 else min(3, math.ceil(-math.log10(spacing * scale)))
        hours = any(abs(v * scale) >= 3600 for v in values)
        return [clock_label(v * scale, hours, decimals) for v in values]

    def labelString(self) -> str:  # noqa: N802 - pyqtgraph API
        """The label, never with a unit prefix or a scale factor."""
        self.autoSIPrefixScale, self.labelUnitPrefix = 1.0, ""
        return super().labelString()


def time_axis() -> MinutesSecondsAxis:
    """A bottom axis for a plot over session time (pass as ``axisItems={"bottom": time_axis()}``)."""
    return MinutesSecondsAxis("bottom")


__all__ = ["MinutesSecondsAxis", "STEPS_S", "clock_label", "clock_text", "time_axis"]
