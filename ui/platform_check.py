"""Before the app opens on X11: are the system libraries Qt's xcb platform plugin needs there?

On a minimal Debian/Ubuntu (and other distributions) the PySide6 wheel's xcb plugin cannot load
because a few small system libraries (``libxcb-icccm4``, ``libxcb-cursor0``, ...) are missing;
Qt then aborts with a message that blames the wrong library. This module finds what is missing
and says, in plain words, the one install line for this distribution.

It imports nothing from PySide6 (the plugin is located on disk), so it runs before Qt is loaded.

Thread: the main thread, before the app starts.
"""

from __future__ import annotations

import ctypes
import importlib.util
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

OS_RELEASE: Final = Path("/etc/os-release")

# xcb libraries packaged alike on Fedora and Arch (the xcb-util-* split and plain libxcb)
_XCB_FEDORA_ARCH: Final = {
    "libxcb-icccm.so.4": "xcb-util-wm",
    "libxcb-keysyms.so.1": "xcb-util-keysyms",
    "libxcb-image.so.0": "xcb-util-image",
    "libxcb-render-util.so.0": "xcb-util-renderutil",
    "libxcb-xinerama.so.0": "libxcb",
    "libxcb-randr.so.0": "libxcb",
    "libxcb-shape.so.0": "libxcb",
    "libxcb-xkb.so.1": "libxcb",
    "libxcb-cursor.so.0": "xcb-util-cursor",
    "libxcb-util.so.1": "xcb-util",
    "libxcb-xfixes.so.0": "libxcb",
    "libxcb-sync.so.1": "libxcb",
    "libxcb-shm.so.0": "libxcb",
    "libxcb-render.so.0": "libxcb",
    "libxcb.so.1": "libxcb",
}

# soname -> package, per distribution family: every system library Qt 6's xcb plugin links
# (libxcb-xinerama only for older Qt builds; libxcb-cursor is needed from Qt 6.5 on).
PACKAGES: Final[dict[str, dict[str, str]]] = {
    "debian": {
        "libxcb-icccm.so.4": "libxcb-icccm4",
        "libxcb-keysyms.so.1": "libxcb-keysyms1",
        "libxcb-image.so.0": "libxcb-image0",
        "libxcb-render-util.so.0": "libxcb-render-util0",
        "libxcb-xinerama.so.0": "libxcb-xinerama0",
        "libxcb-randr.so.0": "libxcb-randr0",
        "libxcb-shape.so.0": "libxcb-shape0",
        "libxcb-xkb.so.1": "libxcb-xkb1",
        "libxcb-cursor.so.0": "libxcb-cursor0",
        "libxcb-util.so.1": "libxcb-util1",
        "libxcb-xfixes.so.0": "libxcb-xfixes0",
        "libxcb-sync.so.1": "libxcb-sync1",
        "libxcb-shm.so.0": "libxcb-shm0",
        "libxcb-render.so.0": "libxcb-render0",
        "libxcb.so.1": "libxcb1",
        "libX11-xcb.so.1": "libx11-xcb1",
        "libX11.so.6": "libx11-6",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
        "libxkbcommon.so.0": "libxkbcommon0",
        "libEGL.so.1": "libegl1",
        "libGL.so.1": "libgl1",
        "libGLX.so.0": "libglx0",
        "libOpenGL.so.0": "libopengl0",
        "libfontconfig.so.1": "libfontconfig1",
        "libfreetype.so.6": "libfreetype6",
        "libdbus-1.so.3": "libdbus-1-3",
        "libglib-2.0.so.0": "libglib2.0-0",
        "libgthread-2.0.so.0": "libglib2.0-0",
    },
    "fedora": {
        **_XCB_FEDORA_ARCH,
        "libX11-xcb.so.1": "libX11-xcb",
        "libX11.so.6": "libX11",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11",
        "libxkbcommon.so.0": "libxkbcommon",
        "libEGL.so.1": "mesa-libEGL",
        "libGL.so.1": "mesa-libGL",
        "libGLX.so.0": "libglvnd-glx",
        "libOpenGL.so.0": "libglvnd-opengl",
        "libfontconfig.so.1": "fontconfig",
        "libfreetype.so.6": "freetype",
        "libdbus-1.so.3": "dbus-libs",
        "libglib-2.0.so.0": "glib2",
        "libgthread-2.0.so.0": "glib2",
    },
    "arch": {
        **_XCB_FEDORA_ARCH,
        "libX11-xcb.so.1": "libx11",
        "libX11.so.6": "libx11",
        "libxkbcommon-x11.so.0": "libxkbcommon-x11",
        "libxkbcommon.so.0": "libxkbcommon",
        "libEGL.so.1": "libglvnd",
        "libGL.so.1": "libglvnd",
        "libGLX.so.0": "libglvnd",
        "libOpenGL.so.0": "libglvnd",
        "libfontconfig.so.1": "fontconfig",
        "libfreetype.so.6": "freetype2",
        "libdbus-1.so.3": "dbus",
        "libglib-2.0.so.0": "glib2",
        "libgthread-2.0.so.0": "glib2",
    },
}

