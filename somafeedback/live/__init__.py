"""Running a session live: the per-strap analysis of notifications into beats, metrics and
raw-signal measures (``analysis``: ``LiveAnalysis``, also used offline to re-analyse a recording
exactly as it ran), live sources (``sources``: straps, simulator, replay, recording through
``sinks``), the headless regulation session that drives the ``regulation`` models from one
client strap (``regulation_session``) and re-analyses a recording made without states
(``reanalysis``), the opt-in LSL outlets (``lsl_outlets``), the stream
printer of the ``stream`` command (``stream_printer``), and the engine that runs all of this on
its own asyncio thread for the app (``engine``; the GUI thread calls in with ``Engine.call`` and
drains results on its frame timer). May import everything below it; not ``interop``, ``reports``,
``cli`` or ``ui``.
"""
