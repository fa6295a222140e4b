"""Settings that persist between runs (QSettings), their dialog, and the shortcuts help.

Kept: the thresholds of the state model and the cue engine, the breathing pacer, sound,
the recordings folder, the client and practitioner names (pseudonyms), whether the
client view shows numbers and the time left in an exercise, and each client's own plan
if home practice gets too much (free text, per pseudonym; the home window offers it when
it offers to end a practice). Defaults come from the core's
config classes, so an empty settings store means "the documented defaults".

The settings file holds names and plans, so it is kept private: mode 0600 after every write, and
the app's own settings folder (``somafeedback``) 0700 (:mod:`somafeedback.sessions.private`).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from PySide6 import QtCore, QtWidgets

from somafeedback.regulation.cues import CueConfig
from somafeedback.sessions.private import make_private, private_folder
from somafeedback.sessions.library import default_library
from somafeedback.regulation.pacer import PacerSettings
from somafeedback.regulation.states import RegulationConfig

from .cue_panel import SHORTCUTS_HELP

# (settings key, config field, label, unit, minimum, maximum, step)
THRESHOLDS = (
    ("regulation/above_bpm", "above_bpm", "Above band: at least", "bpm over baseline", 2.0, 40.0, 1.0),
    ("regulation/above_sd", "above_sd", "Above band: at least", "SD of baseline HR", 0.5, 6.0, 0.25),
    ("regulation/band_top_bpm", "band_top_bpm", "Top of the usual range: at least", "bpm", 1.0, 20.0, 1.0),
    ("regulation/ln_fall", "ln_fall", "Variability fall that confirms", "ln units", 0.05, 1.5, 0.05),
    ("regulation/above_dwell_s", "above_dwell_s", "Held for", "s before 'above band'", 5.0, 180.0, 5.0),
    ("regulation/in_band_dwell_s", "in_band_dwell_s", "Back in range for", "s before 'in band'", 10.0, 300.0, 5.0),
)
CUES = (
    ("cues/min_gap_s", "min_gap_s", "At least", "s between suggestions", 0.0, 1800.0, 30.0),
    ("cues/max_per_session", "max_per_session", "At most", "suggestions per session", 0.0, 50.0, 1.0),
    ("cues/grounding_after_s", "grounding_after_s", "Suggest grounding after", "s above band", 5.0, 300.0, 5.0),
    ("cues/resource_after_s", "resource_after_s", "Suggest a resource after", "s of activation", 60.0, 1200.0, 30.0),
)

CLIENT_TIME_LEFT_KEY = "client/time_left"
SETTINGS_FOLDER_NAME: Final = "somafeedback"  # the app's own settings folder (made 0700); any other is left alone
PLAN_GROUP: Final = "plans"  # plans/<pseudonym, case-folded and %-quoted>: a client's plan text
PLAN_LABEL: Final = "Client's plan if practice gets too much"
PLAN_PLACEHOLDER: Final = ("In the client's own words, e.g. \"I stop, make a cup of tea and call my sister.\" "
                           "Shown at home when the app offers to end a practice.")


CONVENTIONS_KEY = "analysis/conventions"
REMOTE_RELAY_KEY = "remote/relay"  # the relay address last used to invite a remote client
CONVENTION_CHOICES = (  # (name, what the dialog shows); docs/metrics.md section 5 has the table
    ("kubios", "Kubios conventions (compare with Kubios HRV)"),
    ("task-force", "Task Force 1996 (one periodogram of each 5 min)"),
    ("live", "as the live view computes them (newest 256 s)"),
)


def plan_key(client: str) -> str:
    """The settings key of ``client``'s plan text (pseudonyms match whatever their case, as in the library)."""
    return f"{PLAN_GROUP}/{quote(client.strip().casefold(), safe='')}"


def method_key(client: str) -> str:
    """The settings key of ``client``'s default method (SE, Focusing or CSE)."""
    return f"methods/{quote(client.strip().casefold(), safe='')}"


