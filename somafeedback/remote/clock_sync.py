"""Clock alignment between the client's and the practitioner's session clocks (NTP-style, four timestamps).

Every :data:`PING_EVERY_S` the practitioner's side sends a ping over the sealed channel; the client
answers at once. Four session-clock readings make one sample::

    t0  practitioner sends the ping      t1  client receives it
    t2  client sends the answer          t3  practitioner receives the answer
    offset     = ((t1 - t0) + (t2 - t3)) / 2      (client clock minus practitioner clock)
    round trip = (t3 - t0) - (t2 - t1)            (time on the wire, the client's own delay removed)

Whatever the delays each way, the true offset lies within ``offset ± round_trip / 2`` (each one-way
delay is positive): a sample that came back quickly pins the offset down tightly.

**Rule (the minimum-delay filter of NTP's clock filter, RFC 5905 §10).** Of the last
:data:`SAMPLES_KEPT` accepted samples, the one with the smallest round trip gives the offset; the
uncertainty is half that round trip (the hard bound above). The estimate is *certain enough to line
up two people's physiology* when the uncertainty is below :data:`CERTAIN_BELOW_S`.

**Rejected samples** (counted with their reason, never used): a round trip below zero or above
:data:`MAX_RTT_S`, timestamps out of order (answered before received, received before sent), values
that are not finite numbers, answers to pings never sent or already answered.

**Clock steps.** A sample whose interval ``offset ± rtt/2`` does not meet the current estimate's
interval (beyond :data:`STEP_TOLERANCE_S`) is held aside as a suspect. If the next sample agrees with
the estimate again, the suspect was a one-off and is dropped; once :data:`STEP_CONFIRM` suspects agree
with each other, one of the clocks really stepped (an app restarted, a session clock held back over a
stall): the old samples are dropped and the estimate starts afresh, and its event says by how much.

**No answer.** Without any accepted sample there is no estimate, and the event says so (``offset_s``
None, ``certain`` False, a ``note`` in plain words).

Pure and synchronous: :class:`ClockFilter` takes timestamps; :class:`ClockSync` (practitioner) and
:func:`answer_ping` (client) read an injected :class:`~somafeedback.clock.Clock` and build or read the
ping/pong payloads as plain dicts. Thread: the loop that owns the session (not thread-safe).
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeGuard

from somafeedback.clock import Clock

CLOCK_EVENT: Final = "remote-clock"  # timeline event kind of every estimate
PING: Final = "clock-ping"  # payload types
PONG: Final = "clock-pong"
PING_EVERY_S: Final = 10.0  # s of session time between pings
SAMPLES_KEPT: Final = 8  # accepted samples the filter chooses from (80 s at one ping every 10 s)
CERTAIN_BELOW_S: Final = 0.050  # s of uncertainty under which two people's physiology can be lined up
MAX_RTT_S: Final = 5.0  # s; a slower answer says nothing useful about the offset
STEP_TOLERANCE_S: Final = 0.025  # s two samples' intervals may miss each other by (clock drift, rounding)
STEP_CONFIRM: Final = 2  # agreeing suspects that prove a clock step
PINGS_OUTSTANDING: Final = 8  # unanswered pings remembered; older ones are given up
UNANSWERED_NOTE_AFTER: Final = 2  # unanswered pings in a row before the event says the other side is silent


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One four-timestamp exchange (session seconds: t0, t3 on the practitioner's clock; t1, t2 on the client's)."""

    t0: float
    t1: float
    t2: float
    t3: float

    @property
    def offset_s(self) -> float:
        """Client clock minus practitioner clock."""
        return ((self.t1 - self.t0) + (self.t2 - self.t3)) / 2

    @property
    def rtt_s(self) -> float:
        return (self.t3 - self.t0) - (self.t2 - self.t1)

    def problem(self) -> str | None:
        """Why this sample cannot be used, in plain words (None: usable)."""
        if not all(isinstance(t, (int, float)) and math.isfinite(t) for t in (self.t0, self.t1, self.t2, self.t3)):
            return "a time that is not a number"
        if self.t3 < self.t0:
            return "the answer came back before the question left"
        if self.t2 < self.t1:
            return "the other side answered before it received the question"
        if self.rtt_s < 0:
            return "a negative round trip"
        if self.rtt_s > MAX_RTT_S:
            return f"a round trip over {MAX_RTT_S:g} s"
        return None

    def meets(self, offset_s: float, uncertainty_s: float) -> bool:
        """True when this sample's interval meets ``offset_s ± uncertainty_s`` (within the tolerance)."""
        return abs(self.offset_s - offset_s) <= self.rtt_s / 2 + uncertainty_s + STEP_TOLERANCE_S


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The current alignment: ``client_time - offset_s`` is the practitioner's time of the same instant."""

    offset_s: float
    rtt_s: float  # round trip of the sample used
    uncertainty_s: float  # half that round trip: the true offset lies within offset_s ± uncertainty_s
    samples: int  # accepted samples kept (the estimate is the best of these)

    @property
    def certain(self) -> bool:
        return self.uncertainty_s < CERTAIN_BELOW_S

    def to_practitioner_time(self, client_t_s: float) -> float:
        return client_t_s - self.offset_s

    def to_client_time(self, practitioner_t_s: float) -> float:
        return practitioner_t_s + self.offset_s


