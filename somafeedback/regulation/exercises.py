"""The exercises: guided somatic exercises as TOML scripts, loaded and validated.

An exercise is a short script of timed steps (grounding, orienting, paced breathing...)
that the app shows one step at a time: on the client screen when the practitioner pushes
it in session, or as a home practice. The cue engine picks exercises by their ``role``
(a machine key such as ``"grounding"``) and by where they may be used (``where``).

The shipped exercises live in ``somafeedback/regulation/exercise_scripts/``. A practitioner can add
their own, or replace a shipped one, by putting ``.toml`` files in the user exercise
folder (:func:`user_exercise_dir`: the platformdirs user data folder, e.g.
``~/.local/share/somafeedback/exercises`` on Linux, or the folder named by the
``SOMAFEEDBACK_EXERCISES`` environment variable). The file name (without ``.toml``) is the
exercise's id; a user file with the id of a shipped exercise replaces it.

File layout (every key below is required unless marked optional; no other keys are
allowed)::

    # feet-on-the-floor.toml  ->  id "feet-on-the-floor"
    title = "Feet on the floor"
    purpose = "Come back to the support under you when things speed up."
    role = "grounding"              # what the cue engine uses it for (see ROLES)
    where = ["session", "home"]     # one or both of: session, home
    method = ["SE", "CSE"]          # optional: the practice traditions it belongs to, any of
                                    # SE, Focusing, CSE (default: all three)
    entry_trigger = "Heart rate stays above the usual range for about 30 s."
    exit_condition = "Heart rate is back under the entry level for about a minute."
    cautions = [                    # optional (default: none)
        "If attention on the feet is unpleasant, use the hands on the thighs instead.",
    ]

    [[step]]                        # one block per step, shown in order
    text = "You can keep your eyes open or closed, and you can stop at any time."
    seconds = 10                    # how long the step is shown (> 0, at most 3600)

    [[step]]
    text = "Breathe along with the pacer, gently, slower rather than bigger."
    seconds = 120
    pacer = { inhale_s = 4, exhale_s = 6 }   # optional: run the breathing pacer
    # pacer keys (all optional): inhale_s (4), exhale_s (6), hold_in_s (0), hold_out_s (0);
    # inhale and exhale > 0, holds >= 0, one breath 2..30 s. ``pacer = {}`` = 4 s in, 6 s out.

    [[step]]
    text = "If it feels okay, press your feet into the floor for a few breaths, then let go."
    seconds = 30
    pause_judging = true            # optional (default false), see below

    [[step]]
    text = "Rest, and notice your legs and feet now."
    seconds = 90

Rules checked on every file: TOML syntax, unknown and missing keys, value types, non-empty
text, at least one step, positive step seconds, ``where`` values, ``role`` (one of
:data:`ROLES`), ``method`` values (of :data:`METHODS`), ``pause_judging`` (true or false),
pacer settings; a ``"pendulation"`` exercise must be session-only (it touches difficult
material and needs a practitioner) and a ``"paced-breathing"`` exercise must run the pacer
in at least one step. A ``"resonance-assessment"`` exercise (the guided breathing-rate
assessment) may carry an ``[assessment]`` table (``rates_bpm``, ``step_s``, ``settle_s``,
``rest_s``, ``inhale_share``; missing keys take the protocol's defaults), read into a
:class:`~.assessment_protocol.ResonanceProtocol`; its length counts in the exercise's. Every problem raises :class:`ExerciseError`
naming the file and the field, e.g.
``feet.toml: step[2].seconds: must be a positive number, got -5``; ``step[i]`` counts the
``[[step]]`` blocks from 0.

``method`` groups the exercises by the session's method mode (:func:`exercises_for_method`):
Somatic Experiencing (``"SE"``), Focusing (``"Focusing"``) and Clinical Somatic Education
(``"CSE"``), the names of :data:`METHODS`. Leave it out for an exercise that suits all three.

``pause_judging = true`` marks a step in which movement or sounding changes heart rate for
its own reasons (a pandiculation, pushing against a wall, a 'voo' sound). During such a
step the app pauses judging heart rate against the person's usual range (it holds the
state, as when the chest strap reports movement) and compares the quiet rest before the
marked steps with the quiet rest after them. Consecutive marked steps form one block, so
a short rest between repetitions is marked too; give the block unmarked rest steps before
(at least a minute) and after (at least a minute and a half: half a minute to settle, then
the minute that is compared).

Writing style for steps (the shipped scripts follow it): open with a choice line ("You can
keep your eyes open or closed, and you can stop at any time."), phrase steps as
invitations rather than commands, and make no health claims: describe what to do and what
to notice, never what the body or nervous system "is" (see the claims policy in the
design brief, §8).

Thread: any (loading reads files and returns immutable objects).
"""

