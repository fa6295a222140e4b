"""Which strap of a session is the client's: the one the regulation model, the plots and the reports follow.

Straps are named by connection order (``strap1``, ``strap2``…); the client's strap is ``strap1``
(a practitioner's own strap, when worn, is ``strap2``). A recording in which ``strap1`` sent
nothing (an import, a session whose first strap failed) follows the first strap that did.
Pure functions; any thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from somafeedback.devices.events import Notification, SourceEvent

CLIENT_STRAP: Final = "strap1"


def client_strap(timeline: Iterable[Notification | SourceEvent]) -> str | None:
    """:data:`CLIENT_STRAP` when it sent anything in ``timeline``, else the first strap that did (None: no data)."""
    straps: list[str] = []
    for item in timeline:
        if isinstance(item, Notification) and item.strap_id not in straps:
            straps.append(item.strap_id)
    if not straps:
        return None
    return CLIENT_STRAP if CLIENT_STRAP in straps else straps[0]
