"""Build the one-folder app bundle for the platform this runs on (docs/install.md).

    python3 scripts/build_app.py                 # build/bundle-venv, then dist/somafeedback/
    python3 scripts/build_app.py --python PY     # use PY's environment (somafeedback installed non-editable there)

It makes (once) a build environment in build/bundle-venv, installs the current sources into it
non-editable with the ``bundle`` extra (the pinned PyInstaller), runs PyInstaller on
packaging/somafeedback.spec, and prints the time taken and the bundle's size. dist/ and build/
are ignored by git. Exit status: 0 built, 1 a step failed (its output is shown).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "packaging" / "somafeedback.spec"
SOURCES = ("pyproject.toml", "README.md", "somafeedback", "devices", "ui")  # what the package is built from
BUILD_VENV = REPO / "build" / "bundle-venv"
MIB = 1024 * 1024


def venv_python(venv: Path) -> Path:
    """The Python of a virtual environment, on this platform."""
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def run(command: list[str], **kwargs: object) -> None:
    """Run one build step; on failure show its command and stop with status 1."""
    print("+", " ".join(command), flush=True)
    if subprocess.run(command, **kwargs).returncode != 0:  # type: ignore[call-overload]
        raise SystemExit(f"build_app: step failed: {' '.join(command)}")


def copy_sources(source: Path) -> Path:
    """Copy what the package is built from into ``source`` (an in-tree build's build/lib would keep
    modules that were moved or deleted since); returns ``source``."""
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    return source


def install_sources(python: Path, extra: str = "bundle") -> None:
    """Install the current sources, non-editable, with ``extra``, from a fresh copy."""
    with tempfile.TemporaryDirectory(prefix="somafeedback-source-") as folder:
        source = copy_sources(Path(folder))
        run([str(python), "-m", "pip", "install", "--quiet", f"{source}[{extra}]"])
        run([str(python), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", str(source)])


def folder_size(path: Path) -> int:
    """Bytes in the files under ``path`` (symbolic links not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def built_bundle(dist: Path) -> Path:
    """The bundle PyInstaller made: somafeedback.app on macOS, else the somafeedback folder."""
    app = dist / "somafeedback.app"
    return app if sys.platform == "darwin" and app.exists() else dist / "somafeedback"


def build(python: Path | None, dist: Path, work: Path) -> Path:
    """Build the bundle and return its path; prints the time taken and its size."""
    started = time.monotonic()
    if python is None:
        if not venv_python(BUILD_VENV).exists():
            run([sys.executable, "-m", "venv", str(BUILD_VENV)])
        python = venv_python(BUILD_VENV)
        install_sources(python)
    python = python.absolute()  # not resolved: a venv's python is a link to the base interpreter
    prepared = time.monotonic()
    env = {**os.environ, "PYTHONNOUSERSITE": "1"}
    work.mkdir(parents=True, exist_ok=True)  # run from there: the repository's somafeedback/ (without devices/
    # and ui/, which only the install maps into it) must not shadow the installed package
    run([str(python), "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", str(dist.absolute()), "--workpath", str(work.absolute()), str(SPEC)], env=env, cwd=work)
    done = time.monotonic()
    bundle = built_bundle(dist)
    print(f"bundle: {bundle}")
    print(f"build time: {done - started:.0f} s (environment {prepared - started:.0f} s, PyInstaller {done - prepared:.0f} s)")
    print(f"bundle size: {folder_size(bundle) / MIB:.0f} MiB")
    return bundle


def main(argv: list[str] | None = None) -> int:
    """Parse the options and build."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, help="build with this Python's environment instead of build/bundle-venv")
    parser.add_argument("--dist", type=Path, default=REPO / "dist", help="where the bundle goes (default dist/)")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "pyinstaller", help="PyInstaller's work folder")
    args = parser.parse_args(argv)
    build(args.python, args.dist, args.work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
