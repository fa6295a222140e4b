"""The Polar Measurement Data service of a simulated Polar H10: raw ECG and chest motion.

Added to a :class:`~.strap.SimulatedStrap` (``SimulatedRadio.add_strap(..., h10=True)``),
it serves PMD the way the H10 does, so the app's ordinary bleak code is exercised:

* control point (read: features ECG + ACC; write: commands; indicate: answers
  ``F0 op type status more params``): settings (ECG 130 Hz / 14 bit; ACC 25/50/100/200 Hz,
  16 bit, 2/4/8 g), start and stop, with the strap's error statuses (invalid sample rate,
  resolution or range, already in state, invalid state, invalid MTU on a link too small
  for a frame, unknown op or type);
* data notifications sized to the link's ATT MTU: ECG type 0, and ACC either raw type 1
  or (``compressed_acc``, the default) delta-compressed frames;
* its own clock: nanoseconds since 2000-01-01 running ``clock_drift_ppm`` fast against
  the session clock; each frame is stamped with its last sample's device time and sent
  after a small, jittered radio latency;
* ECG synthesised from the very beats the Heart Rate service reports (same model), and
  acceleration carrying the model's breathing (phase from the beats' breathing cycles),
  posture and the scenario's ``movement`` bursts; ``pmd_stop`` faults make the strap end
  its streams itself (``ONLINE_MEASUREMENT_STOPPED``). Streams end with the link.

Ground truth for tests: :attr:`SimulatedPmd.frames_sent` (measurement type, device stamp,
send time, sample count) and the model's beats.

Thread: the radio's asyncio loop; timing is the loop's session time.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from bumble import gatt
from bumble.device import Connection, Device

from ..gatt_uuids import POLAR_PMD_CONTROL_POINT, POLAR_PMD_DATA, POLAR_PMD_SERVICE
from ..pmd_commands import (
    ControlOp,
    PmdStatus,
    SettingType,
    control_response,
    decode_settings,
    encode_settings,
    features_value,
    measurement_stopped,
)
from ..pmd_frames import encode_acc_frame, encode_compressed_frame, encode_ecg_frame, max_samples_per_frame
from ..pmd_types import MeasurementType, PmdFormatError
from .acc_synth import AccSynth
from .breath_shape import SYMMETRIC_SHARE
from .ecg_synth import EcgSynth
from .physiology import SimBeat

log = logging.getLogger(__name__)

H10_MAX_MTU: Final = 232  # bytes; the H10's ATT MTU (an ECG frame then holds 73 samples)
MIN_STREAM_MTU: Final = 50  # bytes; below this the simulated strap refuses to stream (INVALID_MTU)
DEVICE_CLOCK_START_S: Final = 848_016_000.0  # s since 2000-01-01 at session time 0 (2026-11-15)
CLOCK_DRIFT_PPM: Final = 35.0  # how much faster the strap's crystal runs than the session clock
LATENCY_MIN_S: Final = 0.008  # s from a frame's last sample to its notification, at best
LATENCY_MEAN_EXTRA_S: Final = 0.012  # s, mean of the exponential extra latency
SEATED_GRAVITY_MG: Final = (-30.0, 980.0, 150.0)  # the strap's axes against gravity, sitting upright
POSTURE_TURN_DEG: Final = (8.0, 15.0)  # how far the posture turns with each movement
RENDER_LOOKAHEAD_S: Final = 1.0  # s of beats known beyond a frame's end before it is drawn
ACC_REFERENCE_BYTES: Final = 6  # compressed ACC: 3 x int16 reference sample
ACC_WORST_DELTA_BYTES: Final = 6  # compressed ACC: at most 16-bit deltas x 3 channels per sample

Offer = Mapping[SettingType | int, Sequence[int]]  # setting type -> the values offered
ECG_OFFER: Final[Offer] = {SettingType.SAMPLE_RATE: [130], SettingType.RESOLUTION: [14]}
ACC_OFFER: Final[Offer] = {SettingType.SAMPLE_RATE: [25, 50, 100, 200], SettingType.RESOLUTION: [16], SettingType.RANGE: [2, 4, 8]}
OFFERS: Final[Mapping[int, Offer]] = {MeasurementType.ECG: ECG_OFFER, MeasurementType.ACC: ACC_OFFER}


@dataclass(frozen=True, slots=True)
class SentFrame:
    """One PMD data frame that reached a central (ground truth)."""

    measurement_type: int
    timestamp_ns: int  # device clock, last sample
    sent_s: float  # session time sent
    n_samples: int  # (the samples themselves are not kept: hours of ECG would fill memory)


@dataclass(slots=True)
class _Stream:
    measurement: int
    rate_hz: float
    connection: Connection
    task: asyncio.Task[None] | None = None


class SimulatedPmd:
    """The PMD service of one simulated H10 (see module docstring)."""

    def __init__(
        self,
        device: Device,
        session_time: Callable[[], float],
        run_model_until: Callable[[float], None],
        seed: int,
        *,
        compressed_acc: bool = True,
        clock_drift_ppm: float = CLOCK_DRIFT_PPM,
        max_mtu: int = H10_MAX_MTU,
    ) -> None:
        self.device = device
        self.session_time = session_time
        self._run_model_until = run_model_until  # makes the heart model report its beats up to a time
        self.compressed_acc = compressed_acc
        self.drift = clock_drift_ppm * 1e-6
        self.frames_sent: list[SentFrame] = []
        self.contact = True
        self.ecg = EcgSynth(fs_hz=130.0 * (1.0 + self.drift), seed=seed)
        self.acc_synths: dict[float, AccSynth] = {}
        self._seed = seed
        self._rng = np.random.default_rng([seed, 0x9D])
        self._beats: list[tuple[float, float, float, float]] = []  # (t_end_s, cycles, depth, inhale share) of recent beats
        self._extra_open = False  # the first half of an "extra" pair was seen
        self._movements: list[tuple[float, float, float]] = []  # (start_s, duration_s, intensity_mG)
        self._postures: list[tuple[float, tuple[float, float, float]]] = []  # (from session s, gravity mG) after each
        self._posture = np.array(SEATED_GRAVITY_MG)
        self._streams: dict[int, _Stream] = {}
        self._chores: set[asyncio.Task[None]] = set()
        device.gatt_server.max_mtu = max_mtu

        self._control: gatt.Characteristic[bytes] = gatt.Characteristic(
            POLAR_PMD_CONTROL_POINT,
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(read=lambda connection: features_value(OFFERS), write=self._on_command),
        )
        self._data = gatt.Characteristic(
            POLAR_PMD_DATA, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.service = gatt.Service(POLAR_PMD_SERVICE, [self._control, self._data])
        device.on("connection", lambda connection: connection.on("disconnection", lambda reason: self._end(connection)))

    # -- what the strap feeds in ----------------------------------------------------------
    def add_beat(self, beat: SimBeat) -> None:
        """A beat the model reported, before its time comes (the ECG needs to see it coming).

        The ECG shows the heart, not the strap's detector: of an ``extra`` pair only the
        second is a real beat (the first is a spurious detection), and a ``missed`` beat
        hides a real one, drawn here halfway through the merged interval.
        """
        if beat.kind == "extra" and not self._extra_open:
            self._extra_open = True  # the spurious half: nothing to draw
        else:
            self._extra_open = False
            if beat.kind == "missed" and self._beats:
                hidden_s = (self._beats[-1][0] + beat.t_end_s) / 2.0
                self.ecg.add_beat(hidden_s, "normal", beat.breath_cycles, beat.inhale_share)
            self.ecg.add_beat(beat.t_end_s, "ectopic" if beat.kind == "ectopic" else "normal", beat.breath_cycles,
                              beat.inhale_share)
        self._beats.append((beat.t_end_s, beat.breath_cycles, beat.breath_depth, beat.inhale_share))
        del self._beats[:-64]

    def add_movement(self, start_s: float, duration_s: float, intensity_mg: float = 250.0) -> None:
        """The wearer moves: a burst of chest acceleration, after which they settle in a
        slightly different posture (gravity turned by 10-30 degrees, seeded)."""
        self._movements.append((start_s, duration_s, intensity_mg))
        rng = np.random.default_rng([self._seed, 0x90, len(self._movements)])
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        angle = np.radians(rng.uniform(*POSTURE_TURN_DEG))
        g = self._posture
        # Rodrigues' rotation of the gravity vector about a random axis
        self._posture = (g * np.cos(angle) + np.cross(axis, g) * np.sin(angle)
                         + axis * np.dot(axis, g) * (1 - np.cos(angle)))
        self._postures.append((start_s + duration_s * 0.5, (float(self._posture[0]), float(self._posture[1]), float(self._posture[2]))))
        for synth in self.acc_synths.values():
            self._schedule(synth, len(self._movements) - 1)

    def _schedule(self, synth: AccSynth, k: int) -> None:
        synth.add_movement(*self._movements[k])
        synth.set_posture(*self._postures[k])

    @property
    def running(self) -> frozenset[int]:
        return frozenset(self._streams)

    async def stop_from_device(self) -> None:
        """The strap ends every stream on its own and says so (ONLINE_MEASUREMENT_STOPPED)."""
        by_connection: dict[Connection, list[int]] = {}
        for measurement, stream in list(self._streams.items()):
            self._halt(measurement)
            by_connection.setdefault(stream.connection, []).append(measurement)
        for connection, types in by_connection.items():
            await self.device.indicate_subscriber(connection, self._control, measurement_stopped(types))

    async def stop(self) -> None:
        for measurement in list(self._streams):
            self._halt(measurement)
        await asyncio.gather(*self._chores, return_exceptions=True)

    # -- control point ------------------------------------------------------------------------
    def _on_command(self, connection: Connection, value: bytes) -> None:
        self._spawn(self._answer(connection, bytes(value)))

    async def _answer(self, connection: Connection, request: bytes) -> None:
        op = request[0] if request else 0
        measurement = request[1] & 0x3F if len(request) > 1 else 0
        status, params = self._decide(connection, request)
        await self.device.indicate_subscriber(connection, self._control, control_response(op, measurement, status, params))

    def _decide(self, connection: Connection, request: bytes) -> tuple[int, bytes]:
        """The status (and parameters) the H10 answers a command with."""
        if len(request) < 2:
            return PmdStatus.INVALID_LENGTH, b""
        op, measurement = request[0], request[1] & 0x3F
        if op not in (ControlOp.GET_MEASUREMENT_SETTINGS, ControlOp.REQUEST_MEASUREMENT_START, ControlOp.STOP_MEASUREMENT):
            return PmdStatus.INVALID_OP_CODE, b""
        if measurement not in OFFERS:
            return PmdStatus.NOT_SUPPORTED, b""
        if op == ControlOp.GET_MEASUREMENT_SETTINGS:
            return PmdStatus.SUCCESS, encode_settings(OFFERS[measurement])
        if op == ControlOp.STOP_MEASUREMENT:
            if measurement not in self._streams:
                return PmdStatus.INVALID_STATE, b""
            self._halt(measurement)
            return PmdStatus.SUCCESS, b""
        if measurement in self._streams:
            return PmdStatus.ALREADY_IN_STATE, b""
        try:
            wanted = decode_settings(request[2:])
        except PmdFormatError:
            return PmdStatus.INVALID_PARAMETER, b""
        offer = OFFERS[measurement]
        for setting, status in ((SettingType.SAMPLE_RATE, PmdStatus.INVALID_SAMPLE_RATE),
                                (SettingType.RESOLUTION, PmdStatus.INVALID_RESOLUTION),
                                (SettingType.RANGE, PmdStatus.INVALID_RANGE)):
            if setting in offer and (len(wanted.get(setting, [])) != 1 or wanted[setting][0] not in offer[setting]):
                return status, b""
        if connection.att_mtu < MIN_STREAM_MTU:
            return PmdStatus.INVALID_MTU, b""
        stream = _Stream(measurement, float(wanted[SettingType.SAMPLE_RATE][0]), connection)
        self._streams[measurement] = stream
        stream.task = asyncio.get_running_loop().create_task(self._stream_loop(stream))
        return PmdStatus.SUCCESS, b""

    # -- streaming ---------------------------------------------------------------------------
    def device_ns(self, session_s: float) -> int:
        """The strap's clock at a session time."""
        return round((DEVICE_CLOCK_START_S + session_s * (1.0 + self.drift)) * 1e9)

    def _samples_per_frame(self, stream: _Stream) -> int:
        mtu = stream.connection.att_mtu
        if stream.measurement == MeasurementType.ECG:
            return max_samples_per_frame(mtu, 3)
        if self.compressed_acc:  # room for the reference and one worst-case block header
            return max(1, min(255, (mtu - 3 - 10 - ACC_REFERENCE_BYTES - 2) // ACC_WORST_DELTA_BYTES))
        return max_samples_per_frame(mtu, 6)

    async def _stream_loop(self, stream: _Stream) -> None:
        loop = asyncio.get_running_loop()
        host_rate = stream.rate_hz * (1.0 + self.drift)  # samples per second of session time
        index = math.ceil(self.session_time() * host_rate)  # global sample index: sample k at k / host_rate
        origin = loop.time() - self.session_time()
        while True:
            n = self._samples_per_frame(stream)
            last_s = (index + n - 1) / host_rate
            latency = LATENCY_MIN_S + float(self._rng.exponential(LATENCY_MEAN_EXTRA_S))
            await asyncio.sleep(max(0.0, origin + last_s + latency - loop.time()))
            samples = self._render(stream, index, n, host_rate)
            stamp = round((DEVICE_CLOCK_START_S + (index + n - 1) / stream.rate_hz) * 1e9)
            payload = self._encode(stream.measurement, stamp, samples)
            await self.device.notify_subscriber(stream.connection, self._data, payload)
            self.frames_sent.append(SentFrame(stream.measurement, stamp, self.session_time(), len(samples)))
            index += n

    def _render(self, stream: _Stream, index: int, n: int, host_rate: float) -> np.ndarray:
        self._run_model_until((index + n) / host_rate + RENDER_LOOKAHEAD_S)
        if stream.measurement == MeasurementType.ECG:
            return self.ecg.render(index, n, contact=self.contact)
        synth = self._acc_synth(host_rate)
        t = (index + np.arange(n)) / host_rate
        cycles, depth, share = self._breathing(t)
        return synth.render(index, n, cycles, depth, share)

    def _acc_synth(self, host_rate: float) -> AccSynth:
        if host_rate not in self.acc_synths:
            synth = AccSynth(fs_hz=host_rate, seed=self._seed, gravity_mg=SEATED_GRAVITY_MG)
            for k in range(len(self._movements)):
                self._schedule(synth, k)
            self.acc_synths[host_rate] = synth
        return self.acc_synths[host_rate]

    def _breathing(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """The heart model's breathing cycles, depth factor (None: all 1) and inhale share (None: all
        symmetric) at sample times, interpolated between beats.

        The model's convention holds throughout the simulator: an inhale runs from phase 0.25
        (longest RR) to 0.25 + inhale share (0.75 for a symmetric breath).
        """
        if not self._beats:
            return np.zeros_like(t_s), None, None
        times, cycles, depths, shares = (np.array(column) for column in zip(*self._beats))
        return (np.interp(t_s, times, cycles), None if np.all(depths == 1.0) else np.interp(t_s, times, depths),
                None if np.all(shares == SYMMETRIC_SHARE) else np.interp(t_s, times, shares))

    def _encode(self, measurement: int, stamp: int, samples: np.ndarray) -> bytes:
        if measurement == MeasurementType.ECG:
            return encode_ecg_frame(stamp, samples)
        if self.compressed_acc:
            return encode_compressed_frame(MeasurementType.ACC, stamp, samples, 16, frame_type=1)  # type 1: mG, no factor
        return encode_acc_frame(stamp, samples, frame_type=1)

    def _halt(self, measurement: int) -> None:
        stream = self._streams.pop(measurement, None)
        if stream is not None and stream.task is not None:
            stream.task.cancel()

    def _end(self, connection: Connection) -> None:
        """The link went: the strap stops sampling for it."""
        for measurement, stream in list(self._streams.items()):
            if stream.connection is connection:
                self._halt(measurement)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)
