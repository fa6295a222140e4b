"""Strap protocols, bleak clients, the simulated strap and (later) replay.

The only package that imports bleak or bumble. It knows nothing of the core or the UI:
it turns strap bytes into timed beats and connection events, and hands them to a sink.
"""
