"""A subprocess whose stdout is read line by line on a thread, so a test waits on what it prints.

Waiting on a printed line (bounded) replaces sleeping for a guessed wall-clock time; the reader
thread keeps the pipe drained so the child never blocks on a full pipe.
"""

from __future__ import annotations

import queue
import subprocess
import threading
import time


class LinePrinter:
    """Runs ``argv``; ``wait_for(predicate, timeout_s)`` returns the first stdout line it accepts."""

    def __init__(self, argv: list[str]) -> None:
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(self.process.stdout, self._new), daemon=True)
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._reader.start()
        self._err_reader.start()

    def _read(self, stream, sink: queue.Queue[str | None]) -> None:
        for line in stream:
            sink.put(line.rstrip("\n"))
        sink.put(None)

    def _read_err(self) -> None:
        for line in self.process.stderr:
            self._stderr.append(line)

    def wait_for(self, accept, timeout_s: float) -> str | None:
        """The first new line ``accept(line)`` is true for, or None at end of output or after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                return None
            if line is None:
                self._new.put(None)  # stays at end of output
                return None
            self.lines.append(line)
            if accept(line):
                return line
        return None

    def finish(self, timeout_s: float = 60.0) -> tuple[int, list[str], str]:
        """Waits for exit (killing it after ``timeout_s``); returns (exit code, every stdout line, stderr)."""
        try:
            code = self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(timeout=10)
        self._err_reader.join(timeout=10)
        self.process.stdout.close()
        self.process.stderr.close()
        while True:
            try:
                line = self._new.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return code, self.lines, "".join(self._stderr)
