"""The one error the relay link raises: :class:`RelayError`, whose text is meant to be shown as it is.

Thread: any.
"""

from __future__ import annotations


class RelayError(Exception):
    """The relay could not be started, reached or used; ``str(error)`` says what happened and what to check,
    in words a practitioner understands (never a traceback)."""


class RelayUnavailable(RelayError):
    """The relay link is down for now (nats-py is reconnecting): keep what was to be sent and try again."""