INSTALL_COMMAND: Final = {
    "debian": "sudo apt-get install",
    "fedora": "sudo dnf install",
    "arch": "sudo pacman -S --needed",
}
FAMILY_NAMES: Final = {"debian": "Debian/Ubuntu", "fedora": "Fedora", "arch": "Arch"}
_FAMILY_IDS: Final = {
    "debian": {"debian", "ubuntu", "linuxmint", "pop", "raspbian", "elementary", "zorin", "kali"},
    "fedora": {"fedora", "rhel", "centos", "rocky", "almalinux", "nobara"},
    "arch": {"arch", "manjaro", "endeavouros", "garuda", "cachyos"},
}
# loaded by Qt at run time (not always a link-time dependency): probed even when ldd lists it not
_ALWAYS_PROBED: Final = ("libxcb-cursor.so.0",)

Probe = Callable[[], list[str]]


def needs_check(platform: str, environ: Mapping[str, str]) -> bool:
    """True when Qt would open the app through its xcb (X11) plugin: Linux, ``DISPLAY`` set and
    ``QT_QPA_PLATFORM`` unset or ``xcb`` (a Wayland session without it uses Qt's Wayland plugin)."""
    if not platform.startswith("linux") or not environ.get("DISPLAY"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen == "xcb"
    return not environ.get("WAYLAND_DISPLAY")


def distribution_family(os_release: Path = OS_RELEASE) -> str | None:
    """``debian``, ``fedora`` or ``arch`` from os-release's ID and ID_LIKE; None if unknown or unreadable."""
    try:
        text = os_release.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'").lower()
    ids = [fields.get("ID", "")] + fields.get("ID_LIKE", "").split()
    for name in ids:  # ID first: the distribution itself wins over what it is like
        for family, members in _FAMILY_IDS.items():
            if name in members:
                return family
    return None


def install_line(family: str, sonames: Iterable[str]) -> str | None:
    """The command that installs the packages providing ``sonames``; None if none of them is known."""
    mapping = PACKAGES[family]
    packages = sorted({mapping[name] for name in sonames if name in mapping})
    return f"{INSTALL_COMMAND[family]} {' '.join(packages)}" if packages else None


def missing_message(missing: Sequence[str], family: str | None) -> str:
    """What to tell the user: which libraries are missing and the line that installs them."""
    lines = [
        "somafeedback cannot open its window yet: this computer is missing system libraries that",
        "the window toolkit (Qt) needs to draw on an X11 display:",
        "",
        *(f"    {name}" for name in missing),
        "",
    ]
    families = [family] if family is not None else list(INSTALL_COMMAND)
    commands = [(name, install_line(name, missing)) for name in families]
    known = [(name, command) for name, command in commands if command is not None]
    if family is not None and known:
        lines += ["Install them once (an administrator password is asked), then start somafeedback again:",
                  "", f"    {known[0][1]}"]
    elif known:
        lines += ["Install them once with your system's package manager, then start somafeedback again:", ""]
        width = max(len(FAMILY_NAMES[name]) for name, _ in known) + 1
        lines += [f"    {FAMILY_NAMES[name] + ':':<{width}}  {command}" for name, command in known]
    unmapped = [name for name in missing if all(name not in PACKAGES[f] for f in families)]
    if unmapped:
        lines += ["", f"Install the package that provides {', '.join(unmapped)} (your package manager can search "
                  "for the file name)."]
    return "\n".join(lines)


def parse_ldd(listing: str) -> list[str]:
    """The libraries ``ldd`` reports as ``not found``, in order, once each."""
    missing: list[str] = []
    for line in listing.splitlines():
        name, arrow, target = line.strip().partition("=>")
        if arrow and target.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def xcb_plugin_files() -> list[Path]:
    """PySide6's xcb plugin and its ``libQt6XcbQpa`` (found on disk, PySide6 is not imported)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    for location in spec.submodule_search_locations:
        qt = Path(location) / "Qt"
        plugin = qt / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return [plugin, *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]]
    return []


def elf_needed(path: Path) -> list[str]:
    """The DT_NEEDED entries (linked libraries) of a 64- or 32-bit ELF file; [] if unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return []
    if data[:4] != b"\x7fELF":
        return []
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    try:
        if wide:
            shoff, = struct.unpack_from(order + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
        else:
            shoff, = struct.unpack_from(order + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
        sections = []
        for k in range(shnum):
            base = shoff + k * shentsize
            if wide:
                _name, kind, _flags, _addr, offset, size, link = struct.unpack_from(order + "IIQQQQI", data, base)
            else:
                _name, kind, _flags, _addr, offset, size, link = struct.unpack_from(order + "IIIIIII", data, base)
            sections.append((kind, offset, size, link))
        needed: list[str] = []
        for kind, offset, size, link in sections:
            if kind != 6:  # SHT_DYNAMIC
                continue
            strtab = sections[link][1]
            entry = struct.Struct(order + ("qQ" if wide else "iI"))
            for pos in range(offset, offset + size, entry.size):
                tag, value = entry.unpack_from(data, pos)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    end = data.index(b"\0", strtab + value)
                    needed.append(data[strtab + value:end].decode())
        return needed
    except (struct.error, IndexError, ValueError):
        return []


def _loads(soname: str) -> bool:
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def probe_missing(files: Sequence[Path] | None = None, use_ldd: bool = True) -> list[str]:
    """The system libraries the xcb plugin (``files``; default: PySide6's) needs that cannot be loaded here.

    With ``ldd``: what it reports ``not found``. Without it (or ``use_ldd`` False, or if it fails):
    the plugin's linked system libraries (read from the ELF files), each tried with the dynamic
    loader. Libraries Qt loads at run time (libxcb-cursor) are tried in both cases."""
    files = xcb_plugin_files() if files is None else list(files)
    if not files:
        return []
    missing: list[str] | None = None
    ldd = shutil.which("ldd") if use_ldd else None
    if ldd is not None:
        try:
            listings = [subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=20).stdout
                        for path in files]
            missing = parse_ldd("\n".join(listings))
        except (OSError, subprocess.SubprocessError):
            missing = None
    if missing is None:
        known = PACKAGES["debian"]
        needed = {name for path in files for name in elf_needed(path) if name in known}
        missing = [name for name in sorted(needed) if not _loads(name)]
    missing += [name for name in _ALWAYS_PROBED if name not in missing and not _loads(name)]
    return missing


def check(platform: str, environ: Mapping[str, str], probe: Probe = probe_missing,
          os_release: Path = OS_RELEASE) -> str | None:
    """None when the app can open (or the check does not apply); otherwise the message to print."""
    if not needs_check(platform, environ):
        return None
    missing = probe()
    if not missing:
        return None
    return missing_message(missing, distribution_family(os_release))
