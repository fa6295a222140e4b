"""Remote sessions (issue #17): a client's strap streamed end-to-end encrypted through a relay.

What lives here (Qt-free, BLE-free core):

- ``codes``: pairing codes such as ``7-amber-harbor``, the word list, invitations (one use,
  expiring) and the relay meeting subject derived from a code.
- ``mailbox``: the tiny async message-exchange protocol pairing runs over, and an in-memory pair.
- ``pairing``: SPAKE2 with key confirmation, turning a code into per-direction session keys.
- ``channel``: the AEAD-sealed message channel with sequence numbers (replay/reorder/tamper checks).

May import: the standard library, ``cryptography``, ``spake2`` and ``somafeedback.clock``; sits
below ``live | interop`` and above ``regulation`` in the layers contract (pyproject.toml).
"""
