"""The practitioner's app as the app builds it, for the tests that drive it (remote sessions, co-regulation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6 import QtCore

from somafeedback.regulation.exercises import load_exercises


def practitioner_app(qtbot: Any, tmp_path: Path, *args: str, library: bool = True, **settings: str) -> Any:
    """``somafeedback --simulate ARGS`` built by ``build_practitioner_app`` with its settings in ``tmp_path`` (the
    library in ``tmp_path/library`` unless ``library`` is False; ``settings`` as key=value, ``/`` written ``__``),
    the window shown and its engine started; the built app (``.window``, ``.client``, ``.engine``)."""
    from somafeedback.ui.app import build_parser, build_practitioner_app
    from somafeedback.ui.settings import AppSettings

    stored = AppSettings(QtCore.QSettings(str(tmp_path / "settings.ini"), QtCore.QSettings.Format.IniFormat))
    if library:
        stored.set("recordings/folder", str(tmp_path / "library"))
    for key, value in settings.items():
        stored.set(key.replace("__", "/"), value)
    built = build_practitioner_app(build_parser().parse_args(["--simulate", *args]), stored, load_exercises())
    qtbot.addWidget(built.window)
    built.window.show()
    built.engine.start()
    return built
