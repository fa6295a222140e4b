"""The client's breathing rate and the assessment's weights in the app's settings (issue #19).

* :func:`default_pacer`: the app's pacer ("Pacer only") is the client's rate when one is kept
  (:func:`somafeedback.resonance.client_rate.client_rate`: the latest assessment's best rate, or the
  practitioner's override), else the settings' pacer.
* :func:`practice_exercise`: a home practice's paced steps at the client's rate (each step keeps its own
  breathing-in share; steps with holds, and the assessment itself, stay as written).
* :class:`ResonanceSettingsBox` (in the settings dialog): the client's rate, an override and "Clear the
  override", and the ranking's weights (editable, checked with ``validate_weights``, "Reset to the documented
  defaults"); kept in the app's settings under ``resonance/weights/<name>``.

Thread: the Qt GUI thread (the functions: any).
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from typing import Any, Final

from PySide6 import QtWidgets

from somafeedback.regulation.exercises import Exercise
from somafeedback.regulation.pacer import PacerSettings
from somafeedback.regulation.assessment_protocol import DEFAULT_INHALE_SHARE, RATE_MAX_BPM, RATE_MIN_BPM

WEIGHT_KEY: Final = "resonance/weights/{name}"
RATE_TITLE: Final = "Breathing rate (from the assessment)"
NO_RATE_TEXT: Final = "No breathing rate kept for {client} yet: the pacer uses the settings above."
RATE_TEXT: Final = "{client}'s breathing rate: {rate:g} breaths/min{how}. The pacer and home practice use it."
NO_CLIENT_TEXT: Final = "Name the client above to see or set their breathing rate."
OVERRIDE_LABEL: Final = "Keep this rate instead"
CLEAR_LABEL: Final = "Clear the override"
WEIGHTS_TITLE: Final = "How the assessment ranks the steps (weights)"
RESET_LABEL: Final = "Reset to the documented defaults"
BAD_WEIGHTS_TEXT: Final = "The weights were not kept: {reason}"


def rate_module() -> Any:
    """:mod:`somafeedback.resonance.client_rate` (by name: the live helper's module, merged with it)."""
    return importlib.import_module("somafeedback.resonance.client_rate")


def _rate_available() -> bool:
    try:
        rate_module()
    except ImportError:
        return False
    return True


def client_rate_bpm(library: Path, client: str) -> float | None:
    """The client's kept breathing rate (breaths/min), or None (no client, no rate, or a library not readable)."""
    if not client:
        return None
    try:
        found = rate_module().client_rate(library, client)
    except (ImportError, OSError, ValueError):  # ImportError: a build without the per-client rate
        return None
    return None if found is None else float(found.rate_bpm)


def default_pacer(settings: Any, client: str, library: Path | None = None) -> PacerSettings:
    """The pacer the app starts with: the client's rate when one is kept, else the settings' pacer."""
    rate = client_rate_bpm(Path(library or settings.recordings), client)
    if rate is None:
        return settings.pacer()
    return rate_module().client_pacer(rate, DEFAULT_INHALE_SHARE)


def practice_exercise(exercise: Exercise, library: Path, client: str | None) -> Exercise:
    """``exercise`` with its paced steps at the client's rate (unchanged when no rate is kept)."""
    rate = client_rate_bpm(library, client or "")
    if rate is None or getattr(exercise, "assessment", None) is not None:
        return exercise
    steps = []
    for step in exercise.steps:
        pacer = step.pacer
        if pacer is not None and not pacer.hold_in_s and not pacer.hold_out_s:
            share = pacer.inhale_s / (pacer.inhale_s + pacer.exhale_s)
            step = dataclasses.replace(step, pacer=rate_module().client_pacer(rate, share))
        steps.append(step)
    return dataclasses.replace(exercise, steps=tuple(steps))


def assessment_weights(settings: Any) -> dict[str, float]:
    """The weights kept in the settings (the documented defaults where none is kept, or when invalid)."""
    from somafeedback.resonance.scoring import DEFAULT_WEIGHTS, validate_weights

    weights = {name: float(settings._get(WEIGHT_KEY.format(name=name), value, float))
               for name, value in DEFAULT_WEIGHTS.items()}
    try:
        validate_weights(weights)
    except ValueError:
        return dict(DEFAULT_WEIGHTS)
    return weights


class ResonanceSettingsBox(QtWidgets.QGroupBox):
    """The settings dialog's part for the assessment: the client's rate and the weights."""

    def __init__(self, settings: Any, client: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(RATE_TITLE, parent)
        self.settings, self.client = settings, client
        self.library = Path(settings.recordings)
        form = QtWidgets.QFormLayout(self)
        self.rate_label = QtWidgets.QLabel()
        self.rate_label.setWordWrap(True)
        form.addRow(self.rate_label)
        self.override = QtWidgets.QDoubleSpinBox()
        self.override.setRange(RATE_MIN_BPM, RATE_MAX_BPM)
        self.override.setSingleStep(0.25)
        self.override.setSuffix(" breaths/min")
        self.override_button = QtWidgets.QPushButton(OVERRIDE_LABEL)
        self.override_button.clicked.connect(self.keep_override)
        self.clear_button = QtWidgets.QPushButton(CLEAR_LABEL)
        self.clear_button.clicked.connect(self.clear_override)
        row = QtWidgets.QHBoxLayout()
        for widget in (self.override, self.override_button, self.clear_button):
            row.addWidget(widget)
        form.addRow(row)
        self.weights: dict[str, QtWidgets.QDoubleSpinBox] = {}
        self.weights_message = QtWidgets.QLabel()
        self.weights_message.setWordWrap(True)
        self.show_rate()
        try:
            from somafeedback.resonance.scoring import DEFAULT_WEIGHTS, WEIGHT_LABELS
        except ImportError:
            return  # a build without the ranking: only the rate shows
        form.addRow(QtWidgets.QLabel(f"<b>{WEIGHTS_TITLE}</b>"))
        kept = assessment_weights(settings)
        for name in DEFAULT_WEIGHTS:
            spin = QtWidgets.QDoubleSpinBox()
            spin.setRange(0.0, 10.0)
            spin.setSingleStep(0.05)
            spin.setValue(kept[name])
            self.weights[name] = spin
            form.addRow(str(WEIGHT_LABELS.get(name, name)), spin)
        reset = QtWidgets.QPushButton(RESET_LABEL)
        reset.clicked.connect(self.reset_weights)
        form.addRow(reset)
        form.addRow(self.weights_message)

    def show_rate(self) -> None:
        """The client's rate as kept now (the latest assessment's, or the override)."""
        rate = client_rate_bpm(self.library, self.client)
        enabled = bool(self.client) and _rate_available()
        for widget in (self.override, self.override_button, self.clear_button):
            widget.setEnabled(enabled)
        if not self.client:
            self.rate_label.setText(NO_CLIENT_TEXT)
        elif rate is None:
            self.rate_label.setText(NO_RATE_TEXT.format(client=self.client))
        else:
            found = rate_module().client_rate(self.library, self.client)  # the module is there: a rate came from it
            how = " (set by the practitioner)" if getattr(found, "source", "") == "practitioner" else " (from the assessment)"
            self.rate_label.setText(RATE_TEXT.format(client=self.client, rate=rate, how=how))
            self.override.setValue(rate)

    def keep_override(self) -> None:
        if self.client:
            rate_module().set_client_rate(self.library, self.client, round(self.override.value(), 2), by="practitioner")
            self.show_rate()

    def clear_override(self) -> None:
        clear = getattr(rate_module(), "clear_client_rate", None)
        if self.client and clear is not None:
            clear(self.library, self.client)
            self.show_rate()

    def reset_weights(self) -> None:
        from somafeedback.resonance.scoring import DEFAULT_WEIGHTS

        for name, spin in self.weights.items():
            spin.setValue(float(DEFAULT_WEIGHTS[name]))

    def save(self) -> bool:
        """Keep the weights (the dialog's OK); False with the reason shown when they are not valid."""
        if not self.weights:
            return True
        from somafeedback.resonance.scoring import validate_weights

        weights = {name: spin.value() for name, spin in self.weights.items()}
        try:
            validate_weights(weights)
        except ValueError as error:
            self.weights_message.setText(BAD_WEIGHTS_TEXT.format(reason=error))
            return False
        for name, value in weights.items():
            self.settings.set(WEIGHT_KEY.format(name=name), value)
        return True
