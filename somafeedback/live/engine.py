"""The engine: one thread, one long-lived asyncio loop, a source, and the whole analysis.

The desktop app (and anything else that is not asyncio) runs straps, simulations and
replays through an :class:`Engine`:

* a dedicated thread owns one asyncio loop for the engine's whole life (bleak requires a
  single loop; Qt's own asyncio integration cannot run bleak's Linux backend);
* the loop runs the source (simulated straps, real straps, or a replay) into
  :class:`~somafeedback.live.analysis.LiveAnalysis` (beats, metrics) and the
  :class:`~somafeedback.live.regulation_session.RegulationSession` (states, cues), optionally
  recording everything;
* results are appended to a lock-protected buffer; the UI drains it from a frame timer
  (~30 fps), so nothing is redrawn per sample and the loop never waits for the UI. The buffer
  is bounded (:data:`DISPLAY_LIMIT_ITEMS` analysis outputs): when the UI does not drain (a
  frozen window, a replay far faster than the screen), the oldest outputs are dropped and
  counted (:attr:`Engine.display_dropped`) and one ``engine-warning`` says the display fell
  behind. Timeline and link events are always kept, and the recording never depends on the
  buffer: the recorder takes every notification before the analysis runs;
* the UI's commands (approve a cue, add a marker, pause or seek a replay) are scheduled
  onto the loop with ``call_soon_threadsafe``;
* the pacer the client sees is handed in with :meth:`Engine.set_pacer` and becomes a
  ``pacer`` timeline event (recorded), from which the analysis computes how the breathing
  follows it (:class:`~somafeedback.signals.pacer_following.FollowingEstimate` outputs, recorded
  by the regulation session as ``pacer-following`` events); a replay learns the recorded pacer
  events first, so it computes the same following, after a seek too.

Thread: ``start``/``stop``/``drain`` and the commands may be called from any thread (the
UI's); everything else runs on the engine's own thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from somafeedback.clock import LoopClock, OffsetClock, SessionEventLoop, Speed
from somafeedback.devices.events import Notification, SourceEvent, TimelineEvent
from somafeedback.regulation.exercises import Exercise, load_exercises
from .analysis import PACER_EVENT, LiveAnalysis, Output, pacer_event_data
from .synchrony_stage import SynchronyStage
from .sinks import write_failure_text
from somafeedback.regulation.methods import Method
from somafeedback.regulation.cues import HOME_CONTROLS, CueConfig
from somafeedback.regulation.pacer import Pacer
from somafeedback.regulation.states import Baseline, RegulationConfig
from somafeedback.synchrony.pair_window import PairWindow

log = logging.getLogger(__name__)

# Analysis outputs (beats, metric sets, ECG and motion chunks...) the buffer holds for the UI at
# most. A simulated Polar H10 makes about 7 a second of session time (beats, metric sets, ECG and
# chest-motion chunks, breathing; ~0.5 kB each), so this is about 20 minutes of data the screen
# has not taken, some 5-10 MB; the UI drains it ~30 times a second. Beyond it the oldest go.
DISPLAY_LIMIT_ITEMS: Final = 10_000
# Timeline and link events (markers, cues, states, link changes, warnings) are kept when outputs
# are dropped; only past this many undrained events are the oldest of them dropped too.
EVENT_LIMIT_ITEMS: Final = 10_000
DISPLAY_BEHIND = "display-behind"  # the ``about`` of the engine-warning that says the display fell behind
DISPLAY_BEHIND_TEXT: Final = ("The screen fell behind the strap's data, so some older points are left out of the "
                              "plots. The recording itself is complete.")


@dataclass(frozen=True, slots=True)
class StrapOutput:
    """What the analysis made of one strap's data (a beat, a contact change, a metric set...)."""

    strap_id: str
    output: Output


EngineItem = StrapOutput | SourceEvent | PairWindow  # PairWindow: synchrony of two straps (never recorded)


