"""Salvage rows from a damaged session file by reading its pages directly.

When SQLite itself can no longer walk a table (a damaged interior page, a file cut short),
the rows usually still sit intact in the table's leaf pages. This reads them the way
SQLite's own ``.recover`` does, following the documented file format
(https://www.sqlite.org/fileformat2.html):

* the database header gives the page size (bytes 16-17) and reserved bytes per page (20);
* a leaf table b-tree page starts with type 0x0D, its cell count (bytes 3-4), and an array
  of 2-byte cell offsets after its 8-byte header (page 1's header follows the 100-byte file
  header);
* a cell is varint(payload size), varint(rowid), then the record: varint(header size), one
  varint serial type per column, then the column values (big-endian integers, IEEE
  doubles, text, blobs);
* committed frames of the ``-wal`` file (32-byte header, then 24-byte frame header + page,
  salts matching the header, each frame's cumulative checksum matching) hold the newest
  versions of pages; a ``-wal`` whose header or checksums do not match is not used.

Rows are recognised by their column layout (a session's three tables differ; format 2 rows end
with their ``crc``, returned last for the reader to verify) and keyed by
rowid, which is ``timeline_seq`` for notifications and events. Rows spilling onto overflow
pages are not followed (none of a session's rows is that large) and are counted as lost.

Thread: any (pure reading).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .opening import wal_checksum, wal_header_problem

LEAF_TABLE_PAGE: Final = 0x0D
FILE_HEADER_BYTES: Final = 100
WAL_HEADER_BYTES: Final = 32
WAL_FRAME_HEADER_BYTES: Final = 24
WAL_MAGIC: Final = (0x377F0682, 0x377F0683)


@dataclass
class SalvagedRows:
    """Rows found in the pages, by table, keyed by rowid."""

    manifest: dict[str, str] = field(default_factory=dict)
    notifications: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # rowid -> (strap, seq, char, ns, wall, payload)
    events: dict[int, tuple[Any, ...]] = field(default_factory=dict)  # rowid -> (ns, wall, kind, strap, data)
    unreadable_cells: int = 0


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position) of the SQLite varint at ``pos`` (1-9 bytes, big-endian 7-bit groups)."""
    value = 0
    for i in range(8):
        byte = data[pos + i]
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos + i + 1
    return (value << 8) | data[pos + 8], pos + 9


def _value(serial: int, data: bytes, pos: int) -> tuple[Any, int]:
    """(column value, next position) for a record serial type."""
    if serial == 0:
        return None, pos
    if 1 <= serial <= 6:
        size = (1, 2, 3, 4, 6, 8)[serial - 1]
        return int.from_bytes(data[pos:pos + size], "big", signed=True), pos + size
    if serial == 7:
        return struct.unpack(">d", data[pos:pos + 8])[0], pos + 8
    if serial in (8, 9):
        return serial - 8, pos
    if serial >= 12:
        size = (serial - 12) // 2 if serial % 2 == 0 else (serial - 13) // 2
        raw = data[pos:pos + size]
        if len(raw) != size:
            raise ValueError("value runs past the page")
        return (bytes(raw) if serial % 2 == 0 else raw.decode("utf-8")), pos + size
    raise ValueError(f"reserved serial type {serial}")


def _cells(page: bytes, header_at: int, usable: int) -> Iterator[tuple[int, list[Any]] | None]:
    """(rowid, columns) of every cell of a leaf table page; None for a cell that cannot be read."""
    count = int.from_bytes(page[header_at + 3:header_at + 5], "big")
    pointers = header_at + 8
    for k in range(count):
        try:
            at = int.from_bytes(page[pointers + 2 * k:pointers + 2 * k + 2], "big")
            size, pos = _varint(page, at)
            rowid, pos = _varint(page, pos)
            if size > usable - 35:  # the record continues on overflow pages
                yield None
                continue
            end = pos + size
            header_size, cursor = _varint(page, pos)
            types = []
            while cursor < pos + header_size:
                serial, cursor = _varint(page, cursor)
                types.append(serial)
            values, cursor = [], pos + header_size
            for serial in types:
                value, cursor = _value(serial, page, cursor)
                values.append(value)
            if cursor != end:
                raise ValueError("record size mismatch")
            yield rowid, values
        except (IndexError, ValueError, UnicodeDecodeError, struct.error):
            yield None


