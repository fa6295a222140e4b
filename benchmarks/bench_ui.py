"""The app's start-up and frame costs (offscreen Qt unless a display is set).

Prints `name: value unit` lines:
  cold_start_first_paint_s     a fresh process (`somafeedback --simulate`) until its window is painted
  frame_ms_p50, frame_ms_p99   the frame handler (drain the engine, update buffers, set the curves)
                               with a full 10-min tachogram of real beats on screen, data at 1x
  fps_achieved                 frames per second the frame timer actually got
  cpu_pct_one_core             process CPU over 10 s (frame handlers, Qt's painting and the engine
                               thread), % of one core
Goals: first paint <= 1.5 s; 30 fps at <= 30 % of one core.
Run: python benchmarks/bench_ui.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def cold_start() -> float:
    env = {**os.environ, "SOMAFEEDBACK_STARTUP_REPORT": "1"}
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "somafeedback.ui.launcher", "--simulate", "--quit-after", "3"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env) as process:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("first paint"):
                took = time.perf_counter() - started
                break
        else:
            raise RuntimeError("the app never reported its first paint")
        process.wait(timeout=60)
    return took


def frames(seconds: float = 10.0) -> tuple[np.ndarray, float, float]:
    """Live conditions: 10 min of real beats already on screen, then data at 1x, Qt painting as usual."""
    import tempfile
    from pathlib import Path

    from PySide6 import QtCore, QtWidgets

    from somafeedback.live.engine import Engine, EngineOptions, EngineSource
    from somafeedback.regulation.exercises import load_exercises
    from somafeedback.interop.importer import import_file
    from somafeedback.ui.practitioner_window import PractitionerWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    folder = Path(tempfile.mkdtemp())
    source = folder / "beats.txt"
    record = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rr" / "irurzun_000_ms.txt"
    source.write_text("\n".join(record.read_text().splitlines()[:2200]))  # about 27 min of real beats
    session = import_file(source, folder)
    exercises = load_exercises()
    engine = Engine(EngineSource(replay=session, speed=60.0), EngineOptions(), exercises)
    window = PractitionerWindow(engine, exercises)
    window.resize(1500, 950)
    window.show()
    engine.start()
    while window.plots.now_s < window.plots.span_s + 5:  # fill 10 min of tachogram
        app.processEvents()
        time.sleep(0.005)
    engine.call(lambda: engine.replay.set_speed(1.0))  # from now on: the live data rate
    window.frame_timer.timeout.disconnect()
    costs: list[float] = []

    def timed_frame() -> None:
        start = time.perf_counter()
        window.on_frame()
        costs.append(time.perf_counter() - start)

    window.frame_timer.timeout.connect(timed_frame)
    usage0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()  # the frame timer fires and Qt paints, as in the app
    wall = time.perf_counter() - wall0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime + usage1.ru_stime - usage0.ru_stime) / wall
    engine.stop()
    window.close()
    return np.array(costs) * 1000, len(costs) / wall, 100 * cpu


def main() -> None:
    print(f"cold_start_first_paint_s: {np.median([cold_start() for _ in range(3)]):.2f} s")
    costs, fps, cpu = frames()
    print(f"frame_ms_p50: {np.percentile(costs, 50):.1f} ms")
    print(f"frame_ms_p99: {np.percentile(costs, 99):.1f} ms")
    print(f"fps_achieved: {fps:.1f}")
    print(f"cpu_pct_one_core: {cpu:.0f} %")


if __name__ == "__main__":
    main()
