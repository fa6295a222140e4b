"""A whole recording's chest motion (and R peaks) computed in other processes while this one does the rest.

A reading command that runs a whole recording through :class:`~.analysis.LiveAnalysis` at once
(``replay --speed max``, a session report's pass) spends most of its time in two stages that need
nothing of the rest of the analysis: the chest motion on the acceleration chunks and the R-peak
detector on the ECG chunks (only the straps' PMD frames, the heart-rate notifications' skin contact
and the events that restart them). :class:`RawAhead` forks one child per stage asked for; each
runs the same items through a :class:`~.analysis.LiveAnalysis` (metrics off) that computes only
its stage and sends back, chunk after chunk, what
:meth:`~somafeedback.signals.raw_signals.StrapRawSignals.ecg_outputs` or
:meth:`~somafeedback.signals.raw_signals.StrapRawSignals.chest_outputs` gave; this process's
analysis takes each answer in turn (:class:`RawAhead` is its
:class:`~somafeedback.signals.raw_signals.RawSource`) instead of computing it. All run the same
code on the same items: the outputs are the same, bit for bit.

Which stages go (:data:`KINDS`): the chest motion only. On the 2-core machine the goals are measured
on, a 1-hour Polar H10 replay took 1.5–1.65 s with the chest motion in one child and 1.7–2.0 s with
the R peaks in a second one as well (three busy processes on two cores, each child decoding every
PMD frame again); a report likewise gained nothing. ``kinds=ALL_KINDS`` is there for more cores, and
the tests hold both stages to the same outputs.

* Only where ``fork`` is the safe way to start a process (Linux; elsewhere :meth:`RawAhead.start`
  gives None and everything is computed here): the children inherit the items, nothing is copied
  on the way in; their answers come back in batches through pipes. Start it before anything starts
  a thread (Qt, LSL outlets): a child forked beside threads could wait on a lock one of them held.
* Whatever happens to a child (killed, out of memory, no answer for :data:`STALL_S` of waiting),
  its answers from that point on are computed here by the same function (:func:`raw_answers`,
  from the start, the answers already taken skipped): slower, never different, nothing lost.
* Every answer carries its chunk's key (kind, strap, frame number, first time, samples); an answer
  that does not fit the chunk asked for (the items fed here are not the ones given: a caller's
  mistake) ends the use of that child, and from that chunk on its stage is computed here, starting
  afresh as after a gap.
* :meth:`RawAhead.close` ends the children (a replay stopped early, a cancelled report); they are
  daemons, ignore Ctrl-C (this process decides) and write nothing to the terminal.

Thread: the one thread that feeds the analysis; each child process runs :func:`_child`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Final

from somafeedback.devices.events import AccChunk, EcgChunk, Notification, SourceEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.signals.raw_signals import Chunk, ChunkOutputs, RawItem

from .analysis import LiveAnalysis

ALL_KINDS: Final = ("ecg", "acc")  # the stages that can be computed ahead: R peaks (ECG chunks), chest motion (acceleration)
KINDS: Final = ("acc",)  # the stages computed ahead by default (see the module docstring)
BATCH: Final = 64  # answers per message from a child
POLL_S: Final = 0.5  # s between checks that a child still lives, while waiting for its answers
STALL_S: Final = 60.0  # s of waiting without an answer from a living child before computing here

Key = tuple[str, str, int, float, int]  # kind, strap, PMD frame number, first sample's session time (s), samples
Answer = tuple[Key, list[RawItem]]
Items = Sequence[Notification | SourceEvent]


def kind_of(chunk: Chunk) -> str:
    """The stage that answers ``chunk``: "ecg" or "acc"."""
    return "ecg" if isinstance(chunk, EcgChunk) else "acc"


def chunk_key(strap_id: str, chunk: Chunk) -> Key:
    """The key an answer for ``chunk`` carries."""
    return kind_of(chunk), strap_id, chunk.seq, float(chunk.t_s[0]), len(chunk.t_s)


class _Recorder:
    """A raw source that computes the answers of one stage now and keeps them, with their keys; the
    other stage's chunks it answers with nothing, without computing them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.found: list[Answer] = []

    def outputs(self, strap_id: str, chunk: Chunk, compute: ChunkOutputs) -> list[RawItem]:
        if kind_of(chunk) != self.kind:
            return []
        out = compute(chunk)
        self.found.append((chunk_key(strap_id, chunk), out))
        return out


def raw_answers(items: Items, kind: str) -> Iterator[Answer]:
    """One stage's answers over ``items``, in the order an analysis of the same items asks for them.

    The chest motion skips heart-rate notifications: nothing of them reaches it (a lost skin
    contact restarts only the ECG's beats, so the R peaks read them).
    """
    recorder = _Recorder(kind)
    analysis = LiveAnalysis(metrics=False, ahead=recorder)
    for item in items:
        if isinstance(item, Notification):
            if kind == "acc" and item.characteristic == HEART_RATE_MEASUREMENT:
                continue
            analysis.on_notification(item)
        else:
            analysis.on_event(item)
        if recorder.found:
            yield from recorder.found
            recorder.found.clear()


