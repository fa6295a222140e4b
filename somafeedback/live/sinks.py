"""Sinks that combine or guard other sinks: :class:`FanOut` (several sinks in order) and
:class:`GuardedRecorder` (a session writer whose failed write stops the recording, not the stream).

Thread: whichever thread feeds them (the BLE or replay loop).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from somafeedback.devices.events import Notification, SourceEvent, StrapSink

if TYPE_CHECKING:
    from somafeedback.sessions.file import Finisher


class FanOut:
    """Hands everything to several sinks, in order (e.g. the recorder first, then the screen)."""

    def __init__(self, *sinks: StrapSink) -> None:
        self.sinks = sinks

    def notification(self, notification: Notification) -> None:
        for sink in self.sinks:
            sink.notification(notification)

    def event(self, event: SourceEvent) -> None:
        for sink in self.sinks:
            sink.event(event)


WRITE_ERRORS: Final = (sqlite3.Error, OSError)  # what a failed write to a session file raises


def write_failure_text(error: BaseException) -> str:
    """A failed write in words: a full disk, or a disk that refused it (removed, read-only, failing)."""
    detail = str(error) or type(error).__name__
    lowered = detail.lower()
    if "full" in lowered or getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk is full ({detail})"
    if "readonly" in lowered or "read-only" in lowered:
        return f"the disk can no longer be written to ({detail})"
    return f"the disk refused to store more ({detail}: full, removed or failing?)"


class GuardedRecorder:
    """A session writer that stops on its first failed write instead of failing the stream.

    Everything goes to ``writer`` until a write fails (a full disk, a removed stick); from then on
    nothing more is written, ``failure`` holds the error and ``on_failure(error)`` is called once
    (e.g. to stop the recording). What was committed before stays in the file, readable.

    Thread: whichever thread feeds it (the BLE loop).
    """

    def __init__(self, writer: Any, on_failure: Callable[[BaseException], None]) -> None:
        self.writer = writer
        self.on_failure = on_failure
        self.failure: BaseException | None = None

    @property
    def path(self) -> Path:
        return Path(self.writer.path)

    def _guarded(self, write: Callable[[], None]) -> None:
        if self.failure is not None:
            return
        try:
            write()
        except WRITE_ERRORS as error:
            self.failure = error
            self.on_failure(error)

    def notification(self, notification: Notification) -> None:
        self._guarded(lambda: self.writer.notification(notification))

    def event(self, event: SourceEvent) -> None:
        self._guarded(lambda: self.writer.event(event))

    def commit_if_due(self) -> None:
        self._guarded(self.writer.commit_if_due)

    def close(self, end_reason: str, finish: Finisher | None = None) -> None:
        """Close the file with ``end_reason`` (``finish``: the analyses to keep with it, see
        :meth:`~somafeedback.sessions.file.SessionWriter.close`); after a failure, only let go of it
        (nothing more can be written)."""
        if self.failure is None:
            self._guarded(lambda: self.writer.close(end_reason, finish=finish))
            if self.failure is None:
                return
        abandon = getattr(self.writer, "abandon", None)
        if abandon is not None:
            abandon()