class AppSettings:
    """Typed access to the app's persistent settings."""

    def __init__(self, store: QtCore.QSettings | None = None) -> None:
        self.store = store or QtCore.QSettings("somafeedback", "somafeedback")

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.store.value(key, default)
        try:
            return kind(value) if kind is not bool else value in (True, "true", "True", 1, "1")
        except (TypeError, ValueError):
            return default

    def regulation(self) -> RegulationConfig:
        base = RegulationConfig()
        return replace(base, **{f: self._get(k, getattr(base, f), float) for k, f, *_ in THRESHOLDS})

    def cues(self) -> CueConfig:
        base = CueConfig()
        kinds = {f.name: type(getattr(base, f.name)) for f in fields(base)}
        return replace(base, **{f: self._get(k, getattr(base, f), kinds[f]) for k, f, *_ in CUES})

    def pacer(self) -> PacerSettings:
        return PacerSettings(self._get("pacer/inhale_s", 4.0, float), self._get("pacer/exhale_s", 6.0, float))

    @property
    def recordings(self) -> Path:
        return Path(self._get("recordings/folder", str(default_library()), str))

    @property
    def chimes(self) -> bool:
        return self._get("sound/chimes", False, bool)

    @property
    def client_numbers(self) -> bool:
        return self._get("client/numbers", False, bool)

    @property
    def remote_relay(self) -> str:
        """The relay address last used to invite a remote client ("" before the first)."""
        return str(self._get(REMOTE_RELAY_KEY, "", str))

    def names(self) -> tuple[str, str]:
        return self._get("people/client", "", str), self._get("people/practitioner", "", str)

    def set(self, key: str, value: Any) -> None:
        self._private_folder()
        self.store.setValue(key, value)
        self.store.sync()
        self._private_file()

    def _private_folder(self) -> None:
        """The app's own settings folder, 0700 before a write (created so when missing)."""
        folder = Path(self.store.fileName()).parent
        if self.store.fileName() and folder.name == SETTINGS_FOLDER_NAME:
            try:
                private_folder(folder)
            except OSError:
                pass  # QSettings reports what it cannot write through its status

    def _private_file(self) -> None:
        """The settings file 0600 after a write (QSettings creates it with the usual mode)."""
        path = Path(self.store.fileName())
        if self.store.fileName() and path.is_file():
            try:
                make_private(path)
            except OSError:
                pass

    @property
    def client_time_left(self) -> bool:
        """Whether the client view's step line shows the time left in the exercise (default: yes)."""
        return self._get(CLIENT_TIME_LEFT_KEY, True, bool)

    def plan_text(self, client: str | None) -> str | None:
        """``client``'s plan if practice gets too much (None: no client, or no plan written)."""
        if not client or not client.strip():
            return None
        text = str(self._get(plan_key(client), "", str)).strip()
        return text or None

    def set_plan_text(self, client: str, text: str) -> None:
        """Keep ``client``'s plan text (empty text removes it)."""
        if not client.strip():
            raise ValueError("a plan belongs to a client: give the client's pseudonym")
        if text.strip():
            self.set(plan_key(client), text.strip())
        else:
            self.store.remove(plan_key(client))
            self.store.sync()
            self._private_file()

    def method(self, client: str | None) -> str:
        """``client``'s default method for a new session (SE when none was chosen yet)."""
        from somafeedback.regulation.methods import Method

        if not client or not client.strip():
            return str(Method.SE)
        try:
            return str(Method.parse(str(self._get(method_key(client), "SE", str))))
        except ValueError:  # a hand-edited settings file: fall back to the default
            return str(Method.SE)

    def set_method(self, client: str, method: str) -> None:
        """Keep ``method`` as ``client``'s default (ValueError for an unknown method)."""
        from somafeedback.regulation.methods import Method

        if client.strip():
            self.set(method_key(client), str(Method.parse(method)))

    @property
    def frequency_conventions(self) -> str:
        """The frequency-domain convention set of reviews and reports (default ``kubios``;
        somafeedback.hrv.conventions): how LF and HF of a segment, a phase or a session are computed."""
        from somafeedback.hrv.conventions import DEFAULT_FOR_RECORDS, PRESETS

        name = str(self._get(CONVENTIONS_KEY, DEFAULT_FOR_RECORDS, str))
        return name if name in PRESETS else DEFAULT_FOR_RECORDS

    @property
    def suggestion_sound(self) -> bool:
        """A soft tone with each new suggestion in the practitioner's window (default: off)."""
        return self._get("sound/suggestions", False, bool)