class DisplayBuffer:
    """What the engine produced and the UI has not drained yet: bounded, in order.

    Holds at most ``limit`` analysis outputs (:class:`StrapOutput`) and ``event_limit`` events.
    When full, the oldest items are let go: outputs are dropped and counted in :attr:`dropped`;
    events met on the way are kept aside (they are older than everything left, so order holds)
    unless those too exceed ``event_limit``. The first drop of the buffer's life adds one
    ``engine-warning`` event (``about``: :data:`DISPLAY_BEHIND`) and sets :attr:`fell_behind`.

    Thread: any; the caller holds the engine's lock.
    """

    def __init__(self, limit: int = DISPLAY_LIMIT_ITEMS, event_limit: int = EVENT_LIMIT_ITEMS) -> None:
        if limit < 1 or event_limit < 1:
            raise ValueError("the display buffer must hold at least one item and one event")
        self.limit = limit
        self.event_limit = event_limit
        self.dropped = 0  # analysis outputs dropped since the start
        self.dropped_events = 0  # events dropped since the start (only past event_limit undrained events)
        self.fell_behind = threading.Event()
        self._items: deque[EngineItem] = deque()
        self._outputs = 0  # StrapOutputs in _items
        self._kept: deque[EngineItem] = deque()  # events let go from the front of _items, oldest first

    def __len__(self) -> int:
        return len(self._kept) + len(self._items)

    def extend(self, items: tuple[EngineItem, ...]) -> None:
        for item in items:
            self._items.append(item)
            if isinstance(item, StrapOutput):
                self._outputs += 1
        while self._outputs > self.limit:
            oldest = self._items.popleft()
            if isinstance(oldest, StrapOutput):
                self._outputs -= 1
                self._dropped_one()
            else:
                self._kept.append(oldest)
        while len(self) - self._outputs > self.event_limit:  # thousands of undrained events: the oldest go too
            if self._kept:
                self._kept.popleft()
                self.dropped_events += 1
                continue
            oldest = self._items.popleft()
            if isinstance(oldest, StrapOutput):
                self._outputs -= 1
                self._dropped_one()
            else:
                self.dropped_events += 1

    def _dropped_one(self) -> None:
        self.dropped += 1
        if not self.fell_behind.is_set():
            self.fell_behind.set()
            log.warning("the display fell behind: dropping the oldest undrained outputs (the recording is unaffected)")
            self._kept.append(TimelineEvent("engine-warning", 0, 0.0, {
                "about": DISPLAY_BEHIND, "text": DISPLAY_BEHIND_TEXT, "limit_items": self.limit}))

    def take(self) -> list[EngineItem]:
        """Everything held, oldest first; the buffer is then empty."""
        items = [*self._kept, *self._items]
        self._kept.clear()
        self._items.clear()
        self._outputs = 0
        return items


@dataclass(frozen=True)
class EngineSource:
    """What the engine runs: ``simulate`` (a scenario), ``replay`` (a session file) or real straps."""

    simulate: str | None = None
    replay: Path | None = None
    addresses: tuple[str, ...] = ()
    simulated_straps: int = 1
    speed: Speed = 1.0
    seed: int | None = None
    simulated_model: str = "h10"  # the simulated strap: "h10" (raw ECG and motion) or "hr" (heart rate only)
    # simulated straps that only advertise (a scan finds them, nothing connects by itself): the
    # demo's second person, so "connect as practitioner" can be tried without hardware
    nearby_simulated_straps: int = 0
    # a remote client through this relay (nats://host:4222): see somafeedback.live.remote_host_source; with
    # ``simulate`` or ``addresses`` too, the practitioner's own strap as strap2 (see .remote_local_straps)
    remote_relay: str | None = None
    remote_auth: Any = None  # how to log in to the relay (somafeedback.remote.transport.RelayAuth), None: no login
    remote_rejoin: Path | None = None  # a remote session's saved state (remote-sessions/): come back to it, no code


@dataclass
class EngineOptions:
    mode: str = "practitioner"  # or "home"
    script: str | None = None  # home mode: the exercise to practise (one marked for home use)
    plan_text: str | None = None  # home mode: the client's own plan, shown when the practice offers to end
    auto_approve: bool = False
    baseline: Baseline | None = None
    method: str = "SE"  # SE | Focusing | CSE (somafeedback.regulation.methods)
    usual: Baseline | None = None  # the client's usual range from earlier sessions: today's start is compared with it
    record_to: Path | None = None  # a library folder: record the session there
    lsl: bool = False  # publish Lab Streaming Layer streams from the start (switchable later)
    synchrony: bool = True  # pair every strap with the practitioner's (strap2) and measure synchrony
    manifest: dict[str, Any] = field(default_factory=dict)
    # the assessment's ranking weights (the practitioner's settings; None: the documented defaults): the
    # home assessment's, and a practitioner's start_assessment without its own
    assessment_weights: dict[str, float] | None = None
    regulation: RegulationConfig = field(default_factory=RegulationConfig)
    cues: CueConfig = field(default_factory=CueConfig)


