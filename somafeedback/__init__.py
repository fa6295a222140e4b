"""somafeedback: a desktop companion for body-based regulation work.

The package root is the Qt-free core, one concept per package (docs/architecture.md has the map):
``hrv``, ``signals``, ``sessions``, ``regulation``, ``interop``, ``live``, ``reports``, ``cli``,
with ``clock`` and ``progress`` at the bottom.
``somafeedback.devices`` (strap protocols, bleak clients, the simulated strap) and
``somafeedback.ui`` (PySide6 + pyqtgraph) are installed from the top-level ``devices/`` and
``ui/`` folders. Data flows one way: devices -> core -> ui.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("somafeedback")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