class SettingsDialog(QtWidgets.QDialog):
    """Edit the settings; OK stores them (new values apply to the next session)."""

    def __init__(self, settings: AppSettings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        form = QtWidgets.QFormLayout(self)
        self.fields: dict[str, QtWidgets.QWidget] = {}
        client, practitioner = settings.names()
        self._line(form, "people/client", "Client (pseudonym)", client)
        self._line(form, "people/practitioner", "Practitioner", practitioner)
        self.plan = QtWidgets.QPlainTextEdit(settings.plan_text(client) or "")  # the client's own plan (per client)
        self.plan.setPlaceholderText(PLAN_PLACEHOLDER)
        self.plan.setTabChangesFocus(True)
        self.plan.setMaximumHeight(90)
        form.addRow(PLAN_LABEL, self.plan)
        self._plan_client = client
        self._plan_loaded = self.plan.toPlainText().strip()
        client_field = self.fields["people/client"]
        assert isinstance(client_field, QtWidgets.QLineEdit)
        client_field.editingFinished.connect(self._load_plan)
        self._line(form, "recordings/folder", "Recordings folder", str(settings.recordings))
        pacer = settings.pacer()
        self._number(form, "pacer/inhale_s", "Pacer: breathe in", "s", pacer.inhale_s, 1.0, 15.0, 0.5)
        self._number(form, "pacer/exhale_s", "Pacer: breathe out", "s", pacer.exhale_s, 1.0, 20.0, 0.5)
        regulation, cues = settings.regulation(), settings.cues()
        for key, name, label, unit, low, high, step in THRESHOLDS:
            self._number(form, key, label, unit, getattr(regulation, name), low, high, step)
        for key, name, label, unit, low, high, step in CUES:
            self._number(form, key, label, unit, getattr(cues, name), low, high, step)
        self._check(form, "sound/chimes", "Chimes for eyes-closed practice", settings.chimes)
        self._check(form, "client/numbers", "Show numbers on the client view", settings.client_numbers)
        self._check(form, CLIENT_TIME_LEFT_KEY, "Show the time left in an exercise on the client view",
                    settings.client_time_left)
        self._choice(form, CONVENTIONS_KEY, "LF/HF in reviews and reports", CONVENTION_CHOICES,
                     settings.frequency_conventions)
        from .resonance_settings import ResonanceSettingsBox

        self.resonance = ResonanceSettingsBox(settings, client)  # the client's breathing rate, the weights (#19)
        form.addRow(self.resonance)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _line(self, form: QtWidgets.QFormLayout, key: str, label: str, value: str) -> None:
        widget = QtWidgets.QLineEdit(value)
        self.fields[key] = widget
        form.addRow(label, widget)

    def _number(self, form: QtWidgets.QFormLayout, key: str, label: str, unit: str, value: float,
                low: float, high: float, step: float) -> None:
        widget = QtWidgets.QDoubleSpinBox()
        widget.setRange(low, high)
        widget.setSingleStep(step)
        widget.setValue(float(value))
        widget.setSuffix(f" {unit}")
        self.fields[key] = widget
        form.addRow(label, widget)

    def _check(self, form: QtWidgets.QFormLayout, key: str, label: str, value: bool) -> None:
        widget = QtWidgets.QCheckBox()
        widget.setChecked(value)
        self.fields[key] = widget
        form.addRow(label, widget)

    def _choice(self, form: QtWidgets.QFormLayout, key: str, label: str, choices: tuple[tuple[str, str], ...],
                value: str) -> None:
        widget = QtWidgets.QComboBox()
        for data, text in choices:
            widget.addItem(text, data)
        widget.setCurrentIndex(max(0, widget.findData(value)))
        self.fields[key] = widget
        form.addRow(label, widget)

    def _load_plan(self) -> None:
        """Another client named: show that client's plan, unless a plan was typed here (it stays, for the new name)."""
        client_field = self.fields["people/client"]
        assert isinstance(client_field, QtWidgets.QLineEdit)
        client = client_field.text().strip()
        if client.casefold() != self._plan_client.casefold():
            self._plan_client = client
            if self.plan.toPlainText().strip() == self._plan_loaded:  # nothing typed for the last one: swap
                self._plan_loaded = self.settings.plan_text(client) or ""
                self.plan.setPlainText(self._plan_loaded)

    def accept(self) -> None:
        if not self.resonance.save():
            return  # the reason shows under the weights
        client_field = self.fields["people/client"]
        assert isinstance(client_field, QtWidgets.QLineEdit)
        client = client_field.text().strip()
        if client:
            self.settings.set_plan_text(client, self.plan.toPlainText())
        for key, widget in self.fields.items():
            if isinstance(widget, QtWidgets.QLineEdit):
                self.settings.set(key, widget.text().strip())
            elif isinstance(widget, QtWidgets.QDoubleSpinBox):
                self.settings.set(key, widget.value())
            elif isinstance(widget, QtWidgets.QCheckBox):
                self.settings.set(key, widget.isChecked())
            elif isinstance(widget, QtWidgets.QComboBox):
                self.settings.set(key, widget.currentData())
        super().accept()


def show_shortcuts(parent: QtWidgets.QWidget) -> None:
    """The keyboard shortcuts, in a help box."""
    QtWidgets.QMessageBox.information(parent, "Keyboard shortcuts", SHORTCUTS_HELP.replace(". ", ".\n\n"))
