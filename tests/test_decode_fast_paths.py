"""The PMD decoder's fast paths against the straightforward computations, on a simulated H10 recording.

Strided int32 views for the 1-3 byte samples, two's-complement bit weights and an in-place
running sum for delta frames, cached step arrays for the sample times, one pass from device
to host seconds: each must give exactly what the plain per-value arithmetic gives.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from recording_helpers import record_simulated

from somafeedback.devices.device_clock import DeviceClockMap
from somafeedback.devices.events import AccChunk, EcgChunk, GapEvent, Notification, TimelineEvent
from somafeedback.devices.gatt_uuids import POLAR_PMD_DATA
from somafeedback.devices.pmd_frames import (
    FRAME_HEADER_SIZE,
    NS_PER_S,
    _decode_delta_payload,
    _signed_le,
    decode_data_frame,
    decode_frame_as_float,
    sample_times_ns,
)
from somafeedback.devices.pmd_stream import PmdStream
from somafeedback.sessions.file import Session, read_session


@pytest.fixture(scope="module")
def h10(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """Two minutes of a simulated Polar H10: raw ECG frames and delta-compressed ACC frames."""
    return read_session(record_simulated(tmp_path_factory.mktemp("h10") / "h10.session.sqlite", "calm", 120.0, h10=True))


def _pmd_payloads(session: Session) -> list[bytes]:
    return [n.payload for n in session.notifications if n.characteristic == POLAR_PMD_DATA]


def _acc_reference_bytes(session: Session) -> int:
    """Bytes per channel of a compressed ACC frame's reference sample, from the recorded start answer."""
    started = [e.data for e in session.timeline if getattr(e, "kind", None) == "pmd_started" and e.data.get("type") == 2]
    return (int(started[0].get("resolution") or 16) + 7) // 8


def _plain_signed(raw: bytes, offset: int, count: int, width: int) -> list[int]:
    return [int.from_bytes(raw[offset + k * width: offset + (k + 1) * width], "little", signed=True) for k in range(count)]


def _plain_deltas(raw: bytes, channels: int, ref_width: int) -> np.ndarray:
    """A compressed payload decoded bit by bit in Python (the layout in pmd_frames, read literally)."""
    ref_end = FRAME_HEADER_SIZE + channels * ref_width
    rows = [_plain_signed(raw, FRAME_HEADER_SIZE, channels, ref_width)]
    pos = ref_end
    while pos < len(raw):
        bits, count = raw[pos], raw[pos + 1]
        n_bytes = (bits * channels * count + 7) // 8
        stream = int.from_bytes(raw[pos + 2: pos + 2 + n_bytes], "little")
        for k in range(count):
            row = []
            for c in range(channels):
                value = (stream >> ((k * channels + c) * bits)) & ((1 << bits) - 1)
                row.append(value - (1 << bits) if value >> (bits - 1) else value)
            rows.append([a + d for a, d in zip(rows[-1], row)])
        pos += 2 + n_bytes
    return np.array(rows, dtype=np.int64)


def test_strided_sample_views_read_every_width_as_int_from_bytes_does(h10: Session) -> None:
    rng = random.Random(7)
    for raw in [*_pmd_payloads(h10)[:50], *(bytes(rng.randrange(256) for _ in range(10 + 12 * 40)) for _ in range(20))]:
        for width in (1, 2, 3, 4):
            count = (len(raw) - FRAME_HEADER_SIZE) // width
            assert _signed_le(raw, FRAME_HEADER_SIZE, count, width).tolist() == _plain_signed(raw, FRAME_HEADER_SIZE, count, width)
    with pytest.raises(ValueError):
        _signed_le(b"\x00" * 12, 10, 1, 3)  # past the end


