"""A whole recording's chest motion computed in a second process while this one does the rest.

A reading command that runs a whole recording through :class:`~.analysis.LiveAnalysis` at once
(``replay --speed max``, a session report's pass) spends about a third of its time on the chest
motion (:class:`~somafeedback.signals.chest_motion.ChestMotion`, an estimate per acceleration
frame), which needs nothing else of the analysis: only the straps' PMD frames and the events that
restart them. :class:`ChestAhead` forks a child that runs the same items through a
:class:`~.analysis.LiveAnalysis` computing only the chest motion (``ecg=False``, metrics off) and
sends back, chunk after chunk, what
:meth:`~somafeedback.signals.raw_signals.StrapRawSignals.chest_outputs` gave; this process's
analysis takes each answer in turn (:class:`ChestAhead` is its
:class:`~somafeedback.signals.raw_signals.ChestSource`) instead of computing it. Both processes
run the same code on the same items: the outputs are the same, bit for bit.

* Only where ``fork`` is the safe way to start a process (Linux; elsewhere :meth:`ChestAhead.start`
  gives None and everything is computed here): the child inherits the items, nothing is copied on
  the way in; its answers come back in batches through a pipe.
* Whatever happens to the child (killed, out of memory, no answer for :data:`STALL_S` of waiting),
  the answers from that point on are computed here by the same function (:func:`chest_answers`,
  from the start, the answers already taken skipped): slower, never different, nothing lost.
* Every answer carries its chunk's key (strap, frame number, first time, samples); an answer that
  does not fit the chunk asked for (the items fed here are not the ones given: a caller's
  mistake) ends the use of the child, and from that chunk on the chest motion is computed here,
  starting afresh as after a gap.
* :meth:`ChestAhead.close` ends the child (a replay stopped early, a cancelled report); the child
  is a daemon, ignores Ctrl-C (this process decides) and writes nothing to the terminal.

Thread: the one thread that feeds the analysis; the child process runs :func:`_child`.
"""

from __future__ import annotations

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

from somafeedback.devices.events import AccChunk, Notification, SourceEvent
from somafeedback.devices.gatt_uuids import HEART_RATE_MEASUREMENT
from somafeedback.signals.raw_signals import ChestOutputs, RawItem

from .analysis import LiveAnalysis

BATCH: Final = 64  # answers per message from the child
POLL_S: Final = 0.5  # s between checks that the child still lives, while waiting for its answers
STALL_S: Final = 60.0  # s of waiting without an answer from a living child before computing here

Key = tuple[str, int, float, int]  # strap, PMD frame number, first sample's session time (s), samples
Answer = tuple[Key, list[RawItem]]


def chunk_key(strap_id: str, chunk: AccChunk) -> Key:
    """The key an answer for ``chunk`` carries."""
    return strap_id, chunk.seq, float(chunk.t_s[0]), len(chunk.t_s)


class _Recorder:
    """A chest source that computes each answer now and keeps it, with its key, for :func:`chest_answers`."""

    def __init__(self) -> None:
        self.found: list[Answer] = []

    def outputs(self, strap_id: str, chunk: AccChunk, compute: ChestOutputs) -> list[RawItem]:
        out = compute(chunk)
        self.found.append((chunk_key(strap_id, chunk), out))
        return out


def chest_answers(items: Sequence[Notification | SourceEvent]) -> Iterator[Answer]:
    """The chest motion's answers over ``items``, in the order an analysis of the same items asks for them.

    Heart-rate notifications are skipped: nothing of them reaches the chest motion (a lost skin
    contact restarts only the ECG's beats).
    """
    recorder = _Recorder()
    analysis = LiveAnalysis(metrics=False, ecg=False, chest=recorder)
    for item in items:
        if isinstance(item, Notification):
            if item.characteristic == HEART_RATE_MEASUREMENT:
                continue
            analysis.on_notification(item)
        else:
            analysis.on_event(item)
        if recorder.found:
            yield from recorder.found
            recorder.found.clear()


def _child(items: Sequence[Notification | SourceEvent], send: multiprocessing.connection.Connection) -> None:
    """The second process: every answer over ``items``, in batches, then None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    for number in (signal.SIGTERM, signal.SIGHUP):  # never the parent's handlers: terminate() ends the child
        signal.signal(number, signal.SIG_DFL)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # never the parent's unwritten output a second time
    batch: list[Answer] = []
    try:
        for answer in chest_answers(items):
            batch.append(answer)
            if len(batch) >= BATCH:
                send.send(batch)
                batch = []
        send.send(batch)
        send.send(None)
    except OSError:
        pass  # the parent stopped listening
    finally:
        send.close()


class ChestAhead:
    """Answers an analysis's acceleration chunks from a child process that computed them (see the module)."""

    def __init__(self, items: Sequence[Notification | SourceEvent]) -> None:
        """Start the child over ``items``: exactly the items the analysis will be fed, in order."""
        self._items = items
        self._answers: deque[Answer] = deque()
        self._taken = 0  # answers used so far
        self._complete = False  # the child has sent every answer
        self._here: Iterator[Answer] | None = None  # answers computed in this process (the child failed)
        self._own = False  # an answer did not fit: the analysis computes its chest motion itself
        self.child_failed = False  # the answers came from this process after the child failed
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(items, send), daemon=True, name="somafeedback-chest")
        for stream in (sys.stdout, sys.stderr):  # nothing buffered is copied into the child
            stream.flush()
        with warnings.catch_warnings():  # Python 3.12+ warns of fork beside threads; the child uses none of theirs
            warnings.simplefilter("ignore", DeprecationWarning)
            self._process.start()
        send.close()

    @staticmethod
    def possible() -> bool:
        """A second process can be forked here (Linux)."""
        return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()

    @classmethod
    def start(cls, items: Sequence[Notification | SourceEvent]) -> ChestAhead | None:
        """A :class:`ChestAhead` over ``items``, or None where no second process is to be had (compute here)."""
        if not cls.possible():
            return None
        try:
            return cls(items)
        except OSError:  # no process to be had (limits, memory): everything is computed here
            return None

    # -- ChestSource ---------------------------------------------------------------------
    def outputs(self, strap_id: str, chunk: AccChunk, compute: ChestOutputs) -> list[RawItem]:
        """The answer for ``chunk``: the child's (or this process's, after a failure); see the module."""
        if self._own:
            return compute(chunk)
        answer = self._next()
        if answer is None or answer[0] != chunk_key(strap_id, chunk):
            self._own = True  # not the items given: computed here from now on
            self.close()
            return compute(chunk)
        self._taken += 1
        return answer[1]

    # -- answers -------------------------------------------------------------------------
    def _next(self) -> Answer | None:
        while not self._answers and self._here is None and not self._complete:
            batch = self._wait()
            if batch is None:  # the child failed: the same answers, computed here, from where it stopped
                self.child_failed = True
                self.close()
                self._here = islice(chest_answers(self._items), self._taken, None)
            elif batch == "complete":
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
            if not self._process.is_alive() and not self._receive.poll(0):
                return None
            waited += POLL_S
        return None

    def close(self) -> None:
        """End the child (if it still runs) and the pipe; the answers already received stay usable."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(5.0)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5.0)
        self._receive.close()

    def __enter__(self) -> ChestAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