def _number(value: object) -> TypeGuard[float]:
    """An int or float as JSON carries it (a bool is not a time)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def estimate_text(estimate: ClockEstimate | None, unanswered: int = 0) -> str:
    """One line for the practitioner, e.g. "clocks aligned within ±12 ms (round trip 24 ms)"."""
    if estimate is None:
        if unanswered:
            return f"clocks not aligned yet: no answer to {unanswered} clock check{'s' if unanswered > 1 else ''}"
        return "clocks not aligned yet: waiting for the first clock check"
    if estimate.certain:
        return f"clocks aligned within ±{_ms(estimate.uncertainty_s)} (round trip {_ms(estimate.rtt_s)})"
    return (f"clocks only roughly aligned (±{_ms(estimate.uncertainty_s)}, round trip {_ms(estimate.rtt_s)}): "
            "not precise enough to line up two people's physiology")


class ClockFilter:
    """The minimum-delay filter over the last :data:`SAMPLES_KEPT` samples, with clock-step handling."""

    def __init__(self, kept: int = SAMPLES_KEPT) -> None:
        self._samples: deque[ClockSample] = deque(maxlen=kept)
        self._suspects: list[ClockSample] = []
        self.rejected: Counter[str] = Counter()  # reason -> samples refused
        self.spikes = 0  # one-off samples far off the others, dropped
        self.steps: list[float] = []  # s each accepted clock step moved the offset by
        self.last_step_s: float | None = None  # set by the add() that accepted a step, else None

    def add(self, sample: ClockSample) -> str:
        """Take one sample; returns what became of it: "accepted", "suspect", "step" or "rejected: <reason>"."""
        self.last_step_s = None
        problem = sample.problem()
        if problem is not None:
            self.rejected[problem] += 1
            return f"rejected: {problem}"
        current = self.estimate()
        if current is None or sample.meets(current.offset_s, current.uncertainty_s):
            self.spikes += len(self._suspects)
            self._suspects.clear()
            self._samples.append(sample)
            return "accepted"
        if self._suspects and not all(sample.meets(s.offset_s, s.rtt_s / 2) for s in self._suspects):
            self.spikes += len(self._suspects)  # suspects that disagree with each other too: start the count again
            self._suspects.clear()
        self._suspects.append(sample)
        if len(self._suspects) < STEP_CONFIRM:
            return "suspect"
        new_best = min(self._suspects, key=lambda s: s.rtt_s)
        self.last_step_s = new_best.offset_s - current.offset_s
        self.steps.append(self.last_step_s)
        self._samples.clear()
        self._samples.extend(self._suspects)
        self._suspects.clear()
        return "step"

    def estimate(self) -> ClockEstimate | None:
        """The sample with the smallest round trip among those kept (None: no sample yet)."""
        if not self._samples:
            return None
        best = min(self._samples, key=lambda s: s.rtt_s)
        return ClockEstimate(best.offset_s, best.rtt_s, best.rtt_s / 2, len(self._samples))


def event_data(estimate: ClockEstimate | None, unanswered: int = 0, step_s: float | None = None,
               rejected: int = 0) -> dict[str, Any]:
    """A ``remote-clock`` timeline event's data (JSON-able): the estimate, or no estimate and why."""
    data: dict[str, Any] = {
        "offset_s": None if estimate is None else round(estimate.offset_s, 6),
        "rtt_s": None if estimate is None else round(estimate.rtt_s, 6),
        "uncertainty_s": None if estimate is None else round(estimate.uncertainty_s, 6),
        "samples": 0 if estimate is None else estimate.samples,
        "certain": False if estimate is None else estimate.certain,
        "certain_below_s": CERTAIN_BELOW_S,
        "rule": f"smallest round trip of the last {SAMPLES_KEPT} samples; uncertainty = half its round trip",
        "unanswered": unanswered,
        "rejected": rejected,
        "text": estimate_text(estimate, unanswered),
    }
    if step_s is not None:
        data["step_s"] = round(step_s, 6)
        data["text"] += f"; a clock moved by {step_s:+.3f} s and the alignment started afresh"
    if estimate is None:
        data["note"] = data["text"]
    return data


