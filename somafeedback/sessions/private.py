"""Private on disk: the session library's folders are 0700 and every file the app writes there 0600.

Session files, review-note copies, imports, exports, reports, settings and temporary files
hold personal data (file names carry the client's pseudonym and the date), so only the
account that made them may read them. The helpers here are the one way the app creates them:

* :func:`private_folder` creates a folder (and its missing parents) 0700, or tightens an
  existing folder that other accounts could read or enter, saying so once in one line
  through the notice handler (:func:`set_notice_handler`: the CLI prints it on stderr, the
  app shows it; by default it goes to the ``somafeedback.privacy`` logger).
* :func:`create_private_file`, :func:`open_private_text`, :func:`write_private_bytes` create a
  new file (never an existing one) 0600 from the start, so no other account can open it even
  while it is being written; :func:`make_private` tightens a file another library wrote (e.g.
  pyedflib writing into a file created here keeps its mode; QSettings' file is not ours to create).

No process-wide ``umask`` is changed: the engine's thread and the GUI thread write at the same time.

Thread: any (the notice handler is called on the caller's thread).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final

FOLDER_MODE: Final = 0o700  # owner only: list, enter, create
FILE_MODE: Final = 0o600  # owner only: read, write
_OPEN_TO_OTHERS: Final = 0o077  # group and other permission bits

Notice = Callable[[str], None]

_log = logging.getLogger("somafeedback.privacy")
_handler: Notice | None = None


def set_notice_handler(handler: Notice | None) -> Notice | None:
    """Where :func:`private_folder`'s one-line messages go (None: the ``somafeedback.privacy`` logger).

    Returns the previous handler, so a caller can put it back. Thread: any (set it before work starts).
    """
    global _handler
    previous, _handler = _handler, handler
    return previous


def notice(message: str) -> None:
    """Say ``message`` through the installed notice handler (or the privacy logger)."""
    if _handler is not None:
        _handler(message)
    else:
        _log.warning(message)


def tightened_message(folder: Path, old_mode: int) -> str:
    """The one line said when ``folder`` (mode ``old_mode``) was made private."""
    return (f"The folder {folder} could be opened by other accounts on this computer "
            f"(mode {old_mode & 0o777:03o}); it is now private to your account (mode {FOLDER_MODE:03o}).")


def private_folder(folder: str | Path, notify: Notice | None = None) -> Path:
    """``folder`` as a private folder: created 0700 (with each missing parent) or tightened to 0700.

    An existing folder whose group/other bits are set is changed to 0700 when this account owns
    it, and ``notify`` (default: :func:`notice`) hears one line saying so; a folder this account
    cannot change (another owner, a read-only medium, a file system without modes such as FAT)
    or should not (:func:`is_shared_place`: /tmp, the home folder, a file system's root) is left as
    it is, silently. Returns ``folder`` as a Path.
    Raises OSError when a folder cannot be created. Thread: any.
    """
    folder = Path(folder)
    missing = []
    probe = folder
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # made meanwhile by someone else: checked below like any existing folder
            continue
        os.chmod(path, FOLDER_MODE)  # mkdir's mode passes through the umask; make it exact
    if folder in missing:
        return folder
    try:
        info = os.stat(folder)
    except OSError:
        return folder
    if not stat.S_ISDIR(info.st_mode) or not info.st_mode & _OPEN_TO_OTHERS:
        return folder
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return folder
    if is_shared_place(folder, info):
        return folder
    try:
        os.chmod(folder, FOLDER_MODE)
        changed = not os.stat(folder).st_mode & _OPEN_TO_OTHERS  # a file system without modes (FAT) ignores chmod
    except OSError:
        return folder
    if changed:
        (notify or notice)(tightened_message(folder, info.st_mode))
    return folder


def is_shared_place(folder: Path, info: os.stat_result | None = None) -> bool:
    """True for a folder whose mode is not ours to change even when we own it: a sticky shared
    folder such as /tmp, the home folder, or the root of a file system. Sessions written straight
    into one of these are still private files; the folder keeps its mode."""
    try:
        info = info or os.stat(folder)
        resolved = folder.resolve()
        home = Path.home().resolve()
    except (OSError, RuntimeError):
        return True
    return bool(info.st_mode & stat.S_ISVTX) or resolved == home or resolved == resolved.parent


def private_if_library(folder: str | Path, library: str | Path, notify: Notice | None = None) -> None:
    """:func:`private_folder` of ``library`` when ``folder`` (where a command writes) is that library folder.

    A command writing into a folder the user chose elsewhere (the desktop, a USB stick) leaves that
    folder's mode alone. Thread: any.
    """
    folder, library = Path(folder), Path(library)
    try:
        same = folder.is_dir() and library.is_dir() and folder.resolve() == library.resolve()
    except OSError:
        return
    if same:
        private_folder(library, notify)


def create_private_file(path: str | Path) -> int:
    """A new file ``path`` created 0600 (never an existing one: FileExistsError); its descriptor, open for writing."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), FILE_MODE)
    if hasattr(os, "fchmod"):  # exact whatever the umask (a umask can only take bits away)
        try:
            os.fchmod(fd, FILE_MODE)
        except OSError:
            pass
    return fd


def open_private_text(path: str | Path, newline: str | None = None) -> IO[Any]:
    """A new file ``path`` (0600, never an existing one) open for writing UTF-8 text."""
    return open(create_private_file(path), "w", encoding="utf-8", newline=newline)


def write_private_bytes(path: str | Path, data: bytes) -> None:
    """``data`` as a new file ``path`` (0600, never an existing one)."""
    with open(create_private_file(path), "wb") as stream:
        stream.write(data)


def make_private(path: str | Path) -> None:
    """Set an existing file's mode to 0600 (a file another library created or rewrote)."""
    os.chmod(path, FILE_MODE)


def is_private(path: str | Path) -> bool:
    """Whether no other account has any permission on ``path``."""
    return not os.stat(path).st_mode & _OPEN_TO_OTHERS


__all__ = ["FILE_MODE", "FOLDER_MODE", "create_private_file", "is_private", "make_private", "notice",
           "open_private_text", "private_folder", "private_if_library", "set_notice_handler", "tightened_message", "write_private_bytes"]
