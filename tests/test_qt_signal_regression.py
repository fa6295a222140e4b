"""PySide6 6.12.0 on Python 3.11 aborts after ~570 Signal.emit() calls (refcount bug).

The pins keep that combination out; this test proves the installed PySide6 survives
10,000 emits. It runs in a subprocess because the failure is an interpreter abort.
"""

from __future__ import annotations

import os
import subprocess
import sys

EMITS = 10_000

SCRIPT = f"""
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    value = Signal(float)

app = QCoreApplication([])
received = []
emitter = Emitter()
emitter.value.connect(received.append)
for k in range({EMITS}):
    emitter.value.emit(float(k))
print(len(received), received[-1])
"""


def test_ten_thousand_signal_emits_do_not_abort() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert result.stdout.split() == [str(EMITS), f"{EMITS - 1}.0"]