def answer_ping(ping: Mapping[str, Any], received_at: float, clock: Clock) -> dict[str, Any] | None:
    """The client's answer to a ping (None: not a ping this version understands).

    ``received_at`` is the client's ``clock.now()`` read when the message arrived (t1); t2 is read
    here, just before the answer is handed to the channel. Thread: the client's session loop.
    """
    if ping.get("type") != PING or not isinstance(ping.get("id"), int) or isinstance(ping.get("id"), bool):
        return None
    t0 = ping.get("t0")
    if not _number(t0):
        return None
    return {"type": PONG, "id": ping["id"], "t0": t0, "t1": received_at, "t2": clock.now()}


class ClockSync:
    """The practitioner's side: when a ping is due, the ping payload, reading the answers.

    Use: call :meth:`ping_if_due` from a timer (:meth:`seconds_until_due` says when) and send what it
    returns; hand every pong to :meth:`on_pong` with the clock reading taken when it arrived, and
    record and show the event data it returns (kind :data:`CLOCK_EVENT`); while :attr:`silent`, record
    :meth:`report` after each ping too, so a peer that stopped answering shows. Thread: the session loop.
    """

    def __init__(self, clock: Clock, every_s: float = PING_EVERY_S, kept: int = SAMPLES_KEPT, first_id: int = 1) -> None:
        if not every_s > 0:
            raise ValueError("the clock check interval must be positive")
        self._clock = clock
        self.every_s = every_s
        self.filter = ClockFilter(kept)
        self._sent: dict[int, float] = {}  # ping id -> t0, the pings still awaiting an answer
        self._next_id = first_id  # a resumed host goes on past the ids of its earlier pings (their late answers are refused)
        self._last_ping_at: float | None = None
        self.unanswered = 0  # pings in a row that got no answer (the newest one still pending is not counted)

    @property
    def next_id(self) -> int:
        """The id the next ping will carry (saved by a host that may resume the session)."""
        return self._next_id

    def seconds_until_due(self) -> float:
        if self._last_ping_at is None:
            return 0.0
        return max(0.0, self._last_ping_at + self.every_s - self._clock.now())

    def ping_if_due(self) -> dict[str, Any] | None:
        """The next ping payload when one is due (its t0 is now), else None."""
        if self.seconds_until_due() > 0:
            return None
        now = self._clock.now()
        if self._sent:  # the previous ping is still unanswered
            self.unanswered += 1
        ping_id = self._next_id
        self._next_id += 1
        self._sent[ping_id] = now
        while len(self._sent) > PINGS_OUTSTANDING:
            del self._sent[min(self._sent)]
        self._last_ping_at = now
        return {"type": PING, "id": ping_id, "t0": now}

    def on_pong(self, pong: Mapping[str, Any], received_at: float | None = None) -> dict[str, Any]:
        """Take an answer (t3 = ``received_at``, else now); returns the event data to record and show."""
        t3 = self._clock.now() if received_at is None else received_at
        raw_id = pong.get("id")
        ping_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else 0
        t0 = self._sent.pop(ping_id, None) if pong.get("type") == PONG else None
        if t0 is None:
            self.filter.rejected["an answer to no question asked"] += 1
            return self.report()
        self.unanswered = 0
        for older in [i for i in self._sent if i < ping_id]:  # answered out of turn: the older ones are lost
            del self._sent[older]
        t1, t2 = pong.get("t1"), pong.get("t2")
        if not (_number(t1) and _number(t2)):
            self.filter.rejected["a time that is not a number"] += 1
            return self.report()
        self.filter.add(ClockSample(t0, float(t1), float(t2), t3))  # t0 from our own record, never the echo
        return self.report(step_s=self.filter.last_step_s)

    @property
    def silent(self) -> bool:
        """True once :data:`UNANSWERED_NOTE_AFTER` pings in a row went unanswered (record :meth:`report` after each ping)."""
        return self.unanswered >= UNANSWERED_NOTE_AFTER

    def estimate(self) -> ClockEstimate | None:
        return self.filter.estimate()

    def report(self, step_s: float | None = None) -> dict[str, Any]:
        """The current ``remote-clock`` event data (also when nothing was ever answered)."""
        return event_data(self.estimate(), self.unanswered, step_s, sum(self.filter.rejected.values()))