from __future__ import annotations

import functools
import math
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from .assessment_protocol import ResonanceProtocol
from .pacer import PacerSettings

ENV_EXERCISES: Final = "SOMAFEEDBACK_EXERCISES"
SUFFIX: Final = ".toml"

# Machine keys the cue engine asks for. "other" is for a practitioner's own exercises that
# the engine never offers by itself (they are still listed for manual choice).
ROLES: Final = (
    "arriving", "grounding", "senses", "resource", "pendulation", "containment", "voo",
    "paced-breathing", "clearing-a-space", "movement", "closing",
    "tracking", "boundaries", "mobilisation", "focusing", "other", "resonance-assessment",
)
# "resonance-assessment" (the guided breathing-rate assessment, with its ``[assessment]`` table) is
# likewise only ever chosen by a person.
ASSESSMENT_ROLE: Final = "resonance-assessment"  # the guided breathing-rate assessment: started from its own action
WHERE: Final = ("session", "home")
# The practice traditions an exercise can belong to (the session's method mode groups by them).
METHODS: Final = ("SE", "Focusing", "CSE")
SESSION_ONLY_ROLES: Final = frozenset({"pendulation"})
MAX_STEP_S: Final = 3600.0

_TOP_KEYS: Final = (
    "title", "purpose", "role", "where", "method", "entry_trigger", "exit_condition", "cautions", "step", "assessment",
)
_OPTIONAL_KEYS: Final = frozenset({"cautions", "method", "assessment"})
_STEP_KEYS: Final = ("text", "seconds", "pacer", "pause_judging")
_PACER_KEYS: Final = ("inhale_s", "exhale_s", "hold_in_s", "hold_out_s")
_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ExerciseError(ValueError):
    """An invalid exercise file: ``"<file>: <field>: <problem>"``.

    ``path`` is the file, ``field`` the offending key (``None`` for whole-file problems such
    as bad TOML) and ``problem`` the description.
    """

    def __init__(self, path: str | os.PathLike[str], field: str | None, problem: str) -> None:
        self.path = Path(path)
        self.field = field
        self.problem = problem
        where = f"{self.path.name}: {field}" if field else self.path.name
        super().__init__(f"{where}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.field, self.problem))


@dataclass(frozen=True, slots=True)
class Step:
    """One step: the text shown, for how long, optionally the breathing pacer, and whether the
    app pauses judging heart rate against the usual range during it (movement or sounding)."""

    text: str
    seconds: float
    pacer: PacerSettings | None = None
    pause_judging: bool = False


@dataclass(frozen=True, slots=True)
class Exercise:
    """A validated exercise script (see the module docstring for the file layout)."""

    id: str
    title: str
    purpose: str
    steps: tuple[Step, ...]
    entry_trigger: str
    exit_condition: str
    cautions: tuple[str, ...]
    where: frozenset[str]
    role: str
    source: Path
    methods: frozenset[str] = frozenset(METHODS)
    # the ``[assessment]`` table (role "resonance-assessment"; None otherwise): the stepped protocol it runs
    assessment: ResonanceProtocol | None = None

    @property
    def duration_s(self) -> float:
        """The planned length: the sum of the steps' seconds (and of an assessment's steps and rests)."""
        steps = float(sum(step.seconds for step in self.steps))
        return steps + (self.assessment.duration_s if self.assessment is not None else 0.0)

    @property
    def duration_text(self) -> str:
        """The planned length as shown everywhere (app and command line), e.g. ``2.5 min``."""
        return minutes_text(self.duration_s)

    @property
    def builtin(self) -> bool:
        """True for an exercise shipped with the app (not a practitioner's file)."""
        return self.source.parent == _builtin_path()

    @property
    def uses_pacer(self) -> bool:
        return any(step.pacer is not None for step in self.steps)

    @property
    def pauses_judging(self) -> bool:
        """True when at least one step is marked ``pause_judging`` (movement or sounding)."""
        return any(step.pause_judging for step in self.steps)


def minutes_text(seconds: float) -> str:
    """A length in minutes to the nearest half minute, halves rounded up, never below half a
    minute: 150 s -> ``2.5 min``, 165 s -> ``3 min``, 240 s -> ``4 min``, 20 s -> ``0.5 min``."""
    halves = max(1, math.floor(seconds / 30.0 + 0.5))
    return f"{halves // 2} min" if halves % 2 == 0 else f"{halves / 2:.1f} min"


# --- validation -------------------------------------------------------------------------

def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return f"{value!r} (a {type(value).__name__})"


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], required: Iterable[str], path: Path, prefix: str) -> None:
    unknown = [key for key in data if key not in allowed]
    if unknown:
        key = unknown[0]
        raise ExerciseError(path, f"{prefix}{key}", f"unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in data:
            raise ExerciseError(path, f"{prefix}{key}", "missing")


def _text(value: object, path: Path, field: str) -> str:
    if not isinstance(value, str):
        raise ExerciseError(path, field, f"must be a string, got {_describe(value)}")
    text = value.strip()
    if not text:
        raise ExerciseError(path, field, "must not be empty")
    return text


def _seconds(value: object, path: Path, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ExerciseError(path, field, f"must be a positive number, got {_describe(value)}")
    if value > MAX_STEP_S:
        raise ExerciseError(path, field, f"must be at most {MAX_STEP_S:g} s, got {_describe(value)}")
    return float(value)


def _pacer(value: object, path: Path, field: str) -> PacerSettings:
    if not isinstance(value, dict):
        raise ExerciseError(path, field, f"must be a table such as {{ inhale_s = 4, exhale_s = 6 }}, got {_describe(value)}")
    _check_keys(value, _PACER_KEYS, (), path, f"{field}.")
    for key, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ExerciseError(path, f"{field}.{key}", f"must be a number of seconds, got {_describe(number)}")
    try:
        return PacerSettings(**{key: float(number) for key, number in value.items()})
    except ValueError as error:
        raise ExerciseError(path, field, str(error)) from None


def _step(value: object, path: Path, index: int) -> Step:
    field = f"step[{index}]"
    if not isinstance(value, dict):
        raise ExerciseError(path, field, f"must be a [[step]] table, got {_describe(value)}")
    _check_keys(value, _STEP_KEYS, ("text", "seconds"), path, f"{field}.")
    pacer = _pacer(value["pacer"], path, f"{field}.pacer") if "pacer" in value else None
    pause_judging = value.get("pause_judging", False)
    if not isinstance(pause_judging, bool):
        raise ExerciseError(path, f"{field}.pause_judging", f"must be true or false, got {_describe(pause_judging)}")
    return Step(
        text=_text(value["text"], path, f"{field}.text"),
        seconds=_seconds(value["seconds"], path, f"{field}.seconds"),
        pacer=pacer,
        pause_judging=pause_judging,
    )


def _methods(value: object, path: Path) -> frozenset[str]:
    if not isinstance(value, list):
        raise ExerciseError(path, "method", f"must be an array such as [\"SE\", \"CSE\"], got {_describe(value)}")
    if not value:
        raise ExerciseError(path, "method", "must name at least one of: " + ", ".join(METHODS)
                            + " (leave the key out for all three)")
    for i, name in enumerate(value):
        if not isinstance(name, str) or name not in METHODS:
            raise ExerciseError(path, f"method[{i}]", f"unknown method {_describe(name)} (known: {', '.join(METHODS)})")
    return frozenset(value)


def parse_exercise(data: Mapping[str, Any], path: str | os.PathLike[str]) -> Exercise:
    """Validate parsed TOML ``data`` as the exercise file ``path`` (its stem is the id)."""
    path = Path(path)
    exercise_id = path.name.removesuffix(SUFFIX)
    if not _ID.match(exercise_id):
        raise ExerciseError(path, "id", f"the file name gives the id {exercise_id!r}; use letters, digits, '-' and '_' only")
    _check_keys(data, _TOP_KEYS, [key for key in _TOP_KEYS if key not in _OPTIONAL_KEYS], path, "")

    role = _text(data["role"], path, "role")
    if role not in ROLES:
        raise ExerciseError(path, "role", f"unknown role {role!r} (known: {', '.join(ROLES)})")

    where_value = data["where"]
    if not isinstance(where_value, list):
        raise ExerciseError(path, "where", f"must be an array such as [\"session\", \"home\"], got {_describe(where_value)}")
    if not where_value:
        raise ExerciseError(path, "where", "must name at least one of: " + ", ".join(WHERE))
    for i, place in enumerate(where_value):
        if not isinstance(place, str) or place not in WHERE:
            raise ExerciseError(path, f"where[{i}]", f"unknown place {_describe(place)} (known: {', '.join(WHERE)})")
    where = frozenset(where_value)
    if role in SESSION_ONLY_ROLES and where != {"session"}:
        raise ExerciseError(path, "where", f"a {role!r} exercise is practitioner-led: it must be [\"session\"] only")

    methods = _methods(data["method"], path) if "method" in data else frozenset(METHODS)

    cautions_value = data.get("cautions", [])
    if not isinstance(cautions_value, list):
        raise ExerciseError(path, "cautions", f"must be an array of strings, got {_describe(cautions_value)}")
    cautions = tuple(_text(value, path, f"cautions[{i}]") for i, value in enumerate(cautions_value))

    steps_value = data["step"]
    if not isinstance(steps_value, list):
        raise ExerciseError(path, "step", f"must be [[step]] blocks, got {_describe(steps_value)}")
    if not steps_value:
        raise ExerciseError(path, "step", "at least one [[step]] is needed")
    steps = tuple(_step(value, path, i) for i, value in enumerate(steps_value))
    if role == "paced-breathing" and not any(step.pacer for step in steps):
        raise ExerciseError(path, "step", "a 'paced-breathing' exercise needs the pacer in at least one step")
    assessment = _assessment(data.get("assessment"), role, path)

    return Exercise(
        id=exercise_id,
        title=_text(data["title"], path, "title"),
        purpose=_text(data["purpose"], path, "purpose"),
        steps=steps,
        entry_trigger=_text(data["entry_trigger"], path, "entry_trigger"),
        exit_condition=_text(data["exit_condition"], path, "exit_condition"),
        cautions=cautions,
        where=where,
        role=role,
        source=path,
        methods=methods,
        assessment=assessment,
    )


def _assessment(value: object, role: str, path: Path) -> ResonanceProtocol | None:
    """The ``[assessment]`` table's protocol (role :data:`ASSESSMENT_ROLE` only; missing keys: the defaults)."""
    if role != ASSESSMENT_ROLE:
        if value is not None:
            raise ExerciseError(path, "assessment", "only a 'resonance-assessment' exercise has an [assessment] table")
        return None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ExerciseError(path, "assessment", f"must be a table, got {_describe(value)}")
    try:
        return ResonanceProtocol.from_dict(value)
    except (TypeError, ValueError) as error:
        raise ExerciseError(path, "assessment", str(error)) from None


def parse_exercise_text(text: str, path: str | os.PathLike[str]) -> Exercise:
    """Parse and validate the TOML ``text`` of the exercise file ``path``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExerciseError(path, None, f"not valid TOML: {error}") from None
    return parse_exercise(data, path)


# --- loading ----------------------------------------------------------------------------

def load_exercise(path: str | os.PathLike[str]) -> Exercise:
    """Load and validate one exercise file; raises :class:`ExerciseError`."""
    path = Path(path)
    if path.suffix != SUFFIX:
        raise ExerciseError(path, None, f"an exercise file must end in {SUFFIX}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ExerciseError(path, None, f"file not found ({path})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ExerciseError(path, None, f"cannot read: {error}") from None
    return parse_exercise_text(text, path)


@functools.cache
def _builtin_path() -> Path:
    return Path(str(resources.files(__package__).joinpath("exercise_scripts")))


@functools.cache
def _builtins() -> tuple[Exercise, ...]:
    folder = resources.files(__package__).joinpath("exercise_scripts")
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.is_file() and entry.name.endswith(SUFFIX)),
        key=lambda entry: entry.name,
    )
    return tuple(parse_exercise_text(entry.read_text(encoding="utf-8"), Path(str(entry))) for entry in entries)


def builtin_exercises() -> dict[str, Exercise]:
    """The exercises shipped with the app, by id (sorted)."""
    return {exercise.id: exercise for exercise in _builtins()}


def user_exercise_dir() -> Path:
    """The practitioner's exercise folder (``SOMAFEEDBACK_EXERCISES`` overrides); may not exist."""
    override = os.environ.get(ENV_EXERCISES)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_path

    return user_data_path("somafeedback", appauthor=False) / "exercises"


def _load_dir(folder: Path) -> list[Exercise]:
    if not folder.is_dir():
        raise ExerciseError(folder, None, f"exercise folder not found ({folder})")
    return [load_exercise(path) for path in sorted(folder.glob(f"*{SUFFIX}")) if path.is_file()]


def load_exercises(extra_dirs: Sequence[str | os.PathLike[str]] = ()) -> dict[str, Exercise]:
    """Built-in exercises, then the user folder, then each of ``extra_dirs``, by id (sorted).

    A later file with the same id replaces an earlier one (that is how a practitioner
    adapts a shipped exercise). Every file is validated; the first broken one raises
    :class:`ExerciseError` naming the file and field. The default user folder may be
    missing; a folder named by ``SOMAFEEDBACK_EXERCISES`` or in ``extra_dirs`` must exist.
    """
    exercises = builtin_exercises()
    folders: list[Path] = []
    user_dir = user_exercise_dir()
    if user_dir.exists() or os.environ.get(ENV_EXERCISES):
        folders.append(user_dir)
    folders.extend(Path(folder) for folder in extra_dirs)
    for folder in folders:
        for exercise in _load_dir(folder):
            exercises[exercise.id] = exercise
    return dict(sorted(exercises.items()))


def exercise_for(role: str, where: str, exercises: Mapping[str, Exercise]) -> Exercise | None:
    """The exercise to offer for ``role`` in ``where`` ("session" or "home"), or None.

    A practitioner's own exercise wins over a shipped one with the same role; among
    equals the first id in sorted order. Unknown ``role`` or ``where`` raise ValueError
    (a typo in the caller would otherwise just never find anything).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    if where not in WHERE:
        raise ValueError(f"unknown place {where!r} (known: {', '.join(WHERE)})")
    matches = [exercise for exercise in exercises.values() if exercise.role == role and where in exercise.where]
    if not matches:
        return None
    return min(matches, key=lambda exercise: (exercise.builtin, exercise.id))


def exercises_for_method(method: str, exercises: Mapping[str, Exercise]) -> list[Exercise]:
    """The exercises of ``exercises`` that belong to ``method`` (one of :data:`METHODS`), in id order.

    Unknown ``method`` raises ValueError, as :func:`exercise_for` does for a role.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    return sorted((exercise for exercise in exercises.values() if method in exercise.methods), key=lambda e: e.id)