class _Sink:
    """Runs on the engine thread: the recorder (when recording), then analysis + regulation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.analysis = LiveAnalysis(metrics=True)
        self.synchrony = SynchronyStage(submit=engine._submit_synchrony_job, wait_for_chance=engine._reproducible()) \
            if engine.options.synchrony else None

    def notification(self, notification: Notification) -> None:
        if self.engine._recorder is not None:
            self.engine._recorder.notification(notification)
        if self.engine._client_link is not None:  # after the recorder: the recording never depends on the link
            self.engine._client_link.submit(notification)
        outputs = self.analysis.on_notification(notification)  # once, for the UI, LSL and the regulation loop
        if self.engine._client_link is not None:  # shared instead of the strap's data at state and metrics
            self.engine._client_link.derived.outputs(outputs, notification)
        self.engine._push(*(StrapOutput(strap, output) for strap, output in outputs))
        if self.engine._lsl is not None:
            self.engine._lsl.notification_analyzed(outputs)
        if self.synchrony is not None:
            self._synchrony(self.synchrony.outputs(outputs))
        if self.engine.session is not None:
            self.engine.session.notification_analyzed(notification, outputs)

    def event(self, event: SourceEvent, share: bool = True) -> None:
        """``share`` False: an event the remote link itself made (consent, a received cue), never sent up again."""
        if self.engine._recorder is not None:
            self.engine._recorder.event(event)
        if share and self.engine._client_link is not None:
            self.engine._client_link.submit(event)
        outputs = self.analysis.on_event(event)
        if self.engine._client_link is not None:
            self.engine._client_link.derived.outputs(outputs)
        if self.engine._lsl is not None:
            self.engine._lsl.event_analyzed(event, outputs)
        self.engine._push(event, *(StrapOutput(strap, metrics) for strap, metrics in outputs))
        if self.synchrony is not None:
            self.synchrony.event(event)
            self._synchrony(self.synchrony.outputs(outputs))
        if self.engine.session is not None:
            self.engine.session.event_analyzed(event, outputs)

    def _synchrony(self, windows: list[PairWindow]) -> None:
        """New synchrony windows: to the UI and LSL, never to the recording (a replay recomputes them)."""
        if not windows or self.synchrony is None:
            return
        self.engine._push(*windows)
        if self.engine._lsl is not None:
            for window in windows:
                self.engine._lsl.synchrony(window, self.synchrony.settings)


class Engine:
    """Runs a source and the analysis on its own thread; the UI drains the results.

    ``exercises`` (default: :func:`load_exercises`) are what the cues suggest and the home script plays.
    ``display_limit`` bounds the undrained analysis outputs (:class:`DisplayBuffer`).
    """

    def __init__(self, source: EngineSource, options: EngineOptions | None = None,
                 exercises: dict[str, Exercise] | None = None, display_limit: int = DISPLAY_LIMIT_ITEMS) -> None:
        self.source = source
        self.options = options or EngineOptions()
        self.exercises = exercises if exercises is not None else load_exercises()
        self.error: BaseException | None = None
        self.finished = threading.Event()
        self.recording: Path | None = None
        self.replay: Any = None  # the ReplaySource, for replay control
        self.session: Any = None  # the RegulationSession
        self._buffer = DisplayBuffer(display_limit)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="somafeedback engine", daemon=True)
        self._recorder: Any = None  # the SessionWriter while recording
        self._closing: threading.Thread | None = None  # a recording closing beside the session (stop_recording)
        self._store_at_end = True  # the recording's close stores the report's pass (live/stored_pass.py)
        self._lsl: Any = None  # the LslOutlets while publishing to Lab Streaming Layer
        self._committer: Any = None
        self._client_link: Any = None  # the RemoteClientLink once the client joins a practitioner's session
        self.session_origin_ns: int | None = None  # the session's 00:00 on the engine's clock (host_ns), once started
        # the engine's clock: the loop's, or in a remote session the client's (see fix_timebase); set by the loop
        self.clock: OffsetClock | None = None
        self._pacer_data: dict[str, Any] = pacer_event_data(None)  # the latest pacer event's data (engine thread)
        self.remote: Any = None  # the RemoteHostSource of a remote session (engine thread)
        self._remote_pacer: Pacer | None = None  # the pacer a practitioner's session shows the client (engine thread)
        self._chance_pool: ThreadPoolExecutor | None = None  # synchrony's chance levels, off the beat path
        self._local_straps: Any = None  # a remote session's local straps (the practitioner's own; remote_local_straps)

    def _reproducible(self) -> bool:
        """A replay, or a simulation not at real time: synchrony waits for its chance levels, so the same
        recording always gives the same windows (live, the beat path never waits)."""
        return self.source.replay is not None or (self.source.simulate is not None and self.source.speed != 1.0)

    def _submit_synchrony_job(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run a synchrony job (a chance level, a shared-breathing check) on the engine's worker thread, off the
        beat path (started at the first job; called on the engine thread)."""
        if self._chance_pool is None:
            self._chance_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="somafeedback synchrony")
        return self._chance_pool.submit(function, *args)

    # -- life -----------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the engine did not start")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the source cleanly (unsubscribe, disconnect, close the recording) and join."""
        if self._loop is not None and self._stop is not None and not self.finished.is_set():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout_s)

    def end_quickly(self) -> None:
        """The coming stop closes the recording without storing the report's pass (a stop signal: the app must
        end within 2 s; a report then computes the pass itself). Any thread."""
        self._store_at_end = False

    def now_s(self) -> float:
        """The engine loop's clock in seconds (0 before it starts); for session times use :meth:`session_s`."""
        return self.clock.now() if self.clock is not None else 0.0

    def session_s(self, host_ns: int | None = None) -> float:
        """Seconds since the session's start (the engine's start): now, or at a recorded ``host_ns`` (any thread).

        This is the one session clock: the live window, the recording's manifest
        (``session_origin_host_ns``), the review window and the reports all count from it.
        0 before the engine starts.
        """
        if self.session_origin_ns is None:
            return 0.0
        at_ns = round(self.now_s() * 1e9) if host_ns is None else host_ns
        return (at_ns - self.session_origin_ns) / 1e9

    def drain(self) -> list[EngineItem]:
        """Everything produced since the last call and still held, in order (any thread): every
        event, and the newest :data:`DISPLAY_LIMIT_ITEMS` outputs when the UI fell behind."""
        with self._lock:
            return self._buffer.take()

    @property
    def display_dropped(self) -> int:
        """Analysis outputs dropped undrained since the start (any thread); never recorded data."""
        return self._buffer.dropped

    @property
    def display_fell_behind(self) -> threading.Event:
        """Set at the first dropped output (any thread may wait on it)."""
        return self._buffer.fell_behind

    def _push(self, *items: EngineItem) -> None:
        with self._lock:
            self._buffer.extend(items)

    # -- commands (any thread) ------------------------------------------------------------------
    def call(self, function: Callable[..., Any], *args: Any) -> None:
        """Run ``function(*args)`` on the engine's loop."""
        if self._loop is not None and not self.finished.is_set():
            self._loop.call_soon_threadsafe(function, *args)

    def approve(self) -> None:
        self.call(lambda: self.session and self.session.approve())

    def snooze(self) -> None:
        self.call(lambda: self.session and self.session.snooze())

    def dismiss(self) -> None:
        self.call(lambda: self.session and self.session.dismiss())

    def home_control(self, kind: str) -> None:
        """The client tapped a home-practice control: "too-much", "dizzy", "help-now", "done",
        "keep-going", or "next" / "back" (untimed practice) (any thread; run on the loop, recorded as ``cue`` events). ValueError for
        an unknown kind, raised here in the caller's thread."""
        if kind not in HOME_CONTROLS:
            raise ValueError(f"unknown home control {kind!r} (known: {', '.join(HOME_CONTROLS)})")
        self.call(lambda: self.session and self.session.home_control(kind))

    def set_method(self, method: str) -> None:
        """The session's method changes (SE, Focusing, CSE; any thread, run on the loop, recorded as a
        ``method`` event). ValueError for an unknown method, raised here in the caller's thread."""
        chosen = Method.parse(method)
        self.options.method = str(chosen)
        self.call(lambda: self.session and self.session.set_method(chosen, self.now_s()))

    def movement_block(self, on: bool) -> None:
        """The practitioner starts or ends a movement block (CSE's M key): a marker on the timeline,
        which the regulation loop reads like any recorded marker."""
        self.add_event("marker", label="movement-start" if on else "movement-end")

    def restart_baseline(self) -> None:
        """Measure the baseline again (on the loop; recorded as a ``calibration`` timeline event)."""
        self.call(lambda: self.session and self.session.restart_baseline(self.now_s()))

    def skip_baseline(self, baseline: Baseline) -> None:
        """Stop measuring; judge against ``baseline`` (e.g. the client's stored one). Recorded like a restart."""
        self.call(lambda: self.session and self.session.skip_baseline(baseline, self.now_s()))

    def baseline_progress(self) -> tuple[float, float] | None:
        """(s measured, length in s) of the baseline being measured, up to the latest beat; None when not measuring.

        Measured on the beats' clock (the engine loop's), so a pause in the data pauses it too.
        Any thread: a read-only look at the model (attribute reads of one calibration attempt).
        """
        session = self.session
        if session is None:
            return None
        return session.model.calibration_progress()

    def set_pacer(self, pacer: Pacer | None) -> None:
        """The pacer the client sees now (None: no pacer shows) (any thread).

        Its start and settings changes are read here, in the caller's thread (one read of an
        immutable history); on the loop, a change from the last one becomes a ``pacer`` timeline
        event (recorded, published, and read by the analysis, which then measures how the
        breathing follows it). Call it again after the pacer's settings change.
        """
        self.call(self._pacer_changed, pacer_event_data(pacer))

    def start_assessment(self, protocol: Any, weights: Mapping[str, float] | None = None) -> None:
        """Start a resonance-frequency assessment (a ResonanceProtocol) at the latest beat's time (any
        thread), ranked with ``weights`` (the practitioner's settings; None: ``options.assessment_weights``,
        else the documented defaults; ValueError for bad ones, here) and recording the client's pseudonym
        (the recording's manifest, else ``options.manifest``); its ``resonance-step`` and ``resonance``
        events come back like cues, its pacer as ``pacer``."""
        from somafeedback.resonance.scoring import validate_weights

        chosen = validate_weights(weights if weights is not None else self.options.assessment_weights)

        def start() -> None:
            if self.session is not None:
                self.session.resonance.client = self._client_pseudonym()
                self.session.start_assessment(protocol, weights=chosen)

        self.call(start)

    def assessment_control(self, action: str, by: str = "practitioner") -> None:
        """skip / repeat / stop the running assessment, asked by ``by`` ("practitioner", or "client": the
        client's Stop at home) (any thread; ValueError for another action, here)."""
        from somafeedback.resonance.events import CONTROLS

        if action not in CONTROLS:
            raise ValueError(f"unknown assessment control {action!r} (known: {', '.join(CONTROLS)})")
        self.call(lambda: self.session and self.session.assessment_control(action, by=by))

    def _client_pseudonym(self) -> str | None:
        """The client's pseudonym as the recording names it (its manifest; else the options'), or None."""
        recorder_manifest = getattr(getattr(self._recorder, "writer", None), "manifest", None) or {}
        client = recorder_manifest.get("client") or (self.options.manifest or {}).get("client")
        return str(client) if client else None

    def _pacer_changed(self, data: dict[str, Any]) -> None:
        """A ``pacer`` event with ``data`` when it differs from the last one (engine thread)."""
        if data == self._pacer_data:
            return
        self._pacer_data = data
        clock = self._clock()
        self._practitioner_event(TimelineEvent(PACER_EVENT, clock.now_ns(), clock.wall_time(), data))

    def add_event(self, kind: str, /, **data: Any) -> None:
        """A marker, note or pushed cue, stamped with the engine's clock, on the session's timeline.

        ``kind`` is positional-only, so ``data`` may carry its own ``kind`` (a cue's kind, e.g. "manual").
        """
        def add() -> None:
            clock = self._clock()
            self._practitioner_event(TimelineEvent(kind, clock.now_ns(), clock.wall_time(), data))

        self.call(add)

    def _clock(self) -> OffsetClock:
        """The engine's clock (engine thread, once the loop runs)."""
        assert self.clock is not None
        return self.clock

    def fix_timebase(self, offset_ns: int) -> None:
        """A remote session: from now on the engine's clock is the client's, ``offset_ns`` ahead of this loop's
        (measured once, when the first clock check or the first of the client's items arrives), so the client's
        items, the practitioner's own events and a local strap share one timeline; the session's 00:00 moves
        with it, so session time runs on without a jump. Engine thread."""
        clock = self._clock()
        clock.offset_ns += offset_ns
        if self.session_origin_ns is not None:
            self.session_origin_ns += offset_ns
        if self._local_straps is not None:  # the practitioner's own strap starts now, on the shared timeline
            self._local_straps.timebase_fixed()

    def _practitioner_event(self, event: TimelineEvent) -> None:
        """One of the practitioner's own events (engine thread): into the sink, and down to a remote client."""
        self._sink.event(event)
        if self.remote is not None:
            self.remote.down(event)

    # -- a remote client (any thread) ------------------------------------------------------------------
    def remote_new_code(self) -> None:
        """Give up the remote session's code (or its failure) and show a fresh one (a ``remote-code`` event)."""
        self.call(lambda: self.remote and self.remote.new_code())

    def remote_ask_sharing(self, request: str) -> None:
        """Ask the remote client to ``pause``, ``resume`` or ``stop`` sharing; their answer arrives as a
        ``remote-consent`` event. ValueError for another request, raised here in the caller's thread."""
        from .remote_host_source import SHARING_REQUESTS

        if request not in SHARING_REQUESTS:
            raise ValueError(f"the practitioner may ask to {', '.join(SHARING_REQUESTS)} sharing, not {request!r}")
        self._submit(lambda: self.remote.ask_sharing(request) if self.remote else asyncio.sleep(0))

    # -- a practitioner's remote session (any thread; see remote_client_link) ----------------------------
    def join_remote(self, relay_url: str, code: str, level: str, step_timeout_s: float | None = None) -> None:
        """Join a practitioner's session: ``remote-paired`` {"confirmation", "level"} or ``remote-failed`` {"text"}
        (``step_timeout_s``: how long each pairing step waits, default the pairing's own)."""
        def join() -> None:
            from .remote_client_link import RemoteClientLink

            assert self._loop is not None
            if self._client_link is None:
                self._client_link = RemoteClientLink(self._loop, self._clock(), self._remote_record, self._push)
            self._client_link.join(relay_url, code, level, step_timeout_s)

        self.call(join)

    def _remote_record(self, event: SourceEvent, share: bool) -> None:
        """An event of the client's remote link (engine thread): into the sink; the practitioner's pacer
        (``remote-pacer``) becomes the pacer the client sees, a ``pacer`` event as :meth:`set_pacer` makes."""
        from .remote_client_link import PACER_EVENT as REMOTE_PACER, pacer_after

        self._sink.event(event, share)
        if isinstance(event, TimelineEvent) and event.kind == REMOTE_PACER:
            self._remote_pacer = pacer_after(self._remote_pacer, event)
            self._pacer_changed(pacer_event_data(self._remote_pacer))

    def remote_confirm(self) -> None:
        self.call(lambda: self._client_link and self._client_link.confirm())

    def remote_choose(self, level: str) -> None:
        """ConsentError (in words) here, in the caller's thread, for a level that cannot be shared yet."""
        from somafeedback.remote.session_control import check_level

        chosen = check_level(level)
        self.call(lambda: self._client_link and self._client_link.choose(chosen))

    def remote_pause(self) -> None:
        self.call(lambda: self._client_link and self._client_link.pause())

    def remote_resume(self) -> None:
        self.call(lambda: self._client_link and self._client_link.resume())

    def remote_stop(self) -> None:
        self.call(lambda: self._client_link and self._client_link.stop_sharing())

    def leave_remote(self) -> None:
        """Stop sharing: what is queued is sent, the practitioner is told; the recording goes on."""
        self.call(lambda: self._client_link and self._client_link.leave())

    def decline_remote_cue(self, command: dict[str, Any]) -> None:
        """The client's "not now" to what the practitioner shows: recorded and sent up."""
        from somafeedback.remote.downlink import ClientViewCommand

        exercise, step = command.get("exercise"), command.get("step")
        view = ClientViewCommand(str(command.get("action")), str(exercise) if exercise else None,
                                 str(command.get("text") or ""), step if isinstance(step, int) else None,
                                 command.get("cue_id"))

        def decline() -> None:
            if self._client_link is not None:
                self._sink.event(self._client_link.declined(view))

        self.call(decline)

    # -- the thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        # a remote session runs in real time (the relay, the clock checks), its local simulated strap too
        simulated = (self.source.simulate is not None or self.source.replay is not None) and self.source.remote_relay is None
        factory = (lambda: SessionEventLoop(self.source.speed if self.source.replay is None else 1.0)) if simulated else None
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._main())
        except BaseException as error:  # noqa: BLE001 - reported to the UI, never lost
            self.error = error
            self._push(TimelineEvent("engine-error", 0, 0.0, {"text": f"{type(error).__name__}: {error}"}))
        finally:
            if self._lsl is not None:  # no LSL socket outlives the engine
                self._lsl.close()
                self._lsl = None
            if self._chance_pool is not None:  # a chance level still computing is let go
                self._chance_pool.shutdown(wait=False, cancel_futures=True)
            self.finished.set()
            self._ready.set()

    async def _main(self) -> None:
        from somafeedback.devices.fleet import StrapFleet
        from somafeedback.devices.supervisor import ReconnectPolicy
        from .sources import SIMULATOR_HINT, NoStrapFound, StrapSource, open_stack, scan
        from .regulation_session import RegulationSession
        from .resonance_stage import analysis_pacer_view

        self._loop = asyncio.get_running_loop()
        self.clock = OffsetClock(LoopClock(self._loop))
        self.session_origin_ns = self.clock.now_ns()
        self._stop = asyncio.Event()
        self._stack: Any = None
        self._fleet: Any = None
        self._sink = _Sink(self)
        options = self.options
        script = self.exercises.get(options.script) if options.script else None
        self.session = RegulationSession(options.mode, self.exercises, self._session_event, script=script,
                                         auto_approve=options.auto_approve, baseline=options.baseline, usual=options.usual,
                                         config=options.regulation, cue_config=options.cues,
                                         plan_text=options.plan_text, method=options.method,
                                         client=self._client_pseudonym(), assessment_weights=options.assessment_weights)
        # the assessment's pacer takes the engine's own pacer path (recorded, published, into the analysis)
        self.session.resonance.pacer_hook = lambda pacer, _t_s: self._pacer_changed(pacer_event_data(pacer))
        self._ready.set()
        if options.lsl:
            self._set_lsl(True)
        if self.source.replay is not None:
            from somafeedback.devices.replay import ReplaySource
            from somafeedback.sessions.file import read_session

            recorded = read_session(self.source.replay)
            for problem in recorded.problems:
                self._push(TimelineEvent("engine-warning", 0, 0.0, {"text": problem}))
            self._sink.analysis.learn_pacers(e for e in recorded.timeline if isinstance(e, TimelineEvent))
            self.replay = ReplaySource(recorded.timeline, self._sink, speed=self.source.speed)
            await self._until_stopped(self.replay.run())
            return
        if self.source.remote_relay is not None:
            from .remote_host_source import RemoteHostSource
            from .remote_local_straps import LocalStraps, local_strap_source

            self.remote = RemoteHostSource(self, self.source.remote_relay, self.source.remote_auth,
                                           rejoin=self.source.remote_rejoin)
            local = local_strap_source(self.source)  # the practitioner's own strap: strap2, once the timebase is fixed
            self._local_straps = LocalStraps(self, local)  # None: none yet ("Connect as practitioner" may add one)
            try:
                await self.remote.run(self._stop)
            finally:
                await self._local_straps.close()
                self.session.finish()
                self._close_recording()
            return
        strap_source = StrapSource(simulate=self.source.simulate, addresses=self.source.addresses,
                                   simulated_straps=self.source.simulated_straps, seed=self.source.seed,
                                   simulated_model=self.source.simulated_model,
                                   nearby_simulated_straps=self.source.nearby_simulated_straps)
        clock = self._clock()
        # a simulated person who follows the pacer reads the one the analysis knows (closed loop)
        async with open_stack(strap_source, pacer_view=analysis_pacer_view(self._sink.analysis)) as (stack, addresses):
            self._stack = stack
            self._fleet = StrapFleet(stack, self._sink, clock, ReconnectPolicy(scan_timeout_s=strap_source.scan_timeout_s))
            try:
                if addresses == [None]:
                    found = await scan(stack, 5.0)
                    if not found:
                        raise NoStrapFound(f"No heart-rate strap found nearby (is it worn and awake?).\n{SIMULATOR_HINT}")
                    addresses = [found[0].address]
                if options.record_to is not None:  # only once there is a strap to record
                    self._open_recording(options.record_to, {"method": str(self.session.method), **options.manifest})
                for number, address in enumerate(addresses, start=1):
                    self._fleet.connect(address, f"strap{number}")
                await self._stop.wait()
            finally:
                await self._fleet.close()
                self.session.finish()  # blocks still waiting for their rest after, into the recording
                if self._client_link is not None:  # what is queued is sent, the practitioner is told (bounded)
                    self._client_link.close()  # blocks until the relay loop stopped: nothing more is handed over
                    await asyncio.sleep(0)  # what it handed over (a cue come down meanwhile) is recorded first
                self._close_recording()

    # -- recording (the loop's thread) ---------------------------------------------------------------
    def _open_recording(self, library: Path, manifest: dict[str, Any]) -> None:
        from .sinks import GuardedRecorder
        from .sources import keep_committed
        from somafeedback.sessions.file import SessionWriter, new_session_path

        clock = self._clock()
        if self.session_origin_ns is not None:  # the review window and the reports count from the session's start
            manifest.setdefault("session_origin_host_ns", self.session_origin_ns)
        writer = GuardedRecorder(
            SessionWriter(new_session_path(library, clock.wall_time(), manifest.get("client")), clock, manifest),
            self._recording_failed)
        self._recorder, self.recording = writer, writer.path
        if self._pacer_data.get("running"):  # a pacer already runs: the recording starts knowing it
            writer.event(TimelineEvent(PACER_EVENT, clock.now_ns(), clock.wall_time(), self._pacer_data))
        self.session.recorder = writer
        self.session.resonance.client = self._client_pseudonym()  # an assessment's ``begin`` names the recording's client
        self._committer = asyncio.ensure_future(keep_committed(writer))
        self._push(TimelineEvent("recording", clock.now_ns(), clock.wall_time(), {"state": "started", "path": str(writer.path)}))

    def _recording_failed(self, error: BaseException) -> None:
        """A write to the session file failed (a full disk, a removed stick): stop recording, keep the
        session going, and say why; what was committed stays readable. Thread: the engine's loop."""
        if self._recorder is None:
            return
        self._committer.cancel()
        path = self._recorder.path
        self._recorder.close("the recording stopped: " + write_failure_text(error))
        self._recorder = None
        self.session.recorder = None
        clock = self.clock
        self._push(TimelineEvent("recording", clock.now_ns() if clock else 0, clock.wall_time() if clock else 0.0,
                                 {"state": "failed", "path": str(path),
                                  "text": f"The recording stopped: {write_failure_text(error)}. "
                                          "What was recorded until then is kept."}))

    def _close_recording(self, beside: bool = False) -> None:
        """Close the recording (the engine's loop). ``beside``: the session goes on, so the close, which stores
        the report's pass (up to a few seconds for a long recording), runs on a thread of its own while the
        loop streams on; the engine's own end waits for such a close before closing anything itself."""
        if self._closing is not None:
            self._closing.join()  # bounded: the pass gives up after STORE_WITHIN_S
            self._closing = None
        if self._recorder is None:
            return
        from .stored_pass import finisher

        recorder, self._recorder = self._recorder, None
        self.session.recorder = None
        self._committer.cancel()
        finish = finisher("stopped") if self._store_at_end else None
        if beside and finish is not None:
            self._closing = threading.Thread(target=self._closed, args=(recorder, finish),
                                             name="somafeedback recording close")
            self._closing.start()
        else:
            self._closed(recorder, finish)

    def _closed(self, recorder: Any, finish: Any) -> None:
        """Close ``recorder`` (storing what ``finish`` makes) and say so (the loop's thread or the closing thread)."""
        recorder.close("stopped", finish)
        clock = self.clock
        self._push(TimelineEvent("recording", clock.now_ns() if clock else 0, clock.wall_time() if clock else 0.0,
                                 {"state": "stopped", "path": str(recorder.path)}))

    def start_recording(self, library: Path, manifest: dict[str, Any] | None = None) -> None:
        """Start recording into a new session in ``library`` (any thread)."""
        def start() -> None:
            if self._recorder is None:
                self._open_recording(library, dict(manifest or self.options.manifest))

        self.call(start)

    def stop_recording(self) -> None:
        """Stop recording while the session goes on (any thread; the close runs beside the stream)."""
        self.call(self._close_recording, True)

    # -- Lab Streaming Layer (any thread) --------------------------------------------------------------
    def set_lsl(self, on: bool) -> None:
        """Start or stop publishing LSL streams; the outcome arrives as an ``lsl`` timeline event."""
        self.call(self._set_lsl, on)

    def _set_lsl(self, on: bool) -> None:
        if on and self._lsl is None:
            from .lsl_outlets import LslOutlets, LslUnavailable

            try:
                self._lsl = LslOutlets(session_name=f"somafeedback-{os.getpid()}")
            except LslUnavailable as error:
                self._push(TimelineEvent("lsl", 0, 0.0, {"on": False, "text": f"Lab Streaming Layer unavailable: {error}"}))
                return
        elif not on and self._lsl is not None:
            self._lsl.close()
            self._lsl = None
        self._push(TimelineEvent("lsl", 0, 0.0, {"on": self._lsl is not None}))

    def _session_event(self, event: TimelineEvent) -> None:
        """A state change or cue from the regulation loop: to the UI, LSL's markers and a remote client."""
        self._push(event)
        if self._lsl is not None:
            self._lsl.event(event)
        if self.remote is not None:
            self.remote.down(event)
        if self._client_link is not None:  # a state or baseline, shared at state and metrics
            self._client_link.derived.regulation_event(event)

    # -- straps (any thread) ----------------------------------------------------------------------
    def scan(self, timeout_s: float = 5.0) -> None:
        """Look for straps; the result arrives as a ``scan`` timeline event."""
        async def look() -> None:
            from .sources import scan

            stack = self._stack if self._stack is not None or self._local_straps is None else self._local_straps.scan_stack()
            if stack is None:
                self._push(TimelineEvent("engine-warning", 0, 0.0, {"text": "No strap to look for here: this "
                                         "session's own strap is simulated."}))
                return
            try:
                found = await scan(stack, timeout_s)
            except Exception as error:  # noqa: BLE001 - reported, never raised into the loop
                self._push(TimelineEvent("engine-warning", 0, 0.0, {"text": str(error)}))
                return
            self._push(TimelineEvent("scan", 0, 0.0, {"straps": [
                {"name": f.name, "address": f.address, "rssi": f.rssi} for f in found]}))

        self._submit(look)

    def connect(self, address: str, strap_id: str) -> None:
        def start() -> None:
            try:
                if self._local_straps is not None and (self._fleet is None or strap_id == "strap1"):  # remote: strap1 is the client's
                    self._local_straps.connect(address, strap_id)
                    return
                self._fleet.connect(address, strap_id)
            except ValueError as error:
                self._push(TimelineEvent("engine-warning", 0, 0.0, {"text": str(error)}))

        self.call(start)

    def disconnect(self, strap_id: str) -> None:
        self._submit(lambda: self._fleet.disconnect(strap_id))

    def _submit(self, coroutine_function: Callable[[], Any]) -> None:
        if self._loop is not None and not self.finished.is_set():
            asyncio.run_coroutine_threadsafe(coroutine_function(), self._loop)

    async def _until_stopped(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())  # type: ignore[union-attr]
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
