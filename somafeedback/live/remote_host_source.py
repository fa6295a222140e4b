"""A remote client as the engine's source: the practitioner's side of a remote session inside the engine.

:class:`RemoteHostSource` connects a :class:`~somafeedback.remote.transport.RelayLink`, makes a
:class:`~somafeedback.remote.session.RemoteHost` whose sink is the engine's sink (the recorder, the
analysis, LSL and the regulation session: states and cue suggestions are computed here, by the same
code as for a local strap), and tells the UI how it goes with timeline events it drains like any other:

* ``remote-code`` ``{"code", "valid_s"}``: the code to read out (never recorded);
* ``remote-paired`` ``{"confirmation"}``: the words both people should see (after a rejoin also
  ``"rejoined": True`` and ``"continues"``, the earlier recording's file name);
* ``remote-failed`` ``{"text"}``: the pairing or the relay failed, in words (then :meth:`new_code`); a
  rejoin that cannot be made says ``"fatal": True`` (and ``"gone": True`` when the session is over);
* ``remote-ended`` ``{"reason"}``: the session is over;
* ``remote-link`` ``{"side": "practitioner", "state", "text"}``: the practitioner's own relay link
  dropped or is back (recorded; the client's own ``remote-link`` events arrive through the sink).

The host feeds the engine through a :class:`~.remote_timebase.RemoteTimebase`: the engine moves onto the
client's clock when the first clock check or the first of the client's items arrives, and the recording
opens then (a ``remote-timebase`` event says how the two clocks were lined up).

While paired, the session's state is kept on disk as ``remote host`` keeps it
(:class:`~somafeedback.remote.host_state.StateKeeper`, ``remote-sessions/`` of the data folder, 0600, removed at
a normal end), so after a crash a new engine made with ``rejoin=`` that file comes back to the session: no
code, the timeline measured afresh, a new recording whose manifest ``continues`` the earlier one.

Down: :meth:`down` hands a practitioner ``cue`` or ``pacer`` event to a
:class:`~somafeedback.remote.down_sender.DownSender` once paired, which sends their down messages in order
(the latest pacer before pairing is sent at pairing). A relay that cannot take one is counted in :attr:`unsent`.

Loop: everything runs on the engine's loop (the engine's commands schedule onto it).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from somafeedback.clock import LoopClock
from somafeedback.devices.events import TimelineEvent
from somafeedback.remote.codes import PairingError
from somafeedback.remote.consent import LINK_EVENT, PRACTITIONER
from somafeedback.remote.down_sender import DownSender
from somafeedback.remote.downlink import PACER_EVENT
from somafeedback.remote.errors import RelayError
from somafeedback.remote.host_state import SessionGone, StateKeeper, load_state, state_folder
from somafeedback.remote.session import RemoteHost
from somafeedback.remote.transport import LinkEvent, RelayAuth, RelayLink, shown_url

from .remote_timebase import RemoteTimebase

CODE_EVENT: Final = "remote-code"
PAIRED_EVENT: Final = "remote-paired"
FAILED_EVENT: Final = "remote-failed"
ENDED_EVENT: Final = "remote-ended"
SHARING_REQUESTS: Final = ("pause", "resume", "stop")
PRACTITIONER_LINK_TEXT: Final = {
    "lost": "your link to the relay dropped: the client's data is kept on the relay and follows when it is back",
    "back": "your link to the relay is back",
}
ENDED_BY_PRACTITIONER: Final = "the practitioner ended the session"


class RemoteHostSource:
    """The engine's remote client (see the module docstring). Loop: the engine's."""

    def __init__(self, engine: Any, url: str, auth: RelayAuth | None = None, rejoin: Path | None = None,
                 folder: Path | None = None) -> None:
        """``engine``: the :class:`~.engine.Engine` whose sink, display buffer and recording this source uses;
        ``rejoin``: a saved session state to come back to (no code); ``folder``: where states are kept
        (default: ``remote-sessions/`` of the data folder)."""
        self.engine = engine
        self.url = url
        self.auth = auth
        self.rejoin = rejoin
        self.folder = folder
        self.keeper: StateKeeper | None = None  # while paired: keeps the session's state on disk
        self._continues: str | None = None  # a rejoin: the earlier recording's file name
        self.host: RemoteHost | None = None
        self.paired = False
        self.down_sender: DownSender | None = None  # once paired: sends the client's screen changes in order
        self._pacer_before_pairing: TimelineEvent | None = None  # the latest pacer event, sent at pairing
        self._new_code = asyncio.Event()
        self._clock = LoopClock(asyncio.get_running_loop())

    # -- to the UI -------------------------------------------------------------------------------
    def _tell(self, kind: str, data: dict[str, Any], record: bool = False) -> None:
        """An event for the UI (``record``: also for the recording, stamped on the shared timeline; otherwise
        ``host_ns`` 0, "now": the timeline may move onto the client's clock before the UI shows it)."""
        clock = self.engine.clock  # the shared timeline (the client's clock, once fixed)
        if record:
            self.engine._sink.event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))
        else:
            self.engine._push(TimelineEvent(kind, 0, clock.wall_time(), data))

    def _link_changed(self, change: LinkEvent) -> None:
        if change.kind in PRACTITIONER_LINK_TEXT:
            self._tell(LINK_EVENT, {"state": change.kind, "side": PRACTITIONER,
                                    "text": PRACTITIONER_LINK_TEXT[change.kind]}, record=True)

    # -- commands (on the loop) ------------------------------------------------------------------
    def new_code(self) -> None:
        """Give up the current code (or a failure) and make a fresh one."""
        if not self.paired:
            self._new_code.set()

    def down(self, event: TimelineEvent) -> None:
        """A practitioner event that may change the client's screen: queued to go down once paired."""
        if self.down_sender is not None:
            self.down_sender.event(event)
        elif event.kind == PACER_EVENT:  # only the latest pacer waits for the pairing
            self._pacer_before_pairing = event

    @property
    def unsent(self) -> int:
        """Down messages the relay could not take (counted, never raised into the sink)."""
        return 0 if self.down_sender is None else self.down_sender.unavailable

    async def ask_sharing(self, request: str) -> None:
        """Ask the client to pause, resume or stop sharing; a failure is told in words."""
        if self.host is None or not self.paired:
            self._tell("engine-warning", {"text": "There is no client connected to ask yet."})
            return
        try:
            await self.host.ask_sharing(request)
        except RelayError as error:
            self._tell(FAILED_EVENT, {"text": f"The request could not reach your client: {error}", "paired": True})

    # -- the session -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, show a code, pair (again after a failure and :meth:`new_code`), then pass the client's data
        on until they end the session or ``stop`` is set (then the client is told)."""
        try:
            link = await RelayLink.connect(self.url, self.auth, clock=self._clock)
        except RelayError as error:
            self._tell(FAILED_EVENT, {"text": str(error), "fatal": True})
            await stop.wait()
            return
        link.listen(self._link_changed)
        try:
            host = await (self._resume(link, stop) if self.rejoin is not None else self._pair(link, stop))
            if host is not None:
                await self._run_paired(host, stop)
        finally:
            await link.close()

    async def _pair(self, link: RelayLink, stop: asyncio.Event) -> RemoteHost | None:
        """Codes until one pairs (the paired host) or ``stop`` (None)."""
        while not stop.is_set():
            self._new_code.clear()
            host = RemoteHost(link, self._timebase(), clock=self._clock)
            self.host = host
            try:
                code = await host.invite()
            except RelayError as error:
                self._tell(FAILED_EVENT, {"text": str(error)})
            else:
                self._tell(CODE_EVENT, {"code": str(code), "valid_s": host.lifetime_s})
                outcome = await _first(host.pair(), stop.wait(), self._new_code.wait())
                if isinstance(outcome, BaseException):
                    if not isinstance(outcome, (PairingError, RelayError)):
                        raise outcome
                    self._tell(FAILED_EVENT, {"text": str(outcome)})
                elif outcome is not None:
                    self.paired = True
                    self._keep(host)
                    self._tell(PAIRED_EVENT, {"confirmation": outcome.confirmation})
                    return host
                else:
                    await host.end()  # closes the mailbox of a code given up
                    if stop.is_set():
                        return None
                    continue
            await _first(stop.wait(), self._new_code.wait())
        return None

    def _timebase(self) -> RemoteTimebase:
        """A fresh shared timeline (also for a rejoin: it is measured again)."""
        return RemoteTimebase(self.engine._sink, self._clock, self.engine.fix_timebase, self._start_recording)

    async def _resume(self, link: RelayLink, stop: asyncio.Event) -> RemoteHost | None:
        """Come back to the saved session (the resumed host), or say in words why not and wait for ``stop``."""
        assert self.rejoin is not None
        host: RemoteHost | None = None
        try:
            state = load_state(self.rejoin)
            self._continues = state.recording or None
            host = RemoteHost(link, self._timebase(), clock=self._clock)
            self.host = host
            await host.resume(state)
        except (SessionGone, RelayError) as error:
            gone = isinstance(error, SessionGone)
            if gone and (host is None or shown_url(self.url) == state.relay):
                self.rejoin.unlink(missing_ok=True)  # over for good: never offered again
            self._tell(FAILED_EVENT, {"text": str(error), "fatal": True, "gone": gone, "rejoin": True})
            await stop.wait()
            return None
        self.paired = True
        self._tell(PAIRED_EVENT, {"confirmation": state.keys.confirmation, "rejoined": True,
                                  "continues": state.recording})
        self.keeper = StateKeeper(host, self.rejoin, replace(state, recording=""), self._commit)
        return host

    def _keep(self, host: RemoteHost) -> None:
        """Start keeping a freshly paired session's state on disk (right after pairing, on the loop)."""
        self.keeper = StateKeeper.for_host(host, self.folder or state_folder(), shown_url(self.url), "", self._commit)

    def _commit(self) -> None:
        """Commit the recording (if any) before its position is saved; raises when it cannot."""
        recorder = self.engine._recorder
        if recorder is not None:
            recorder.writer.commit()

    def _start_recording(self) -> None:
        """Open the recording (when asked for) once the session's timeline is the client's: its 00:00 then is too."""
        engine = self.engine
        if engine.options.record_to is not None:
            manifest = {"method": str(engine.session.method), **engine.options.manifest}
            manifest["tags"] = [*manifest.get("tags", []), "remote"]
            manifest["source"] = {"kind": "remote", "relay": shown_url(self.url)}
            if self._continues:
                manifest["continues"] = self._continues
            engine._open_recording(engine.options.record_to, manifest)
            if self.keeper is not None and engine.recording is not None:
                self.keeper.state = replace(self.keeper.state, recording=engine.recording.name)

    async def _run_paired(self, host: RemoteHost, stop: asyncio.Event) -> None:
        self.down_sender = DownSender(host)
        if self._pacer_before_pairing is not None:
            self.down_sender.event(self._pacer_before_pairing)
        reason = ENDED_BY_PRACTITIONER
        if self.keeper is not None:
            self.keeper.start()
        try:
            outcome = await _first(host.run(), stop.wait())
            if isinstance(outcome, str):
                reason = outcome
            elif isinstance(outcome, BaseException):
                reason = f"the session stopped: {outcome}"
        finally:
            await self.down_sender.close()  # bounded: what is queued goes before the end
            await host.end(reason)
            if self.keeper is not None:
                await self.keeper.finish()  # ended normally: the keys leave the disk
            self._tell(ENDED_EVENT, {"reason": reason})


async def _first(*waits: Any) -> Any:
    """Run ``waits`` until the first ends; cancel the others. The first one's result (its exception as a
    value), or None when another one ended first."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks[1:] if tasks[0].done() else tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    main = tasks[0]
    if not main.done() or main.cancelled():
        return None
    return main.exception() or main.result()
