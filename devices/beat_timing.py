"""Beat times rebuilt from the cumulative RR sum, anchored to the host clock.

A Heart Rate notification arrives about once a second and carries the RR intervals of
the beats that ended since the previous one (0-4 usually, up to 9). Stamping every RR of a
packet with its arrival time would put several beats at one instant and corrupt every
spectral measure, so instead:

* A *segment* starts at the first packet with RR after start-up, a gap or a contact loss:
  its anchor puts the packet's last beat at the packet's arrival time.
* Within a segment, beat ``k`` is at ``anchor + (sum of RR ticks up to k) / 1024``: exact,
  so consecutive beats are precisely one RR apart.
* Each later packet checks the bound: ``residual = arrival - time of its last beat``.
  Normally ``0 <= residual <~ 1 s`` (a strap batches beats for up to one notification
  period, then BLE adds latency); the first anchor may itself sit up to a period late, so
  residuals down to about -1 s are normal too. Outside ``[-EARLY_TOLERANCE_S,
  LATE_TOLERANCE_S]`` the cumulative sum has lost touch with real time (RR values were
  lost, or the clocks drifted apart over hours), and a new segment is anchored.

Thread: any (pure, synchronous).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

RR_TICKS_PER_S: Final = 1024  # RR resolution of the Heart Rate Measurement, ticks per second
EARLY_TOLERANCE_S: Final = 1.5  # s a packet's last beat may be placed after its own arrival
LATE_TOLERANCE_S: Final = 2.5  # s a packet's last beat may be placed before its arrival


class BeatTimer:
    """Places each packet's RR intervals on the session timeline."""

    def __init__(self) -> None:
        self.segment = -1  # no segment yet
        self._anchor_s = 0.0
        self._ticks = 0  # RR ticks since the anchor
        self._need_anchor = True

    def break_segment(self) -> None:
        """The next beats start a new segment (after a gap or a contact loss)."""
        self._need_anchor = True

    def place(self, arrival_s: float, rr_1024: Sequence[int]) -> list[float]:
        """Beat times (session s) for the RR values of one packet that arrived at ``arrival_s``."""
        if not rr_1024:
            return []
        packet_ticks = sum(rr_1024)
        if not self._need_anchor:
            residual = arrival_s - (self._anchor_s + (self._ticks + packet_ticks) / RR_TICKS_PER_S)
            self._need_anchor = not -EARLY_TOLERANCE_S <= residual <= LATE_TOLERANCE_S
        if self._need_anchor:
            self._anchor_s = arrival_s - packet_ticks / RR_TICKS_PER_S
            self._ticks = 0
            self.segment += 1
            self._need_anchor = False
        times = []
        for rr in rr_1024:
            self._ticks += rr
            times.append(self._anchor_s + self._ticks / RR_TICKS_PER_S)
        return times
