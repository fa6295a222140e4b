"""Writing an export safely: temporary files, no overwriting, all-or-nothing, progress reports.

:class:`Outputs` collects the files of one export: each is written under a temporary name
(``.<name>.<random>.partial``) in its final folder and moved into place only when all of them
are complete, by a hard link that cannot replace an existing file (or, where the file system
has no hard links, ``os.replace`` after a check); on failure every temporary file and any
folder the export created is removed. Files are created owner read/write only
(:data:`FILE_MODE`) from their first byte, temporary ones included, and folders the export
creates owner only (0700), through :mod:`somafeedback.sessions.private`. Progress is reported through :class:`~somafeedback.progress.Progress`. Also the file-name helpers the format writers share.

Thread: any.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from somafeedback.progress import PROGRESS_STEP, Progress, ProgressCallback  # noqa: F401 - the export's progress
from somafeedback.sessions.private import FILE_MODE as PRIVATE_FILE_MODE
from somafeedback.sessions.private import FOLDER_MODE, create_private_file, open_private_text

FILE_MODE: Final = PRIVATE_FILE_MODE  # exports are personal data: owner read/write only


class ExportError(ValueError):
    """An export that cannot be made; the message names the session file and the problem."""


# -- file names ----------------------------------------------------------------------------------
def safe_name(text: str) -> str:
    """``text`` as a file-name part: letters, digits, '-' and '_' only."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "-" for c in text).strip("-")
    return cleaned[:40] or "strap"


def dedupe(names: Sequence[str]) -> list[str]:
    """``names`` made unique by appending -2, -3, ... to repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name}-{count}")
    return out


def open_new_text(path: Path, newline: str | None = None) -> Any:
    """``path`` created (never an existing file) with :data:`FILE_MODE`, open for writing UTF-8 text."""
    return open_private_text(path, newline=newline)


def create_new_file(path: Path) -> None:
    """``path`` created empty (never an existing file) with :data:`FILE_MODE`, for a writer that opens it itself.

    A library that opens the file by name (pyedflib) then truncates it and keeps its mode, so the
    data is never readable by other accounts, not even while it is written.
    """
    os.close(create_private_file(path))


# -- the files of one export -----------------------------------------------------------------------
class Outputs:
    """Files of one export: written under temporary names, all moved into place at the end, or none."""

    def __init__(self, session_path: Path) -> None:
        self.session_path = session_path
        self.planned: list[tuple[Path, Path]] = []  # (final, temporary)
        self.created_dirs: list[Path] = []

    def error(self, problem: str) -> ExportError:
        return ExportError(f"{self.session_path}: {problem}")

    def folder(self, path: Path) -> Path:
        """An existing folder, created 0700 (with its parents) when missing; created ones are removed on failure."""
        if path.exists() and not path.is_dir():
            raise self.error(f"{path} is a file, not a folder")
        missing = [p for p in (path, *path.parents) if not p.exists()]
        try:
            for folder in reversed(missing):
                folder.mkdir(mode=FOLDER_MODE)
                self.created_dirs.append(folder)
                os.chmod(folder, FOLDER_MODE)  # exact whatever the umask
        except OSError as error:
            raise self.error(f"cannot create the folder {folder}: {error.strerror or error}") from error
        return path

    def reserve(self, final: Path) -> Path:
        """The temporary path to write ``final`` to; refuses a name that exists (never overwritten)."""
        if any(final == f for f, _ in self.planned):
            raise self.error(f"two outputs would both be named {final}")
        if final.exists() or final.is_symlink():
            raise self.error(f"{final} already exists (exports never overwrite a file)")
        temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:12]}.partial")
        self.planned.append((final, temporary))
        return temporary

    def commit(self) -> list[Path]:
        """Move every file into place (all or none); their final paths."""
        placed: list[Path] = []
        try:
            for final, temporary in self.planned:
                os.chmod(temporary, FILE_MODE)
                try:
                    os.link(temporary, final)  # atomic, and never replaces an existing file
                except FileExistsError:
                    raise self.error(f"{final} already exists (exports never overwrite a file)") from None
                except OSError:  # no hard links on this file system (FAT, some network shares)
                    if final.exists():
                        raise self.error(f"{final} already exists (exports never overwrite a file)") from None
                    os.replace(temporary, final)
                placed.append(final)
        except BaseException:
            for path in placed:
                path.unlink(missing_ok=True)
            raise
        finally:
            for _, temporary in self.planned:
                temporary.unlink(missing_ok=True)
        return [final for final, _ in self.planned]

    def discard(self) -> None:
        for _, temporary in self.planned:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
        for folder in reversed(self.created_dirs):
            try:
                folder.rmdir()  # only if still empty
            except OSError:
                pass
