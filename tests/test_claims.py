"""No user-facing text makes a claim a wellness tool must not make (research/somatic.md §8).

Scanned: every shipped exercise and scenario file, every command's help and real output
(text mode), and every string literal in the core and UI code that is not a docstring.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from session_helpers import REPO

NEGATIONS = ("not ", "never ", "no ", "isn't ", "is not ", "without ", "does not ", "doesn't ")

BANNED = [
    (re.compile(r"\bdiagnos\w*", re.I), "diagnosis"),
    (re.compile(r"vagal tone\s+(?:is\s+)?(?:detected|measured|score|level)", re.I), "vagal tone detected"),
    (re.compile(r"vagus nerve\s+(?:is\s+)?(?:activated|toned|stimulated)", re.I), "vagus nerve activated"),
    (re.compile(r"\bdorsal\b", re.I), "dorsal"),
    (re.compile(r"\bventral\b", re.I), "ventral"),
    (re.compile(r"shut\s?down\s+(?:state\s+)?(?:is\s+)?detected", re.I), "shutdown detected"),
    (re.compile(r"(?:sympathetic|parasympathetic|polyvagal)\s+(?:state\s+)?(?:is\s+)?(?:detected|dominance|measured)", re.I),
     "nervous-system state measured"),
    (re.compile(r"trauma\s+(?:is\s+|was\s+|has been\s+)?(?:released|discharged)|releas\w*\s+(?:your\s+|the\s+)?trauma|stored trauma", re.I),
     "trauma released"),
    (re.compile(r"LF/HF[^.\n]{0,60}\b(?:stress|balance)\b", re.I), "LF/HF as stress"),
    (re.compile(r"\bstress (?:index|score|level)\b", re.I), "stress index"),
    (re.compile(r"heart[- ]brain coherence|nervous system balance|healthy HRV", re.I), "other banned claim"),
    # synchrony of two people (#18): what was measured, never a judgement of the relationship
    (re.compile(r"\battune(?:d|ment)\b|\bco-?regulated\b|connection\s+(?:is\s+)?(?:detected|measured|score)"
                r"|relationship (?:score|quality)|synchrony score", re.I), "relationship judged"),
]


def claims(text: str) -> list[str]:
    """Banned claims in ``text``; a phrase that is negated ("LF/HF is not a stress index") is allowed."""
    found = []
    for pattern, name in BANNED:
        for match in pattern.finditer(text):
            before = text[max(0, match.start() - 30):match.end()].lower()
            if not any(negation in before for negation in NEGATIONS):
                found.append(f"{name}: ...{text[max(0, match.start() - 40):match.end() + 20]!r}")
    return found


def test_the_scanner_catches_claims_and_spares_negations() -> None:
    assert claims("Vagal tone detected!") and claims("Dorsal state") and claims("LF/HF shows your stress")
    assert claims("the trauma was released") and claims("We diagnose anxiety") and claims("Shutdown detected")
    assert not claims("LF/HF is not a stress index") and not claims("This is not a diagnosis")
    assert claims("Attunement measured") and claims("you co-regulated well") and claims("safe connection detected")


def _toml_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _toml_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _toml_strings(item)


@pytest.mark.parametrize("folder", ["somafeedback/regulation/exercise_scripts", "devices/simulator/scenarios"])
def test_shipped_data_files_make_no_banned_claims(folder: str) -> None:
    files = sorted((REPO / folder).glob("*.toml"))
    assert files
    for path in files:
        text = "\n".join(_toml_strings(tomllib.loads(path.read_text())))
        assert not claims(text), (path.name, claims(text))


def _literals(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def test_code_strings_shown_to_users_make_no_banned_claims() -> None:
    files = [*sorted((REPO / "somafeedback").rglob("*.py")), *sorted((REPO / "ui").rglob("*.py")),
             *sorted((REPO / "devices").rglob("*.py"))]
    assert len(files) > 30
    for path in files:
        text = "\n".join(_literals(path))
        assert not claims(text), (path.relative_to(REPO), claims(text))


@cache
def _cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "somafeedback.cli", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), (args, result.stderr)
    return result.stdout + result.stderr


COMMANDS = ["scan", "stream", "record", "replay", "sessions", "import", "export", "analyze", "session", "exercises", "scenarios"]


def test_every_command_help_makes_no_banned_claims() -> None:
    texts = [_cli("--help")] + [_cli(command, "--help") for command in COMMANDS]
    for text in texts:
        assert not claims(text), claims(text)


def test_real_command_output_makes_no_banned_claims(tmp_path: Path) -> None:
    sample = str(REPO / "recordings" / "polar-h10-slow-breathing.session.sqlite")
    outputs = [
        _cli("scenarios"), _cli("exercises"),
        _cli("stream", "--simulate", "activation", "--metrics", "--speed", "max", "--duration", "600"),
        _cli("session", "--simulate", "activation", "--mode", "practitioner", "--speed", "max", "--auto-approve"),
        _cli("session", "--simulate", "activation", "--mode", "home", "--script", "low-and-slow-breathing", "--speed", "max"),
        _cli("analyze", sample), _cli("replay", sample, "--speed", "max", "--metrics"),
        _cli("stream"),  # the no-strap message
    ]
    assert sum(len(text) for text in outputs) > 10_000
    for text in outputs:
        assert not claims(text), claims(text)


def test_every_cue_suggestion_says_what_was_measured() -> None:
    """A suggestion describes heart rate against the client's usual range, not a state of the person."""
    from somafeedback.regulation.cues import SUGGESTION_TEXT

    for kind, text in SUGGESTION_TEXT.items():
        assert "usual range" in text, kind
        assert re.match(r"(Heart rate|Still above)", text), f"{kind}: {text}"
        assert not re.search(r"\bactivation\b", text, re.I), f"{kind} names a state, not a measure: {text}"
