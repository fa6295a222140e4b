"""Decoder fuzzing: random and mutated payloads through every decoder of strap data.

Each payload goes through the Heart Rate Measurement, Battery Level and Body Sensor Location
decoders and the PMD data-frame and control-message decoders. A decoder may accept a payload
or reject it with its own error (a ValueError subclass); anything else is a crash and is
counted. Payloads are, in equal parts: random bytes of random length (0-300), and valid frames
(real vectors, and frames the simulated H10 encodes) with bytes flipped, truncated, extended or
spliced.

Prints `name: value` lines:
  payloads, uncaught_exceptions (goal 0), accepted_pct, seconds, payloads_per_s
Run: python benchmarks/bench_fuzz.py [N]   (default 1,000,000)
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import numpy as np

from somafeedback.devices.heart_rate import decode_battery_level, decode_body_sensor_location, decode_measurement
from somafeedback.devices.polar_pmd import (
    MeasurementType,
    decode_data_frame,
    encode_acc_frame,
    encode_compressed_frame,
    encode_ecg_frame,
    parse_control_message,
)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ble_vectors.json"
DECODERS: tuple[tuple[str, Callable[[bytes], object]], ...] = (
    ("heart_rate", decode_measurement),
    ("battery", decode_battery_level),
    ("body_location", decode_body_sensor_location),
    ("pmd_data", decode_data_frame),
    ("pmd_control", parse_control_message),
)


def seeds(rng: np.random.Generator) -> list[bytes]:
    """Valid payloads to mutate: the public vectors and frames the simulator sends."""
    vectors = [bytes.fromhex(v["hex"]) for v in json.loads(VECTORS.read_text())["vectors"]]
    ecg = rng.integers(-2000, 2000, 73)
    acc = rng.integers(-1200, 1200, (36, 3))
    frames = [encode_ecg_frame(800_000_000_000_000_000, ecg), encode_acc_frame(800_000_000_000_000_000, acc, 1),
              encode_compressed_frame(MeasurementType.ACC, 800_000_000_000_000_000, acc, 16, frame_type=1)]
    return vectors + frames


def mutate(seed: bytes, rng: np.random.Generator) -> bytes:
    data = bytearray(seed)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(0, 4))
        if kind == 0 and data:  # flip bits
            data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1 and data:  # truncate
            del data[int(rng.integers(0, len(data))):]
        elif kind == 2:  # extend with random bytes
            data += rng.bytes(int(rng.integers(1, 40)))
        else:  # overwrite a byte with an extreme value
            if data:
                data[int(rng.integers(0, len(data)))] = int(rng.choice([0x00, 0x7F, 0x80, 0xFF]))
    return bytes(data)


def fuzz(n: int, seed: int = 2026) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    valid = seeds(rng)
    crashes: dict[str, int] = {}
    accepted = 0
    started = time.perf_counter()
    for k in range(n):
        if k % 2:
            payload = rng.bytes(int(rng.integers(0, 301)))
        else:
            payload = mutate(valid[int(rng.integers(0, len(valid)))], rng)
        for name, decode in DECODERS:
            try:
                decode(payload)
                accepted += 1
            except ValueError:
                pass
            except Exception:  # noqa: BLE001 - what the harness looks for
                key = f"{name}: {traceback.format_exc().strip().splitlines()[-1]}"
                if key not in crashes:
                    print(f"CRASH {key} on {payload.hex()}", file=sys.stderr)
                crashes[key] = crashes.get(key, 0) + 1
    seconds = time.perf_counter() - started
    return {"payloads": n, "decoder_calls": n * len(DECODERS), "uncaught_exceptions": sum(crashes.values()),
            "accepted_pct": 100.0 * accepted / (n * len(DECODERS)), "seconds": seconds, "payloads_per_s": n / seconds}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for name, value in fuzz(n).items():
        print(f"{name}: {value:.2f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