def _child(items: Items, kind: str, send: multiprocessing.connection.Connection) -> None:
    """A second process: every answer of ``kind`` over ``items``, in batches, then None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for number in (signal.SIGTERM, signal.SIGHUP):  # never the parent's handlers: terminate() ends the child
        signal.signal(number, signal.SIG_DFL)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # never the parent's unwritten output a second time
    batch: list[Answer] = []
    with send, contextlib.suppress(OSError):  # OSError: the parent stopped listening (closed, or gone)
        for answer in raw_answers(items, kind):
            batch.append(answer)
            if len(batch) >= BATCH:
                send.send(batch)
                batch = []
        send.send(batch)
        send.send(None)


class StageAhead:
    """One stage's answers from a child process (see the module)."""

    def __init__(self, items: Items, kind: str) -> None:
        """Start the child over ``items``: exactly the items the analysis will be fed, in order."""
        self.kind = kind
        self._items = items
        self._answers: deque[Answer] = deque()
        self.taken = 0  # answers used so far
        self._complete = False  # the child has sent every answer
        self._here: Iterator[Answer] | None = None  # answers computed in this process (the child failed)
        self.own = False  # an answer did not fit: the analysis computes this stage itself
        self.child_failed = False  # the answers came from this process after the child failed
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self.process = context.Process(target=_child, args=(items, kind, send), daemon=True,
                                       name=f"somafeedback-{kind}")
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is copied into the child
            stream.flush()
        with warnings.catch_warnings():  # Python 3.12+ warns of fork beside threads; the child uses none of theirs
            warnings.simplefilter("ignore", DeprecationWarning)
            self.process.start()
        send.close()

    def outputs(self, strap_id: str, chunk: Chunk, compute: ChunkOutputs) -> list[RawItem]:
        """The answer for ``chunk``: the child's (or this process's, after a failure); see the module."""
        if self.own:
            return compute(chunk)
        answer = self._next()
        if answer is None or answer[0] != chunk_key(strap_id, chunk):
            self.own = True  # not the items given: computed here from now on
            self.close()
            return compute(chunk)
        self.taken += 1
        return answer[1]

    def _next(self) -> Answer | None:
        while not self._answers and self._here is None and not self._complete:
            batch = self._wait()
            if batch is None:  # the child failed: the same answers, computed here, from where it stopped
                self.child_failed = True
                self.close()
                self._here = islice(raw_answers(self._items, self.kind), self.taken, None)
            elif isinstance(batch, str):  # "complete"
                self._complete = True
            else:
                self._answers.extend(batch)
        if self._answers:
            return self._answers.popleft()
        return next(self._here, None) if self._here is not None else None

    def _wait(self) -> list[Answer] | str | None:
        """The child's next batch, "complete" after its last, or None when it failed."""
        waited = 0.0
        while waited < STALL_S:
            try:
                if self._receive.poll(POLL_S):
                    message = self._receive.recv()
                    return "complete" if message is None else message
            except (EOFError, OSError):
                return None  # the child ended without its last message
            if not self.process.is_alive() and not self._receive.poll(0):
                return None
            waited += POLL_S
        return None

    def close(self) -> None:
        """End the child (if it still runs) and the pipe; the answers already received stay usable."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5.0)
        self._receive.close()


class RawAhead:
    """Answers an analysis's ECG and acceleration chunks from child processes (see the module)."""

    def __init__(self, items: Items, kinds: Sequence[str] = KINDS) -> None:
        self.stages = {kind: StageAhead(items, kind) for kind in kinds}

    @staticmethod
    def possible() -> bool:
        """Second processes can be forked here (Linux)."""
        return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()

    @classmethod
    def start(cls, items: Items, kinds: Sequence[str] = KINDS) -> RawAhead | None:
        """A :class:`RawAhead` over ``items``, or None where no second process is to be had (compute here)
        or none is worth having (no raw frames: a plain strap's heart rate only)."""
        raw = any(isinstance(item, Notification) and item.characteristic != HEART_RATE_MEASUREMENT for item in items)
        if not raw or not cls.possible():
            return None
        try:
            return cls(items, kinds)
        except OSError:  # no process to be had (limits, memory): everything is computed here
            return None

    def outputs(self, strap_id: str, chunk: Chunk, compute: ChunkOutputs) -> list[RawItem]:
        """The answer for ``chunk`` (:class:`~somafeedback.signals.raw_signals.RawSource`)."""
        stage = self.stages.get(kind_of(chunk))
        return stage.outputs(strap_id, chunk, compute) if stage is not None else compute(chunk)

    def close(self) -> None:
        """End every child (see :meth:`StageAhead.close`)."""
        for stage in self.stages.values():
            stage.close()

    def __enter__(self) -> RawAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
