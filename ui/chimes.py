"""Optional soft chimes for eyes-closed practice: a tone at each pacer phase and each new step.

Design rules (research/somatic.md §4.7, §5): sound is off by default; when the client
turns it on, the tones are short, soft sine tones with gentle fades (a slightly higher
tone as the in-breath starts, a lower one as the out-breath starts, a two-note bell for
a new step), played at low volume.

Audio is optional. The tones are generated once as small WAV files in a temporary folder
and played with ``QtMultimedia.QSoundEffect``. When there is no sound here (the Qt wheel
has no QtMultimedia module, there is no audio output device, or the effect cannot load,
all common on headless machines), :attr:`Chimes.available` is False, nothing raises, and
the message :data:`UNAVAILABLE_TEXT` is handed once to the ``report`` callback, the first
time chimes are switched on (the practice simply continues without them). Qt Multimedia is
loaded only when chimes are first switched on (or :attr:`Chimes.available` is asked), so a
practice with sound off never starts the audio back end (nor its console messages).

Thread: the Qt GUI thread.
"""

from __future__ import annotations

import importlib
import math
import struct
import tempfile
import wave
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Final

from PySide6 import QtCore

UNAVAILABLE_TEXT: Final = "Sound is not available on this computer; the practice continues without chimes."

SAMPLE_RATE: Final = 22050
VOLUME: Final = 0.25  # soft: the effect's own volume on top of the tones' quiet amplitude
AMPLITUDE: Final = 0.35

# (frequencies in Hz, tone length in s) per chime; all gentle, none sharp.
TONES: Final[dict[str, tuple[tuple[float, ...], float]]] = {
    "inhale": ((440.0,), 0.45),
    "exhale": ((349.23,), 0.45),
    "hold": ((392.0,), 0.3),
    "step": ((523.25, 659.25), 0.7),
}
PHASE_TONES: Final = {"inhale": "inhale", "exhale": "exhale", "hold_in": "hold", "hold_out": "hold"}


def tone_samples(frequencies: tuple[float, ...], seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    """16-bit mono PCM of a soft tone: sines (played one after another for a bell) with fades."""
    count = max(1, int(seconds * rate))
    per_note = count // len(frequencies)
    fade = max(1, int(0.06 * rate))
    frames = bytearray()
    for note, frequency in enumerate(frequencies):
        n = per_note if note < len(frequencies) - 1 else count - per_note * (len(frequencies) - 1)
        for i in range(n):
            envelope = min(1.0, i / fade, (n - i) / fade) * math.exp(-2.0 * i / n)
            value = AMPLITUDE * envelope * math.sin(2.0 * math.pi * frequency * i / rate)
            frames += struct.pack("<h", int(max(-1.0, min(1.0, value)) * 32767))
    return bytes(frames)


def write_tone(path: Path, frequencies: tuple[float, ...], seconds: float) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(tone_samples(frequencies, seconds))
    return path


def load_multimedia() -> ModuleType | None:
    """``PySide6.QtMultimedia``, or None when this Qt build has none (PySide6-Essentials)."""
    try:
        return importlib.import_module("PySide6.QtMultimedia")
    except Exception:  # noqa: BLE001 - ImportError, or a broken plugin: either way, no sound
        return None


class Chimes(QtCore.QObject):
    """Soft tones at pacer phase changes and step changes, when enabled and when sound exists.

    ``report(text)`` receives :data:`UNAVAILABLE_TEXT` at most once, the first time chimes
    are enabled on a computer without sound. ``played`` counts the chimes played (tests).
    """

    def __init__(self, report: Callable[[str], None] | None = None, parent: QtCore.QObject | None = None,
                 multimedia: Callable[[], ModuleType | None] = load_multimedia) -> None:
        super().__init__(parent)
        self._report = report
        self._enabled = False
        self._reported = False
        self._reported_to_callback = False
        self._last_phase: str | None = None
        self._effects: dict[str, object] = {}
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self.message: str | None = None
        self.played = 0
        self.requested = 0
        self._multimedia = multimedia
        self._available: bool | None = None  # not known until sound is first wanted

    @property
    def available(self) -> bool:
        """Whether chimes can sound here (opens the audio back end the first time it is asked)."""
        if self._available is None:
            self._available = self._open(self._multimedia)
        return self._available

    @available.setter
    def available(self, value: bool) -> None:
        self._available = value

    # --- setup -------------------------------------------------------------------------------

    def _open(self, multimedia: Callable[[], ModuleType | None]) -> bool:
        try:
            module = multimedia()
            if module is None:
                return False
            devices = getattr(module, "QMediaDevices", None)
            if devices is not None and not devices.audioOutputs():
                return False  # no audio output device (headless, or none configured)
            self._folder = tempfile.TemporaryDirectory(prefix="somafeedback-chimes-")
            for name, (frequencies, seconds) in TONES.items():
                path = write_tone(Path(self._folder.name) / f"{name}.wav", frequencies, seconds)
                effect = module.QSoundEffect(self)
                effect.setSource(QtCore.QUrl.fromLocalFile(str(path)))
                effect.setVolume(VOLUME)
                if effect.status() == module.QSoundEffect.Status.Error:
                    return False
                self._effects[name] = effect
            return True
        except Exception:  # noqa: BLE001 - any audio trouble means "no chimes", never a crash
            self._effects.clear()
            return False

    def set_report(self, report: Callable[[str], None] | None) -> None:
        """Where the one-time "no sound" message goes (e.g. the window's status bar)."""
        self._report = report
        if report is not None and self.message is not None and not self._reported_to_callback:
            self._reported_to_callback = True
            report(self.message)

    # --- on / off ------------------------------------------------------------------------------

    def enabled(self) -> bool:
        return self._enabled

    def set_enabled(self, enabled: bool) -> None:
        """Chimes on or off; turning them on without sound reports the message (once)."""
        self._enabled = bool(enabled)
        self._last_phase = None
        if self._enabled and not self.available:
            self._report_unavailable()

    # --- events --------------------------------------------------------------------------------

    def phase(self, phase: str | None) -> None:
        """The pacer's current phase (called every frame); chimes when it changes.

        The first phase seen after :meth:`step` (or with no pacer before) is silent: the
        step's own chime marks it.
        """
        if phase == self._last_phase:
            return
        previous, self._last_phase = self._last_phase, phase
        if phase is not None and previous is not None:
            self.play(PHASE_TONES.get(phase, "hold"))

    def step(self) -> None:
        """A new script step."""
        self._last_phase = None  # a pacer step starts with its own first phase
        self.play("step")

    def play(self, name: str) -> None:
        if not self._enabled:
            return
        self.requested += 1
        if not self.available:
            self._report_unavailable()
            return
        effect = self._effects.get(name)
        if effect is None:
            return
        try:
            effect.play()  # type: ignore[attr-defined]
            self.played += 1
        except Exception:  # noqa: BLE001 - a device that vanished mid-practice: carry on quietly
            self.available = False
            self._report_unavailable()

    def close(self) -> None:
        """Release the effects and the temporary tone files."""
        for effect in self._effects.values():
            try:
                effect.stop()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001
                pass
        self._effects.clear()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _report_unavailable(self) -> None:
        if self._reported:
            return
        self._reported = True
        self.message = UNAVAILABLE_TEXT
        if self._report is not None:
            self._reported_to_callback = True
            self._report(UNAVAILABLE_TEXT)
