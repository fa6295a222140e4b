"""`somafeedback stream` and `scan`, run as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "somafeedback.cli", *args], capture_output=True, text=True, timeout=timeout)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_the_readme_promise_twenty_seconds_of_simulated_strap_in_real_time() -> None:
    result = _run("stream", "--simulate", "--duration", "20", "--json", timeout=90)
    assert result.returncode == 0, result.stderr
    records = _json_lines(result.stdout)
    beats = [r for r in records if r["type"] == "beat"]
    assert len(beats) >= 15
    assert {"t_s", "rr_ms", "hr_bpm", "contact"} <= set(beats[0])
    assert all(b["contact"] is True and 300 < b["rr_ms"] < 2000 for b in beats)
    assert [r["state"] for r in records if r["type"] == "link"] == ["connecting", "streaming", "stopped"]
    assert beats[-1]["t_s"] <= 20.5


def test_metrics_turn_invalid_during_contact_loss_and_link_drop_then_recover() -> None:
    result = _run("stream", "--simulate", "dropout", "--metrics", "--speed", "max", "--json")
    assert result.returncode == 0, result.stderr
    records = _json_lines(result.stdout)
    metrics = [r for r in records if r["type"] == "metrics"]
    beats = [r for r in records if r["type"] == "beat" and r["source"] == "ecg"]  # the simulated H10's ECG times the beats
    assert len(metrics) >= len(beats) > 300  # one metric set per beat, plus one per gap
    starts = [k for k, r in enumerate(records)
              if (r["type"] == "contact" and r["contact"] is False) or (r["type"] == "link" and r["state"] == "lost")]
    assert len(starts) == 2  # the contact loss and the link drop
    for start in starts:
        # from the loss until the window has refilled, nothing is valid. ECG-timed beats reach the
        # metrics a few seconds late (each waits for the strap's RR to check it), so beats from
        # just *before* the loss may be emitted after it: judge by beat time, not emission order.
        lost_s = records[start]["t_s"]
        resumed = next(r["t_s"] for r in records[start:] if r["type"] == "beat" and r["t_s"] > lost_s)
        after = [r for r in records[start:] if r["type"] == "metrics"]
        # the first interval after the gap may begin up to one RR (< 2 s) before data resumed
        refilling = [m for m in after if lost_s <= m["t_s"] < resumed + 60.0 - 2.0]
        assert refilling and not any(m["time_valid"] for m in refilling), "no metric may be valid across a gap"
        assert any(m["time_valid"] for m in after if m["t_s"] >= resumed + 61.0)
    assert any(r["type"] == "malformed" for r in records)


def test_metrics_report_hrv_unavailable_during_artifact_bursts() -> None:
    result = _run("stream", "--simulate", "artifacts", "--metrics", "--speed", "max", "--json")
    metrics = [r for r in _json_lines(result.stdout) if r["type"] == "metrics"]
    assert any(m["time_reason"].startswith("HRV unavailable") for m in metrics)
    assert any(m["time_valid"] for m in metrics)
    assert sum(m["flagged"] for m in metrics) >= 10


def test_text_metrics_show_window_and_validity() -> None:
    result = _run("stream", "--simulate", "calm", "--metrics", "--speed", "max", "--duration", "90")
    lines = [line for line in result.stdout.splitlines() if " metrics " in line]
    assert "--" in lines[0] and "filling the window" in lines[0]
    assert "RMSSD" in lines[-1] and "[60 s, 0 % rejected]" in lines[-1] and "ms (ln " in lines[-1]


def test_without_a_strap_it_says_so_and_how_to_use_the_simulator() -> None:
    result = _run("stream", timeout=60)
    assert result.returncode == 1
    assert "No strap found" in result.stderr or "No heart-rate strap found" in result.stderr
    assert "somafeedback stream --simulate" in result.stderr
    assert "Traceback" not in result.stderr
    from somafeedback.devices.connection_problems import Problem
    from somafeedback.live.connection_help import help_for

    seen = [p for p in (Problem.NO_ADAPTER, Problem.BLUETOOTH_OFF, Problem.PERMISSION_DENIED, Problem.NO_STRAP_FOUND)
            if help_for(p).title in result.stderr]  # what this machine lacks, with its next steps
    assert len(seen) == 1 and help_for(seen[0]).next_steps[0] in result.stderr


def test_scan_lists_the_simulated_strap() -> None:
    result = _run("scan", "--simulate", "--straps", "2", "--speed", "max")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Polar H10 SIM") == 2 and "dBm" in result.stdout


@pytest.mark.parametrize("args", [["stream", "--speed", "5"], ["stream", "--simulate", "--speed", "fast"]])
def test_bad_options_are_refused_clearly(args: list[str]) -> None:
    result = _run(*args)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "speed" in result.stderr


def test_ctrl_c_stops_the_stream_cleanly() -> None:
    import signal

    from process_lines import LinePrinter

    printer = LinePrinter([sys.executable, "-m", "somafeedback.cli", "stream", "--simulate", "--json"])
    beat = printer.wait_for(lambda line: '"type": "beat"' in line, timeout_s=120)  # bounded, not a guessed sleep
    printer.process.send_signal(signal.SIGINT)
    code, lines, err = printer.finish(timeout_s=60)
    assert beat is not None, err
    records = _json_lines("\n".join(lines))
    assert code == 130 and err.strip() == "stopped"
    assert any(r["type"] == "beat" for r in records)
    assert records[-1]["type"] == "link" and records[-1]["state"] == "stopped"  # unsubscribed and disconnected


def test_neurokit2_is_never_imported_on_the_startup_or_live_path() -> None:
    code = (
        "import sys, somafeedback.cli.main, somafeedback.hrv.pipeline, somafeedback.hrv.whole_record, somafeedback.live.sources;"
        "from somafeedback.hrv.pipeline import MetricsPipeline; p = MetricsPipeline();"
        "[p.push_beat(k * 0.8, 800.0 + 30 * (k % 5)) for k in range(1, 400)];"
        "print('neurokit2' in sys.modules, 'PySide6' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def _readme_stream_paragraph() -> str:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("`stream` prints each beat")
    return readme[start:readme.index("\n\n", start)]


def test_json_type_is_always_the_line_type_and_the_readme_lists_every_one() -> None:
    result = _run("stream", "--simulate", "dropout", "--metrics", "--speed", "max", "--duration", "400", "--json")
    assert result.returncode == 0, result.stderr
    records = _json_lines(result.stdout)
    types = {r["type"] for r in records}
    assert all(isinstance(t, str) for t in types)  # a PMD event's measurement code (0, 2) never replaces it
    assert {"beat", "breathing", "contact", "link", "gap", "strap", "malformed", "metrics",
            "pmd_started", "pmd_stopped"} <= types
    pmd = [r for r in records if r["type"].startswith("pmd_")]
    assert {r["measurement"]: r["measurement_type"] for r in pmd} == {"ecg": 0, "acc": 2}
    paragraph = _readme_stream_paragraph()
    assert [t for t in sorted(types | {"pmd_error"}) if f"`{t}`" not in paragraph] == []


def test_timeline_data_never_overwrites_the_lines_own_fields() -> None:
    from somafeedback.devices.events import TimelineEvent
    from somafeedback.live.stream_printer import timeline_record

    event = TimelineEvent("pmd_started", 2_500_000_000, 0.0, {"type": 2, "strap": "x", "t_s": 9.0, "measurement": "acc"},
                          "strap1")
    assert timeline_record(event) == {"type": "pmd_started", "strap": "strap1", "t_s": 2.5, "measurement_type": 2,
                                      "data_strap": "x", "data_t_s": 9.0, "measurement": "acc"}


def test_stream_to_an_address_without_an_adapter_says_so_like_scan() -> None:
    scan = _run("scan", "--timeout", "1", timeout=60)
    if "no usable Bluetooth adapter" not in scan.stderr:
        pytest.skip("this machine has a Bluetooth adapter")
    result = _run("stream", "--address", "AA:BB:CC:DD:EE:FF", "--duration", "5", "--json", timeout=60)
    assert result.returncode == 1 and result.stdout == ""  # not a reconnect loop that ends "fine"
    assert result.stderr == scan.stderr and "somafeedback stream --simulate" in result.stderr
    assert "Traceback" not in result.stderr


def test_real_strap_times_count_from_zero() -> None:
    import asyncio

    from somafeedback.cli.running import run_loop as run_command

    async def now() -> int:
        return round(asyncio.get_running_loop().time() * 1000)

    assert 0 <= run_command(now, 1.0, simulated=False, from_zero=True) < 1000  # ms; the host's clock is since boot


def test_exercise_lengths_read_the_same_in_the_command_line_and_the_app() -> None:
    from somafeedback.regulation.exercises import builtin_exercises, minutes_text

    assert [minutes_text(s) for s in (150, 165, 240, 645, 20)] == ["2.5 min", "3 min", "4 min", "11 min", "0.5 min"]
    result = _run("exercises", timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()}
    for exercise in builtin_exercises().values():
        assert f" {exercise.duration_text} " in rows[exercise.id]  # the assessment: its steps included
        assert exercise.duration_text == minutes_text(exercise.duration_s)
    assert " 2.5 min " in rows["feet-and-seat-grounding"]


def test_an_unknown_or_broken_scenario_is_said_in_words_before_anything_starts(tmp_path) -> None:
    import pytest

    from somafeedback.cli.main import main

    with pytest.raises(SystemExit) as unknown:
        main(["stream", "--simulate", "no-such-scenario", "--speed", "max"])
    assert "unknown scenario 'no-such-scenario'" in str(unknown.value.code) and "calm" in str(unknown.value.code)
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "broken"\nduration = "1:00"\n[[phase]]\nat = 0\nstate = "floating"\n', encoding="utf-8")
    with pytest.raises(SystemExit) as bad:
        main(["session", "--simulate", str(broken), "--mode", "practitioner", "--speed", "max"])
    assert str(bad.value.code).startswith("somafeedback: ") and "floating" in str(bad.value.code)
