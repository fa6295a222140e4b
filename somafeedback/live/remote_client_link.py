"""The home engine's link to a practitioner's remote session: :class:`RemoteClientLink`.

The client's app runs its strap through an :class:`~somafeedback.live.engine.Engine` (a simulated
strap may run faster than real time on a :class:`~somafeedback.clock.SessionEventLoop`). Joining a
practitioner's session runs a :class:`~somafeedback.remote.session_client.RemoteClient` on a
real-time loop of its own (:class:`~somafeedback.remote.loop_thread.LoopThread`), as the
``remote join`` command does:

* ``join``: connect to the relay, pair with the code, choose the level (not yet confirmed); the UI gets
  ``remote-paired`` {"confirmation", "level"} or ``remote-failed`` {"text": words};
* up: the engine's sink hands every notification and event (after the recorder) to :meth:`submit`,
  and what its analysis and regulation session made of them to :attr:`derived` (a
  :class:`~somafeedback.remote.derived.ClientDerived`: sent at ``state`` and ``metrics`` instead of
  the strap's data); the consent decides what leaves. The client's consent and link events (the RemoteClient's ``record``,
  on the relay loop) come back into the engine's sink on the engine loop: recorded and shown;
* down: a cue becomes a ``remote-cue`` event (:func:`~somafeedback.remote.downlink.received_event`),
  pacer settings a ``remote-pacer`` event {"running", breath fields}, the practitioner's end a
  ``remote-ended`` event {"reason"}: sharing stops, the strap and the recording go on. The engine turns
  each ``remote-pacer`` into the pacer the client sees (:func:`pacer_after`: started, retimed or stopped at
  the client's time) and records it as its own ``pacer`` event, so both analyses measure the following;
  that ``pacer`` event goes up like any event and never comes down again (only the practitioner's own
  events are sent down);
* ``leave`` (or the engine's end): what is queued is sent and the practitioner is told. Every down message
  handed to the engine loop before the relay loop stopped is recorded before the recording closes (the
  engine yields to its loop once after :meth:`RemoteClientLink.close`).

Threads: commands from any thread; ``record`` runs on the engine loop (``call_soon_threadsafe``), the
RemoteClient on the relay loop. ``close`` blocks (bounded) and must not run on the relay loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from typing import Any, Final

from somafeedback.clock import Clock
from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.remote.codes import PairingError
from somafeedback.remote.consent import Consent, ConsentError, SharingLevel
from somafeedback.remote.derived import ClientDerived
from somafeedback.remote.downlink import ClientViewCommand, client_view_command, declined_event, pacer_settings, \
    received_event
from somafeedback.remote.errors import RelayError
from somafeedback.remote.loop_thread import LoopThread
from somafeedback.remote.messages import Cue, Message, PacerSettings, SessionEnded
from somafeedback.remote.pairing import STEP_TIMEOUT_S
from somafeedback.remote.session_client import RemoteClient
from somafeedback.remote.session_control import check_level
from somafeedback.remote.session_side import DRAIN_TIMEOUT_S
from somafeedback.remote.transport import RelayLink
from somafeedback.regulation.pacer import Pacer
from somafeedback.regulation.pacer import PacerSettings as Breath

from .analysis import pacer_event_data, pacer_from_data

log = logging.getLogger(__name__)

PAIRED_EVENT: Final = "remote-paired"
FAILED_EVENT: Final = "remote-failed"
PACER_EVENT: Final = "remote-pacer"
ENDED_EVENT: Final = "remote-ended"
WARNING_EVENT: Final = "remote-warning"
LEFT_REASON: Final = "the client left the session"
CLOSE_GRACE_S: Final = 5.0  # s beyond the drain bound that closing waits for the relay loop
UNEXPECTED_TEXT: Final = "joining did not work ({error}): check the relay address and ask for a new code"

BREATH_FIELDS: Final = ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s")  # a remote-pacer event's breath (s)

Record = Callable[[SourceEvent, bool], None]  # (event, share): into the engine's sink, on the engine loop


def pacer_after(current: Pacer | None, event: TimelineEvent) -> Pacer | None:
    """The pacer the client sees after the ``remote-pacer`` ``event`` (any thread, pure): None when it stops;
    a running pacer takes the new breath phase-continuously from the event's time; else one starts (an inhale)
    then. A breath this version cannot read leaves ``current`` as it is. ``current`` is never changed."""
    if not event.data.get("running"):
        return None
    try:
        breath = Breath(*(float(event.data[name]) for name in BREATH_FIELDS))
    except (KeyError, TypeError, ValueError):
        return current
    at_s = event.host_ns / 1e9
    if current is None:
        return Pacer(breath, at_s)
    if breath == current.settings:
        return current
    retimed = pacer_from_data(pacer_event_data(current))  # a copy: the pacer already recorded stays as it was
    if retimed is None:
        return Pacer(breath, at_s)
    retimed.set_settings(breath, max(at_s, current.changes[-1][0]))
    return retimed


class RemoteClientLink:
    """One remote session joined by the home engine (see the module doc).

    ``record(event, share)`` puts an event into the engine's sink (called on the engine loop here);
    ``push(event)`` shows an event to the UI only; ``engine_loop`` is the engine's asyncio loop and
    ``clock`` its clock (the client's times: the recording's own).
    """

    def __init__(self, engine_loop: asyncio.AbstractEventLoop, clock: Clock, record: Record,
                 push: Callable[[TimelineEvent], None]) -> None:
        self._engine_loop = engine_loop
        self.clock = clock
        self._record = record
        self._push = push
        self.relay_loop = LoopThread("somafeedback-remote-client")
        self.client: RemoteClient | None = None
        self.sharing = False  # True from pairing until the session ends (either side)
        self.unreadable = 0  # down messages this version could not read (shown nowhere)
        # at ``state`` and ``metrics``: the engine's own analysis results and states, sent instead of the strap's data
        self.derived = ClientDerived(self.submit)

    # -- engine loop helpers (called from the relay loop) ---------------------------------------------
    def _to_engine(self, event: TimelineEvent, share: bool = False, record: bool = True) -> None:
        try:
            if record:
                self._engine_loop.call_soon_threadsafe(self._record, event, share)
            else:
                self._engine_loop.call_soon_threadsafe(self._push, event)
        except RuntimeError:  # the engine has stopped: its recording is closed already
            log.debug("a remote event after the engine stopped: %s", event.kind)

    def _event(self, kind: str, data: dict[str, Any]) -> TimelineEvent:
        return TimelineEvent(kind, self.clock.now_ns(), self.clock.wall_time(), data)

    # -- joining (any thread) -------------------------------------------------------------------------
    def join(self, relay_url: str, code: str, level: SharingLevel | str, step_timeout_s: float | None = None) -> None:
        """Connect and pair on the relay loop (each pairing step waits at most ``step_timeout_s``, default the
        pairing's own: a mistyped code meets nobody); ``remote-paired`` or ``remote-failed`` follows."""
        wait_s = STEP_TIMEOUT_S if step_timeout_s is None else step_timeout_s
        self.relay_loop.submit(self._join(relay_url, code, level, wait_s))

    async def _join(self, relay_url: str, code: str, level: SharingLevel | str, step_timeout_s: float) -> None:
        link: RelayLink | None = None
        try:
            chosen = check_level(level)
            link = await RelayLink.connect(relay_url.strip(), clock=self.clock)
            client = RemoteClient(link, consent=Consent(chosen), record=self._client_record,
                                  on_down=self._on_down, clock=self.clock)
            keys = await client.pair(code, step_timeout_s=step_timeout_s)
        except (PairingError, RelayError, ConsentError) as error:
            await self._failed(link, str(error))
            return
        except Exception as error:  # noqa: BLE001 - a garbage address or the like: words, never a traceback
            await self._failed(link, UNEXPECTED_TEXT.format(error=error))
            return
        self.client, self.sharing = client, True
        self._to_engine(self._event(PAIRED_EVENT, {"confirmation": keys.confirmation, "level": str(chosen)}),
                        record=False)

    async def _failed(self, link: RelayLink | None, text: str) -> None:
        if link is not None:
            try:
                await link.close()
            except Exception:  # noqa: BLE001 - closing a link that failed: nothing more to say
                log.debug("closing a failed relay link", exc_info=True)
        self._to_engine(self._event(FAILED_EVENT, {"text": text}), record=False)

    # -- consent (any thread) -------------------------------------------------------------------------
    def confirm(self) -> None:
        self._consent(lambda client: client.confirm())

    def choose(self, level: SharingLevel | str) -> None:
        """Share ``level`` from now on; :class:`ConsentError` (in words) here when it cannot be shared yet."""
        chosen = check_level(level)
        self._consent(lambda client: client.choose(chosen))

    def pause(self) -> None:
        self._consent(lambda client: client.pause())

    def resume(self) -> None:
        self._consent(lambda client: client.resume())

    def stop_sharing(self) -> None:
        self._consent(lambda client: client.stop_sharing())

    def _consent(self, change: Callable[[RemoteClient], None]) -> None:
        def run() -> None:  # on the relay loop
            if self.client is None:
                return
            try:
                change(self.client)
            except ConsentError as error:
                self._to_engine(self._event(WARNING_EVENT, {"text": str(error)}), record=False)

        self.relay_loop.loop.call_soon_threadsafe(run)

    def _client_record(self, event: SourceEvent) -> None:
        """The client's own consent and link events (relay loop): into the engine's sink, not sent again."""
        if isinstance(event, TimelineEvent):
            self._to_engine(event)

    # -- up (the engine loop) -------------------------------------------------------------------------
    def submit(self, item: Notification | SourceEvent) -> None:
        """One notification or event the engine's sink took (after the recorder): to the practitioner."""
        if self.client is not None and self.sharing:
            self.client.submit(item)

    def declined(self, command: ClientViewCommand) -> TimelineEvent:
        """The client's "not now": the event to record (and share) on the engine loop."""
        return declined_event(command, self.clock.now_ns(), self.clock.wall_time())

    # -- down (the relay loop) ------------------------------------------------------------------------
    def _on_down(self, message: Message) -> None:
        if isinstance(message, Cue):
            command = client_view_command(message)
            if command is None:
                self.unreadable += 1
                return
            self._to_engine(received_event(command, self.clock.now_ns(), self.clock.wall_time()))
        elif isinstance(message, PacerSettings):
            readable, breath = pacer_settings(message)
            if not readable:
                self.unreadable += 1
                return
            data: dict[str, Any] = {"running": breath is not None}
            if breath is not None:
                data.update({name: getattr(breath, name) for name in BREATH_FIELDS})
            self._to_engine(self._event(PACER_EVENT, data))
        elif isinstance(message, SessionEnded):
            self.sharing = False
            self._to_engine(self._event(ENDED_EVENT, {"reason": message.reason}))
            asyncio.ensure_future(self._end(f"the practitioner ended the session ({message.reason})"))

    # -- the end --------------------------------------------------------------------------------------
    async def _end(self, reason: str) -> bool:
        """Send what is queued and the end, close the link (relay loop); True when the relay has it all."""
        client, self.client, self.sharing = self.client, None, False
        if client is None:
            return True
        try:
            delivered = await client.end(reason)
        finally:
            await client.link.close()
        return delivered

    def leave(self, reason: str = LEFT_REASON) -> concurrent.futures.Future[bool]:
        """Stop sharing and tell the practitioner (what is queued is sent first); any thread, not blocking."""
        self.sharing = False
        return self.relay_loop.submit(self._end(reason))

    def close(self, timeout_s: float = DRAIN_TIMEOUT_S + CLOSE_GRACE_S) -> None:
        """Leave (when still in the session) and stop the relay loop: blocks at most about ``timeout_s``."""
        try:
            self.leave().result(timeout_s)
        except (concurrent.futures.TimeoutError, RelayError, RuntimeError):
            log.warning("the remote session could not be ended cleanly")
        self.relay_loop.stop()