def _pages(path: Path, use_wal: bool = True) -> Iterator[tuple[int, bytes, int]]:
    """(page number, page bytes, usable size) of the main file, then of committed WAL frames."""
    data = path.read_bytes()
    if len(data) < FILE_HEADER_BYTES or not data.startswith(b"SQLite format 3\x00"):
        return
    page_size = int.from_bytes(data[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        page_size = 4096  # a damaged header: SQLite's default is the best guess
    reserved = data[20]
    for number, start in enumerate(range(0, len(data) - page_size + 1, page_size), start=1):
        yield number, data[start:start + page_size], page_size - reserved
    wal = Path(f"{path}-wal")
    if use_wal and wal.is_file() and wal_header_problem(path) is None:
        yield from _wal_pages(wal.read_bytes(), reserved)


def _wal_pages(wal: bytes, reserved: int) -> Iterator[tuple[int, bytes, int]]:
    if len(wal) < WAL_HEADER_BYTES or int.from_bytes(wal[:4], "big") not in WAL_MAGIC:
        return
    big_endian = int.from_bytes(wal[:4], "big") == WAL_MAGIC[1]
    page_size = int.from_bytes(wal[8:12], "big")
    if page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return
    salts = wal[16:24]
    frame = WAL_FRAME_HEADER_BYTES + page_size
    frames = []
    checksum = (int.from_bytes(wal[24:28], "big"), int.from_bytes(wal[28:32], "big"))
    for start in range(WAL_HEADER_BYTES, len(wal) - frame + 1, frame):
        header = wal[start:start + WAL_FRAME_HEADER_BYTES]
        if header[8:16] != salts:
            break  # frames of an older WAL generation
        checksum = wal_checksum(header[:8], big_endian, *checksum)
        checksum = wal_checksum(wal[start + WAL_FRAME_HEADER_BYTES:start + frame], big_endian, *checksum)
        if checksum != (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")):
            break  # a torn or foreign frame: it and everything after it are not part of the log
        frames.append((int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big"), start))
    last_commit = max((i for i, (_, committed, _) in enumerate(frames) if committed), default=-1)
    for number, _, start in frames[:last_commit + 1]:
        body = start + WAL_FRAME_HEADER_BYTES
        yield number, wal[body:body + page_size], page_size - reserved


def _real(value: Any) -> bool:
    """A REAL column's value: SQLite stores a whole-number REAL on disk as an integer."""
    return isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool))


def _crc(values: list[Any], columns: int) -> bool:
    """Exactly ``columns`` columns, or one more: a format 2 row's checksum (an integer)."""
    return len(values) == columns or (len(values) == columns + 1 and isinstance(values[-1], int))


def _looks_like_notification(values: list[Any]) -> bool:
    return (_crc(values, 7) and values[0] is None and isinstance(values[1], str) and isinstance(values[2], int)
            and isinstance(values[3], str) and isinstance(values[4], int) and _real(values[5])
            and isinstance(values[6], bytes))


def _looks_like_event(values: list[Any]) -> bool:
    return (_crc(values, 6) and values[0] is None and isinstance(values[1], int)
            and (values[2] is None or _real(values[2])) and isinstance(values[3], str)
            and (values[4] is None or isinstance(values[4], str)) and isinstance(values[5], str))


def salvage(path: Path, use_wal: bool = True) -> SalvagedRows:
    """Every session row still readable in the file's pages (later WAL versions win; no WAL unless ``use_wal``)."""
    rows = SalvagedRows()
    for number, page, usable in _pages(path, use_wal):
        header_at = FILE_HEADER_BYTES if number == 1 else 0
        if len(page) <= header_at or page[header_at] != LEAF_TABLE_PAGE:
            continue
        for cell in _cells(page, header_at, usable):
            if cell is None:
                rows.unreadable_cells += 1
                continue
            rowid, values = cell
            if _looks_like_notification(values):
                values[5] = float(values[5])
                rows.notifications[rowid] = tuple(values[1:])
            elif _looks_like_event(values):
                values[2] = None if values[2] is None else float(values[2])
                rows.events[rowid] = tuple(values[1:])
            elif len(values) == 2 and all(isinstance(v, str) for v in values):
                rows.manifest[values[0]] = values[1]
    return rows
