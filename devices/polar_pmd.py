"""Codec for the Polar Measurement Data (PMD) service: raw ECG and acceleration from a Polar H10.

The public face of the codec: import from here. Both directions, on bytes only: the app
decodes data frames and control point answers and builds the requests; the simulated strap
builds the answers and the frames. No BLE I/O and no state except :class:`ResponseAssembler`
(one per connection). The UUIDs of the service, its control point (read, write, indicate)
and its data characteristic (notify) are ``POLAR_PMD_*`` in :mod:`.gatt_uuids`.

Where it is written:

* :mod:`.pmd_types`: measurement types, :class:`PmdFormatError`, byte helpers;
* :mod:`.pmd_commands`: the control point (requests, answers, "stream stopped" notices,
  settings TLVs, features);
* :mod:`.pmd_frames`: data frames (decoding, encoding, sizing to the MTU, sample times).

Sources: research/ble.md §4 (polar-ble-sdk's Kotlin client, its unit tests and Polar's
online-measurement document). Units: ECG in µV, acceleration in mG (thousandths of g),
device times in ns since 2000-01-01T00:00:00Z (the strap's own clock, not the host's).

Thread: any. Pure functions, frozen records; a :class:`ResponseAssembler` belongs to one
connection and is not shared between threads.
"""

from __future__ import annotations

from .pmd_commands import (
    ControlOp,
    ControlResponse,
    MeasurementStopped,
    PmdStatus,
    ResponseAssembler,
    SettingType,
    control_response,
    decode_features,
    decode_settings,
    describe_status,
    encode_settings,
    features_value,
    get_settings_request,
    measurement_stopped,
    parse_control_message,
    start_request,
    stop_request,
)
from .pmd_frames import (
    DEFAULT_RESOLUTION_BITS,
    PMD_EPOCH_UNIX_S,
    PmdDataFrame,
    decode_data_frame,
    device_time_to_unix_s,
    encode_acc_frame,
    encode_compressed_frame,
    encode_ecg_frame,
    max_compressed_samples_per_frame,
    max_samples_per_frame,
    sample_times_ns,
)
from .pmd_types import MeasurementType, PmdFormatError

__all__ = [
    "DEFAULT_RESOLUTION_BITS", "ControlOp", "ControlResponse", "MeasurementStopped", "MeasurementType", "PMD_EPOCH_UNIX_S",
    "PmdDataFrame", "PmdFormatError", "PmdStatus", "ResponseAssembler", "SettingType",
    "control_response", "decode_data_frame", "decode_features", "decode_settings",
    "describe_status", "device_time_to_unix_s", "encode_acc_frame", "encode_compressed_frame",
    "encode_ecg_frame", "encode_settings", "features_value", "get_settings_request",
    "max_compressed_samples_per_frame", "max_samples_per_frame", "measurement_stopped",
    "parse_control_message", "sample_times_ns", "start_request", "stop_request",
]
