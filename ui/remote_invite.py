"""Inviting a remote client from the practitioner window, and showing how the remote session goes.

:class:`RemoteInviteDialog` (Session → "Invite a remote client…"): the relay's address (remembered
in the settings; or "Start a relay on this computer"), "Create code", then the code in large text,
the pairing's confirmation words, what the client chose to share, or a failure in words with "New code".
"I am wearing a strap too" (:mod:`.remote_own_strap`) adds the practitioner's own strap to the session.

:class:`RemoteSession` is the window's part of it: the Session menu's actions (invite, ask the client
to pause or resume sharing, end the remote session), the sharing line in the status bar, the remote
row of the strap panel, and the ``remote-*`` events the engine reports (see
:mod:`somafeedback.live.remote_host_source`), which it routes to the dialog, the panel and the log.

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from PySide6 import QtCore, QtGui, QtWidgets

from somafeedback.devices.events import TimelineEvent
from somafeedback.remote.consent import BREATHING_EVENT, METRICS_EVENT
from somafeedback.remote.derived_reader import breathing_from_event, metrics_from_event

from .remote_own_strap import OWN_ROLE, OWN_STRAP, OwnStrap, OwnStrapBox
from .settings import REMOTE_RELAY_KEY

if TYPE_CHECKING:
    from somafeedback.remote.host_state import HostState
    from somafeedback.remote.relay import LocalRelay

    UseRemote = Callable[..., None]  # (relay url, rejoin: a saved state's path or None, record: bool, own: OwnStrap)

REMOTE_STRAP: Final = "strap1"  # the client's strap keeps its own id through the relay
CODE_POINT_SIZE: Final = 28
WAITING_TEXT: Final = "waiting for your client…"
THEIR_LEVEL: Final = {"state": "their regulation state", "metrics": "their state and measures",
                      "beats": "their state, measures and heartbeats", "raw": "everything from their strap"}
COMPUTED_ON_CLIENT: Final = "computed on the client's computer"
REJOINED_STATUS: Final = ("Rejoined the remote session with your client: what their app sent meanwhile "
                          "follows.")
YOUR_LINK_WORDS: Final = {"lost": "your relay link dropped", "back": "your relay link is back",
                          "rejoined": "rejoined after your app stopped"}
LINK_WORDS: Final = {"lost": "remote link lost: the client's data is kept and follows", "back": "remote link back"}


def sharing_text(data: Mapping[str, Any]) -> str:
    """What the client shares now, in the practitioner's words, from a ``remote-consent`` event's data."""
    if data.get("stopped"):
        return "The client stopped sharing: nothing more arrives from them."
    if not data.get("confirmed"):
        return "The client has not confirmed what to share yet: nothing arrives until they do."
    if data.get("paused"):
        by = "at your request" if data.get("paused_by") == "practitioner" else "by the client"
        return f"Sharing paused {by}: nothing arrives until it resumes."
    return f"The client shares {THEIR_LEVEL.get(str(data.get('level')), str(data.get('level')))}."


class RemoteInviteDialog(QtWidgets.QDialog):
    """The relay, the code to read out, and how the pairing goes (see the module docstring)."""

    def __init__(self, relay_url: str, on_create: Callable[[str, OwnStrap | None], None], on_new_code: Callable[[], None],
                 on_start_relay: Callable[[], str | None], parent: QtWidgets.QWidget | None = None,
                 own_strap: OwnStrapBox | None = None) -> None:
        """``own_strap``: "I am wearing a strap too" (None: not offered)."""
        super().__init__(parent)
        self.setWindowTitle("Invite a remote client")
        self._on_create, self._on_new_code, self._on_start_relay = on_create, on_new_code, on_start_relay
        layout = QtWidgets.QVBoxLayout(self)
        form = QtWidgets.QFormLayout()
        self.relay = QtWidgets.QLineEdit(relay_url)
        self.relay.setPlaceholderText("nats://relay.example.org:4222")
        form.addRow("Relay address", self.relay)
        layout.addLayout(form)
        self.own_strap = own_strap
        if own_strap is not None:
            layout.addWidget(own_strap)
        buttons = QtWidgets.QHBoxLayout()
        self.start_relay_button = QtWidgets.QPushButton("Start a relay on this computer")
        self.start_relay_button.setToolTip("For clients on the practice's network: the relay runs until the app quits")
        self.start_relay_button.clicked.connect(self._start_relay)
        self.create_button = QtWidgets.QPushButton("Create code")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self._create)
        buttons.addWidget(self.start_relay_button)
        buttons.addWidget(self.create_button)
        layout.addLayout(buttons)
        self.code = QtWidgets.QLabel()
        font = self.code.font()
        font.setPointSize(CODE_POINT_SIZE)
        font.setBold(True)
        self.code.setFont(font)
        self.code.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.code.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.validity = QtWidgets.QLabel()
        self.validity.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.status = QtWidgets.QLabel()
        self.status.setWordWrap(True)
        self.sharing = QtWidgets.QLabel()
        self.sharing.setWordWrap(True)
        for label in (self.code, self.validity, self.status, self.sharing):
            layout.addWidget(label)
        self.new_code_button = QtWidgets.QPushButton("New code")
        self.new_code_button.clicked.connect(self._new_code)
        self.new_code_button.setVisible(False)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.hide)  # the session goes on: the dialog only shows it
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.new_code_button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.setMinimumWidth(520)

    def _start_relay(self) -> None:
        url = self._on_start_relay()
        if url:
            self.relay.setText(url)

    def _create(self) -> None:
        url = self.relay.text().strip()
        if not url:
            self.status.setText("Give the relay's address first (for example nats://relay.example.org:4222), "
                                "or start a relay on this computer.")
            return
        try:
            own = self.own_strap.choice() if self.own_strap is not None else None
        except ValueError as error:
            self.status.setText(str(error))
            return
        self._lock(True)
        self.code.clear()
        self.status.setText("Connecting to the relay…")
        self._on_create(url, own)

    def _lock(self, locked: bool) -> None:
        """While a session is being made the relay and the strap are fixed."""
        self.create_button.setEnabled(not locked)
        self.start_relay_button.setEnabled(not locked)
        self.relay.setReadOnly(locked)
        if self.own_strap is not None:
            self.own_strap.lock(locked)

    def _new_code(self) -> None:
        self.new_code_button.setVisible(False)
        self.status.setText("Making a new code…")
        self._on_new_code()

    def take(self, event: TimelineEvent) -> None:
        """A ``remote-*`` event from the engine."""
        data = event.data
        if event.kind == "remote-code":
            self.code.setText(str(data.get("code")))
            minutes = round(float(data.get("valid_s", 600)) / 60)
            self.validity.setText(f"valid {minutes} minutes, once — read it to your client")
            self.status.setText(WAITING_TEXT)
            self.new_code_button.setVisible(False)
        elif event.kind == "remote-paired":
            self.status.setText(f"paired: ask your client whether they see the words “{data.get('confirmation')}”")
            self.validity.clear()
        elif event.kind == "remote-failed":
            self.status.setText(str(data.get("text")))
            fatal = bool(data.get("fatal"))
            self.new_code_button.setVisible(not fatal and not data.get("paired"))
            if fatal:  # the relay could not be reached: another address may be tried
                self._lock(False)
        elif event.kind == "remote-consent":
            self.sharing.setText(sharing_text(data))
        elif event.kind == "remote-ended":
            self.status.setText(f"The remote session ended: {data.get('reason')}.")
            self.new_code_button.setVisible(False)


class RemoteSession:
    """The practitioner window's remote session: menu actions, sharing line, strap row, events (GUI thread).

    ``window`` is the :class:`~.practitioner_window.PractitionerWindow` (its engine, settings, strap panel
    and log); ``use_remote(url, rejoin=None, record=False)`` swaps the window onto a new engine whose source
    is a remote client on that relay (``rejoin``: the saved state of an interrupted session to come back to;
    ``record``: record it even when "Record this session" is off).
    """

    def __init__(self, window: Any, menu: QtWidgets.QMenu, use_remote: UseRemote | None) -> None:
        self.window = window
        self._use_remote = use_remote
        self.dialog: RemoteInviteDialog | None = None
        self.local_relay: LocalRelay | None = None
        self.active = False
        self.invite_action = menu.addAction("Invite a remote client…", self.invite)
        self.invite_action.setEnabled(use_remote is not None)
        self.pause_action = menu.addAction("Ask the client to pause sharing",
                                           lambda: self.window.engine.remote_ask_sharing("pause"))
        self.resume_action = menu.addAction("Ask the client to resume sharing",
                                            lambda: self.window.engine.remote_ask_sharing("resume"))
        self.end_action = menu.addAction("End the remote session", self.end)
        self._set_actions(False)
        self.sharing = QtWidgets.QLabel()
        self.sharing.setVisible(False)
        window.statusBar().addPermanentWidget(self.sharing)

    def _set_actions(self, paired: bool) -> None:
        for action in (self.pause_action, self.resume_action, self.end_action):
            action.setEnabled(paired)

    def invite(self) -> RemoteInviteDialog:
        """Session → "Invite a remote client…": the dialog (made once, shown again)."""
        if self.dialog is None:
            url = self.window.settings.remote_relay
            source = self.window.engine.source
            simulated = source.simulate is not None or source.replay is not None
            own = OwnStrapBox(simulated, lambda: self.window.engine.scan())
            self.dialog = RemoteInviteDialog(url, self._create, lambda: self.window.engine.remote_new_code(),
                                             self._start_relay, self.window, own_strap=own)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _create(self, url: str, own: OwnStrap | None = None) -> None:
        assert self._use_remote is not None
        self.window.settings.set(REMOTE_RELAY_KEY, url)
        self.active = True
        if own is not None:  # the practitioner's own strap: strap2 of the remote engine, on this computer
            self.window.devices.set_role(OWN_STRAP, OWN_ROLE)
        self._use_remote(url, own=own)

    def found(self, straps: list[dict[str, Any]]) -> None:
        """A scan's result: the invite dialog's strap list too."""
        if self.dialog is not None and self.dialog.own_strap is not None:
            self.dialog.own_strap.found(straps)

    def rejoin(self, path: Path, state: HostState) -> None:
        """"Rejoin" in the offer of an interrupted remote session (ui/remote_rejoin_offer.py): the window goes
        on with it on a new engine, recorded when the earlier part was."""
        from somafeedback.remote.transport import shown_url

        if self._use_remote is None:
            return
        remembered = self.window.settings.remote_relay  # with its login, when it is the same relay
        url = remembered if remembered and shown_url(remembered) == state.relay else state.relay
        self.active = True
        self.window.statusBar().showMessage("Rejoining the remote session with your client…", 10000)
        self._use_remote(url, path, bool(state.recording))

    def _start_relay(self) -> str | None:
        from somafeedback.remote.errors import RelayError
        from somafeedback.remote.relay import LocalRelay, RelayConfig

        if self.local_relay is None or not self.local_relay.running:
            relay = LocalRelay(RelayConfig(host="0.0.0.0"))  # the practice's network
            QtWidgets.QApplication.setOverrideCursor(QtGui.QCursor(QtCore.Qt.CursorShape.WaitCursor))
            try:
                relay.start()
            except RelayError as error:
                if self.dialog is not None:
                    self.dialog.status.setText(f"The relay could not start: {error}")
                return None
            finally:
                QtWidgets.QApplication.restoreOverrideCursor()
            self.local_relay = relay
            app = QtWidgets.QApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(self.close)
        return self.local_relay.url

    def end(self) -> None:
        """Session → "End the remote session": the engine tells the client and closes the recording (without
        waiting here: ``remote-ended`` says when it is done)."""
        self.window.engine.stop(timeout_s=0.0)

    def close(self) -> None:
        """The window closes or the app quits: a relay started here stops."""
        if self.local_relay is not None:
            self.local_relay.stop()
            self.local_relay = None

    # -- what the engine reports -------------------------------------------------------------------
    def take(self, event: TimelineEvent) -> None:
        """A ``remote-*`` event. The client's own events carry the client's clock: they are logged at their arrival."""
        data, window = event.data, self.window
        from_client = event.kind in ("remote-consent", "remote-cue") or data.get("side") == "client"
        stamp = 0 if from_client else event.host_ns
        if self.dialog is not None:
            self.dialog.take(event)
        if event.kind == "remote-code":
            window._log(event.host_ns, "remote: a code was made for your client")
        elif event.kind == "remote-paired":
            self._set_actions(True)
            window.devices.remote_row(REMOTE_STRAP, YOUR_LINK_WORDS["rejoined"] if data.get("rejoined") else "connected")
            if data.get("rejoined"):
                continues = f"; this recording continues {data['continues']}" if data.get("continues") else ""
                text = f"remote: rejoined the session with your client (“{data.get('confirmation')}”){continues}"
                window.statusBar().showMessage(REJOINED_STATUS, 20000)
            else:
                text = f"remote: paired (“{data.get('confirmation')}”)"
            window._log(event.host_ns, text)
        elif event.kind == "remote-failed":
            if data.get("rejoin"):  # the interrupted session cannot be rejoined: said once, in words
                self.active = False
                window.statusBar().showMessage(f"The interrupted remote session could not be rejoined: {data.get('text')}.")
            window._log(event.host_ns, f"remote: {data.get('text')}")
        elif event.kind == "remote-ended":
            self._set_actions(False)
            window.devices.remote_row(REMOTE_STRAP, "ended")
            window._log(event.host_ns, f"remote session ended: {data.get('reason')}")
        elif event.kind == "remote-consent":
            self.sharing.setText(sharing_text(data))
            self.sharing.setVisible(True)
            window._log(stamp, f"sharing: {sharing_text(data)}")
        elif event.kind == "remote-link":
            state = str(data.get("state"))
            if data.get("side") == "practitioner":
                window.devices.remote_row(REMOTE_STRAP, YOUR_LINK_WORDS.get(state, f"your relay link: {state}"))
            else:
                window.devices.remote_row(REMOTE_STRAP, LINK_WORDS.get(state, state))
            window._log(stamp, str(data.get("text") or f"remote link {state}"))
        elif event.kind == METRICS_EVENT:  # measured on the client's computer (they share measures, not beats)
            window.plots.computed_note = COMPUTED_ON_CLIENT
            window._take_output(event.strap_id or REMOTE_STRAP, metrics_from_event(event))
        elif event.kind == BREATHING_EVENT:
            window._take_output(event.strap_id or REMOTE_STRAP, breathing_from_event(event))
        elif event.kind == "remote-clock":
            window.devices.remote_clock(str(data.get("text", "")))
        elif event.kind == "remote-cue" and data.get("action") == "declined":
            what = data.get("exercise") or data.get("text") or "what was shown"
            window._log(stamp, f"the client chose not now: {what}")