def test_delta_frames_decode_as_the_plain_bit_by_bit_reading(h10: Session) -> None:
    width = _acc_reference_bytes(h10)
    recorded = [(p, 3, width) for p in _pmd_payloads(h10) if p[9] & 0x80]
    assert len(recorded) > 50
    rng = random.Random(3)
    made_up = []  # every delta width 1..32, several blocks, 1, 3 and 4 channels
    for channels, ref_width in ((3, 2), (1, 3), (4, 3)):
        for _ in range(60):
            body = bytes(rng.randrange(256) for _ in range(channels * ref_width))
            for _ in range(rng.randrange(1, 4)):
                bits, count = rng.randrange(1, 33), rng.randrange(1, 12)
                body += bytes([bits, count]) + bytes(rng.randrange(256) for _ in range((bits * channels * count + 7) // 8))
            made_up.append((bytes(10) + body, channels, ref_width))
    for raw, channels, ref_width in [*recorded, *made_up]:
        got = _decode_delta_payload(raw, channels, ref_width)
        assert got.dtype == np.int64 and np.array_equal(got, _plain_deltas(raw, channels, ref_width))


def test_float_frames_are_the_public_frames_as_float(h10: Session) -> None:
    rng = random.Random(9)
    broken = [raw[: rng.randrange(len(raw))] for raw in _pmd_payloads(h10)[:200]]  # truncated: the same errors
    for raw in [*_pmd_payloads(h10), *broken]:
        for factor, resolution in ((1.0, None), (0.5, 14), (1.0, 16)):
            try:
                public = decode_data_frame(raw, factor=factor, resolution_bits=resolution)
            except ValueError as error:
                with pytest.raises(type(error)):
                    decode_frame_as_float(raw, factor, resolution)
                continue
            fast = decode_frame_as_float(raw, factor, resolution)
            assert fast.samples.dtype == np.float64 and fast.samples.shape == public.samples.shape
            assert np.array_equal(fast.samples, np.asarray(public.samples, dtype=np.float64))
            assert (fast.timestamp_ns, fast.frame_type, fast.compressed) == (public.timestamp_ns, public.frame_type, public.compressed)


def test_sample_times_use_the_plain_formula() -> None:
    rng = random.Random(11)
    for _ in range(300):
        n, rate = rng.randrange(1, 80), rng.choice([25.0, 50.0, 130.0, 200.0])
        stamp = rng.randrange(10**17, 10**18)
        steps = np.arange(1, n + 1, dtype=np.float64)
        plain = stamp + np.rint((steps - n) * (NS_PER_S / rate)).astype(np.int64)
        plain[-1] = stamp
        assert np.array_equal(sample_times_ns(stamp, n, rate), plain)
        previous = stamp - rng.randrange(1, 10**9)
        plain = previous + np.rint(steps * ((stamp - previous) / n)).astype(np.int64)
        plain[-1] = stamp
        assert np.array_equal(sample_times_ns(stamp, n, rate, previous), plain)
    first = sample_times_ns(10**15, 5, 130.0)
    first[0] = 0  # the caller's array: the cached steps stay as they were
    assert sample_times_ns(10**15, 5, 130.0)[0] != 0


def test_host_seconds_are_host_nanoseconds_over_1e9() -> None:
    rng = random.Random(5)
    clock = DeviceClockMap()
    device = 10**15
    for k in range(2000):  # ten-second blocks of drifting stamps: the fit's slope and intercept change
        device += 250_000_000 + rng.randrange(-50, 50)
        clock.observe(device, 7 * NS_PER_S + device - 10**15 + rng.randrange(0, 20_000_000) + k * 3000)
        times = device - np.arange(73, dtype=np.int64)[::-1] * 7_692_308
        assert np.array_equal(clock.to_host_s(times), np.asarray(clock.to_host_ns(times), dtype=np.float64) / 1e9)


def test_stream_chunks_hold_the_public_decoding_on_the_clock_map(h10: Session) -> None:
    """Each chunk of a recorded stream: the public decoder's samples, timed by to_host_ns (the plain path)."""
    session = h10
    stream, shadow = PmdStream("s"), DeviceClockMap()
    last: dict[int, int] = {}
    checked = 0
    for item in session.timeline:
        if getattr(item, "strap_id", None) is None:
            continue
        if isinstance(item, (TimelineEvent, GapEvent)):
            stream.event(item)
            continue
        if not isinstance(item, Notification):
            continue
        for chunk in stream.feed(item):
            if not isinstance(chunk, (EcgChunk, AccChunk)):
                continue
            settings = stream._settings_for(item.payload[0] & 0x3F)
            frame = decode_data_frame(item.payload, factor=settings.factor, resolution_bits=settings.resolution_bits)
            samples = chunk.uv if isinstance(chunk, EcgChunk) else chunk.mg
            assert np.array_equal(samples, np.asarray(frame.samples, dtype=np.float64))
            shadow.observe(frame.timestamp_ns, chunk.arrival_ns)
            mtype = item.payload[0] & 0x3F
            device = sample_times_ns(frame.timestamp_ns, len(samples), chunk.fs_hz, last.get(mtype) if chunk.contiguous else None)
            last[mtype] = frame.timestamp_ns
            assert np.array_equal(chunk.t_s, np.asarray(shadow.to_host_ns(device), dtype=np.float64) / 1e9)
            checked += 1
    assert checked > 100
