"""Polar PMD codec: the shared byte vectors, polar-ble-sdk's published test frames, round trips, fuzz.

Expected values come from outside this codec: ../shared/data/ble_vectors.json (each vector
cites its public source and was checked by two decoders), the unit tests of polar-ble-sdk
(bytes and assertions quoted below with their file), the layouts and figures in
research/ble.md §4, and arithmetic done here in plain Python integers.
"""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_helpers import SHARED_DATA

from somafeedback.devices.polar_pmd import (
    PMD_EPOCH_UNIX_S,
    ControlOp,
    ControlResponse,
    MeasurementStopped,
    MeasurementType,
    PmdDataFrame,
    PmdFormatError,
    PmdStatus,
    ResponseAssembler,
    SettingType,
    control_response,
    decode_data_frame,
    decode_features,
    decode_settings,
    describe_status,
    device_time_to_unix_s,
    encode_acc_frame,
    encode_compressed_frame,
    encode_ecg_frame,
    encode_settings,
    features_value,
    get_settings_request,
    max_compressed_samples_per_frame,
    max_samples_per_frame,
    measurement_stopped,
    parse_control_message,
    sample_times_ns,
    start_request,
    stop_request,
)

ECG, PPG, ACC = MeasurementType.ECG, MeasurementType.PPG, MeasurementType.ACC
VECTORS_PATH = SHARED_DATA / "ble_vectors.json"
PMD_COUNTS = {"pmd_start_request": 2, "pmd_cp_read_features": 1, "pmd_data_frame": 1}

# polar-ble-sdk (mirror HEAD), sources/Android/android-communications/library/src/test/java/
# com/polar/androidcommunications/api/ble/model/gatt/client/pmd/...
SDK_HEADER_TS_2E9 = "0094357700000000"  # uint64 LE 2 000 000 000 ns, as in the SDK tests' headers
# model/EcgDataTest.kt "process raw ecg data type 0": 02 80 FF -> -32766 µV, 02 80 00 -> 32770 µV
SDK_ECG_TYPE0 = "00" + SDK_HEADER_TS_2E9 + "00" + "0280ff028000"
# model/AccDataTest.kt "process acc raw data frame type 1": x y z int16 mG; the test's own count is
# payload size / 2 / 3 = 36 samples; first samples (-9, -1, 999), (-8, -2, 997); stamp 2e9 ns.
SDK_ACC_TYPE1_PAYLOAD = (
    "F7FFFFFFE703F8FFFEFFE503F9FFFFFFE503FAFFFFFFE603FAFFFEFFE603F9FFFFFFE503F8FFFFFFE603F8FFFEFFE603"
    "FAFFFFFFE503FAFFFFFFE703FAFFFFFFE503F8FFFFFFE603F7FFFFFFE603F8FFFEFFE603F9FFFEFFE703F9FF0000E603"
    "F9FFFFFFE603F7FFFEFFE503F9FFFFFFE503F9FFFFFFE503FAFF0000E603F9FFFEFFE603F8FFFFFFE603F8FFFFFFE503"
    "F9FFFFFFE603F9FFFFFFE503FAFFFFFFE603F9FFFFFFE503F9FFFFFFE503F8FFFEFFE603F9FFFFFFE603F9FFFFFFE603"
    "F9FF0000E503F9FFFEFFE603F8FFFEFFE603F7FFFEFFE603"
)
SDK_ACC_TYPE1 = "02" + SDK_HEADER_TS_2E9 + "01" + SDK_ACC_TYPE1_PAYLOAD
# model/AccDataTest.kt "process acc compressed data type 0": reference (1905, 27376, -29282), one
# block of 56 samples with 10-bit deltas; sample 1 = reference + (190, -105, -85); with factor
# 2.44e-4 every sample * factor * 1000 lies within the 8 g range (|mG| <= 8000).
SDK_ACC_COMPRESSED_TYPE0 = "02" + SDK_HEADER_TS_2E9 + "80" + (
    "7107F06A9E8D0A38BE5CBEBA2F96B3EE4BE5ADFB42B9EBBE4CFEBA2F92BFEE4BE4B1FB12B9ECBD3C3EBB2F8FD3DE4BE3"
    "B5F7D2B8EDBD307E7B2F8BE3CE8BE2BAF7A2B8EEBC20BE7B2F88F3CECBE1BDEF52F8EFBC18FE3B2F8403BFCBE0C2EF32"
    "B8F0BB044EBC2E8113AF0BE0C6EFF2F7F1B9FC7DBC2E7D279F4BDFCAEBC2F7F2B8ECCD7C2E7B378F4BDECEE392F7F3B8"
    "E00DFD2D774B7FCBDDD2DF6237F5B7D44DBD2D745B6FCBDCD7D73237F6B5C88D7D2D716B4F4BDCDCD3F236F7B4BCDDFD"
    "2C6F7B3F4BDBE0CFD236F8B2B02DBE2C6C8F1FCBDAE3C7A276F9"
)
# model/AccDataTest.kt "process acc compressed data type 1" (ble.md: its comments are wrong, its
# assertions right): reference (-15, 20, 1008), one 6-bit block of 1 sample: deltas (-5, -3, 0);
# stamps with previous 100 ns and frame 101 ns: 100, 101.
SDK_ACC_COMPRESSED_TYPE1 = "02" + "6500000000000000" + "81" + "F1FF1400F00306017B0F08"
# BlePmdClientPmdSettingsTest.java testPmdSettingsWithRange: 52 Hz, 16 bit, ranges 245/500/1000/2000,
# 3 channels; testPmdSettingWithRangeMilliUnit: RANGE_MILLIUNIT -1 and 255, RESOLUTION 14.
SDK_SETTINGS_RANGES = "00013400010110000204F500F401E803D007040103"
SDK_SETTINGS_MILLIUNIT = "0302FFFFFFFFFF000000" + "01010E00"
# pmd/BlePmdClientControlPointResponseTest.kt: success with params FF FF FF; INVALID_RESOLUTION.
SDK_CP_SUCCESS = "F001020000FFFFFF"
SDK_CP_FAILURE = "F001060700"

# ble.md §4, in order: the status names the PMD specification gives to codes 0..14.
STATUS_NAMES = [
    "SUCCESS", "INVALID_OP_CODE", "INVALID_MEASUREMENT_TYPE", "NOT_SUPPORTED", "INVALID_LENGTH",
    "INVALID_PARAMETER", "ALREADY_IN_STATE", "INVALID_RESOLUTION", "INVALID_SAMPLE_RATE",
    "INVALID_RANGE", "INVALID_MTU", "INVALID_NUMBER_OF_CHANNELS", "INVALID_STATE",
    "DEVICE_IN_CHARGER", "DISK_FULL",
]


def _load_vectors() -> dict[str, Any] | None:
    try:
        return json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


_DATA = _load_vectors()


def _vectors(kind: str) -> list[Any]:
    if _DATA is None:
        return [pytest.param(None, id="vector-file-missing")]
    return [pytest.param(v, id=f"{kind}-{i}") for i, v in enumerate(v for v in _DATA["vectors"] if v["kind"] == kind)]


def _require(vector: dict[str, Any] | None) -> dict[str, Any]:
    if vector is None:
        pytest.fail(f"BLE test vectors not found at {VECTORS_PATH} (CI expects ../shared beside the checkout)")
    return vector


def _head(frame: PmdDataFrame) -> tuple[int, int, int, bool]:
    return frame.measurement_type, frame.timestamp_ns, frame.frame_type, frame.compressed


def _min_bits(values: list[int]) -> int:
    """Fewest two's-complement bits for every value, by Python int arithmetic (at least 1)."""
    return max((v if v >= 0 else ~v).bit_length() + 1 for v in values)


def _walk_blocks(payload: bytes, channels: int, ref_width: int) -> list[tuple[int, int]]:
    """(bits, count) of each delta block, walked by hand from the layout in ble.md."""
    pos, blocks = channels * ref_width, []
    while pos < len(payload):
        bits, count = payload[pos], payload[pos + 1]
        blocks.append((bits, count))
        pos += 2 + -(-bits * channels * count // 8)
    assert pos == len(payload)
    return blocks


# -- the shared vectors -------------------------------------------------------------------------
def test_vector_file_has_every_pmd_kind() -> None:
    data = _require(_DATA)
    counts = {kind: sum(v["kind"] == kind for v in data["vectors"]) for kind in PMD_COUNTS}
    assert counts == PMD_COUNTS


@pytest.mark.parametrize("vector", _vectors("pmd_start_request"))
def test_start_request_vectors(vector: dict[str, Any] | None) -> None:
    vector = _require(vector)
    raw, expected = bytes.fromhex(vector["hex"]), vector["expected"]
    wanted = {SettingType.SAMPLE_RATE: expected["sample_rate"], SettingType.RESOLUTION: expected["resolution"]}
    if "range_g" in expected:
        wanted[SettingType.RANGE] = expected["range_g"]
    assert start_request(expected["measurement_type"], wanted) == raw
    assert raw[0] == expected["op"] == ControlOp.REQUEST_MEASUREMENT_START
    assert raw[1] == expected["measurement_type"]
    assert decode_settings(raw[2:]) == {int(k): [v] for k, v in wanted.items()}


@pytest.mark.parametrize("vector", _vectors("pmd_cp_read_features"))
def test_features_vector(vector: dict[str, Any] | None) -> None:
    vector = _require(vector)
    raw = bytes.fromhex(vector["hex"])
    types = {MeasurementType[name] for name in vector["expected"]["types"]}
    assert decode_features(raw) == types == {ECG, ACC}
    assert features_value(types) == raw


@pytest.mark.parametrize("vector", _vectors("pmd_data_frame"))
def test_data_frame_vector(vector: dict[str, Any] | None) -> None:
    vector = _require(vector)
    raw, expected = bytes.fromhex(vector["hex"]), vector["expected"]
    frame = decode_data_frame(raw)  # PPG default: 22 bit -> 3-byte reference
    assert frame.measurement_type == expected["measurement_type"] == PPG
    assert frame.frame_type == expected["frame_type"]
    assert frame.compressed is expected["compressed"]
    assert frame.timestamp_ns == expected["timestamp_ns"]
    assert frame.samples.shape == (expected["n_samples"], 4)
    assert frame.samples[0].tolist() == expected["reference"]
    assert frame.samples[43:46].tolist() == expected["samples_43_to_45_lsb_first"]
    blocks = _walk_blocks(raw[10:], channels=4, ref_width=3)
    assert [list(b) for b in blocks] == expected["delta_blocks_bits_count"]
    assert 1 + sum(count for _, count in blocks) == expected["n_samples"]
    # ble.md [RUN]: read LSB-first, no step exceeds 114 counts (MSB-first gives +-508 jumps).
    assert int(np.abs(np.diff(frame.samples, axis=0)).max()) <= 114
    # The Verity capture was made on 2025-05-01 (ble.md: consistent with the 2000 epoch).
    day = datetime.fromtimestamp(device_time_to_unix_s(frame.timestamp_ns), UTC).date()
    assert day.isoformat() == "2025-05-01"
    for resolution in (22, 24):  # the Verity setting and the SDK's container width agree
        again = decode_data_frame(raw, resolution_bits=resolution)
        assert np.array_equal(again.samples, frame.samples)


# -- polar-ble-sdk's test frames (the layouts of ble.md §4) -------------------------------------
def test_ecg_type0_frame_from_the_sdk_tests() -> None:
    raw = bytes.fromhex(SDK_ECG_TYPE0)
    frame = decode_data_frame(raw)
    assert _head(frame) == (ECG, 2_000_000_000, 0, False)
    assert frame.samples.tolist() == [-32766, 32770]
    assert encode_ecg_frame(2_000_000_000, [-32766, 32770]) == raw
    assert decode_data_frame(raw, factor=2.0).samples.tolist() == [-32766, 32770]  # raw frames ignore factor


def test_acc_type1_frame_from_the_sdk_tests() -> None:
    raw = bytes.fromhex(SDK_ACC_TYPE1)
    frame = decode_data_frame(raw)
    assert (frame.measurement_type, frame.frame_type, frame.compressed) == (ACC, 1, False)
    assert frame.timestamp_ns == 2_000_000_000
    assert frame.samples.shape == (36, 3)
    assert frame.samples[:2].tolist() == [[-9, -1, 999], [-8, -2, 997]]
    rows = [list(struct.unpack_from("<3h", raw, 10 + 6 * i)) for i in range(36)]  # read by struct
    assert frame.samples.tolist() == rows
    assert encode_acc_frame(2_000_000_000, rows, frame_type=1) == raw


def test_hand_built_acc_type1_frame_of_40_samples() -> None:
    # ble.md: [type 02][u64 LE stamp][frame type 01] then x, y, z int16 LE mG per sample (the H10's
    # 200 Hz stream fits 36 per frame at MTU 232; 40 is what a larger MTU carries)
    rows = [[-9 + k, (-1) ** k * 100 * k, 999 - 30 * k] for k in range(38)] + [[-32768, 32767, 0], [32767, -32768, -1]]
    stamp = 123_456_789_012_345
    raw = bytes([0x02]) + struct.pack("<Q", stamp) + bytes([0x01]) + b"".join(struct.pack("<3h", *r) for r in rows)
    assert len(raw) == 10 + 40 * 6
    frame = decode_data_frame(raw)
    assert _head(frame) == (ACC, stamp, 1, False)
    assert frame.samples.shape == (40, 3) and frame.samples.tolist() == rows
    assert encode_acc_frame(stamp, rows) == raw


def test_compressed_acc_type0_from_the_sdk_tests_is_g_times_factor() -> None:
    raw = bytes.fromhex(SDK_ACC_COMPRESSED_TYPE0)
    assert _walk_blocks(raw[10:], channels=3, ref_width=2) == [(10, 56)]
    unscaled = decode_data_frame(raw, factor=0.001)  # x factor x 1000 = the wire integers
    assert unscaled.samples.shape == (57, 3)
    assert unscaled.samples[0].tolist() == [1905, 27376, -29282]
    assert unscaled.samples[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]
    factor = float(np.float32(2.44e-4))
    mg = decode_data_frame(raw, factor=factor).samples
    assert mg.dtype == np.float64
    assert np.allclose(mg, unscaled.samples * factor * 1000)
    assert np.abs(mg).max() <= 8 * 1000


def test_compressed_acc_type1_from_the_sdk_tests() -> None:
    raw = bytes.fromhex(SDK_ACC_COMPRESSED_TYPE1)
    frame = decode_data_frame(raw)
    assert frame.samples.dtype == np.int64
    assert frame.samples.tolist() == [[-15, 20, 1008], [-20, 17, 1008]]
    assert sample_times_ns(frame.timestamp_ns, 2, 0.0, previous_timestamp_ns=100).tolist() == [100, 101]


def test_settings_vectors_from_the_sdk_tests() -> None:
    ranges = bytes.fromhex(SDK_SETTINGS_RANGES)
    decoded = decode_settings(ranges)
    assert decoded == {0: [52], 1: [16], 2: [245, 500, 1000, 2000], 4: [3]}
    assert encode_settings(decoded) == ranges
    milli = bytes.fromhex(SDK_SETTINGS_MILLIUNIT)
    assert decode_settings(milli) == {SettingType.RANGE_MILLIUNIT: [-1, 255], SettingType.RESOLUTION: [14]}
    assert encode_settings({SettingType.RANGE_MILLIUNIT: [-1, 255], SettingType.RESOLUTION: [14]}) == milli


def test_factor_is_float32_little_endian() -> None:
    tlv = bytes([SettingType.FACTOR, 1]) + struct.pack("<f", 2.44e-4)
    (value,) = decode_settings(tlv)[SettingType.FACTOR]
    assert value == float(np.float32(2.44e-4))
    assert encode_settings({SettingType.FACTOR: [value]}) == tlv
    assert [s.value_size for s in SettingType] == [2, 2, 2, 4, 1, 4, 16]  # ble.md §4 sizes


def test_control_responses_from_the_sdk_tests() -> None:
    ok = parse_control_message(bytes.fromhex(SDK_CP_SUCCESS))
    assert ok == ControlResponse(ControlOp.GET_MEASUREMENT_SETTINGS, ACC, PmdStatus.SUCCESS, False, b"\xff\xff\xff")
    assert ok.ok and ok.error_text == ""
    failed = parse_control_message(bytes.fromhex(SDK_CP_FAILURE))
    assert isinstance(failed, ControlResponse)
    assert (failed.op, failed.measurement_type, failed.status, failed.more) == (1, 6, 7, False)
    assert not failed.ok and "INVALID_RESOLUTION" in failed.error_text
    assert control_response(1, 2, 0, b"\xff\xff\xff") == bytes.fromhex(SDK_CP_SUCCESS)
    assert control_response(1, 6, 7) == bytes.fromhex(SDK_CP_FAILURE)


# -- requests, statuses, notices ------------------------------------------------------------------
def test_requests_match_ble_md() -> None:
    assert get_settings_request(ECG) == bytes.fromhex("0100")
    assert stop_request(ECG) == bytes.fromhex("0300")
    assert start_request(ACC, {0: 200, 1: 16, 2: 8}) == bytes.fromhex("02020001C80001011000020108 00".replace(" ", ""))
    with pytest.raises(ValueError):
        start_request(ECG, {SettingType.FACTOR: 1})
    with pytest.raises(ValueError):
        start_request(ECG, {SettingType.SAMPLE_RATE: 70000})


def test_every_status_is_named_and_described() -> None:
    assert [s.name for s in PmdStatus] == STATUS_NAMES
    assert [int(s) for s in PmdStatus] == list(range(15))
    texts = set()
    for code, name in enumerate(STATUS_NAMES):
        text = describe_status(code)
        assert text.startswith(f"{name} ({code}): ") and len(text) > len(name) + 12
        texts.add(text.split(": ", 1)[1])
    assert len(texts) == 15  # each status has its own description
    for unknown in (15, 0x7F, 255):
        assert "unknown" in describe_status(unknown) and str(unknown) in describe_status(unknown)
    response = ControlResponse(2, 0, 42)
    assert not response.ok and "unknown" in response.error_text


def test_measurement_types_and_ops_match_the_sdk() -> None:
    assert {m.name: int(m) for m in MeasurementType if m <= 7} == {
        "ECG": 0, "PPG": 1, "ACC": 2, "PPI": 3, "GYRO": 5, "MAG": 6, "SKIN_TEMP": 7}
    assert [(o.name, int(o)) for o in ControlOp][:3] == [
        ("GET_MEASUREMENT_SETTINGS", 1), ("REQUEST_MEASUREMENT_START", 2), ("STOP_MEASUREMENT", 3)]


def test_measurement_stopped_notice() -> None:
    raw = measurement_stopped([ECG, ACC])
    assert raw == b"\x01\x00\x02"
    message = parse_control_message(raw)
    assert message == MeasurementStopped((0, 2))
    assert ResponseAssembler().feed(raw) == message


def test_features_of_a_richer_device() -> None:
    # byte 2 bit 1 = SDK_MODE (type 9), bit 4 = TEMPERATURE (12): polar-ble-sdk PmdMeasurementType
    raw = bytes([0x0F, 0b1110_0111, 0b0001_0010])
    assert decode_features(raw) == {0, 1, 2, 5, 6, 7, 9, 12}
    assert features_value(decode_features(raw)) == raw


# -- multi-part answers ---------------------------------------------------------------------------
def _split_answer(op: int, mtype: int, params: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *cuts, len(params)]
    parts = [params[a:b] for a, b in zip(edges, edges[1:], strict=False)]
    return [control_response(op, mtype, 0, part, more=i < len(parts) - 1) for i, part in enumerate(parts)]


def test_assembler_joins_params_of_continued_answers() -> None:
    offered = {SettingType.SAMPLE_RATE: [25, 50, 100, 200], SettingType.RESOLUTION: [16], SettingType.RANGE: [2, 4, 8]}
    params = encode_settings(offered)
    assembler = ResponseAssembler()
    indications = _split_answer(ControlOp.GET_MEASUREMENT_SETTINGS, ACC, params, [3, 9])
    assert [parse_control_message(i).more for i in indications] == [True, True, False]
    assert assembler.feed(indications[0]) is None and assembler.pending
    # a stop notice in between passes straight through and the answer stays pending
    assert assembler.feed(measurement_stopped([ECG])) == MeasurementStopped((0,))
    assert assembler.feed(indications[1]) is None
    complete = assembler.feed(indications[2])
    assert isinstance(complete, ControlResponse) and not assembler.pending
    assert complete.params == params and not complete.more and complete.ok
    assert decode_settings(complete.params) == offered
    assert assembler.feed(indications[0]) is None  # ready for the next exchange


def test_assembler_error_continuation_and_stale_answers() -> None:
    assembler = ResponseAssembler()
    first, _ = _split_answer(1, ACC, b"\x00\x01\x19\x00", [2])
    assert assembler.feed(first) is None
    error = control_response(1, ACC, PmdStatus.INVALID_STATE)
    assert assembler.feed(error) == ControlResponse(1, ACC, 12) and not assembler.pending
    # an answer to another op while one is pending: the stale one is dropped and counted
    assert assembler.feed(first) is None
    stop_answer = control_response(ControlOp.STOP_MEASUREMENT, ACC)
    assert assembler.feed(stop_answer) == ControlResponse(3, ACC, 0)
    assert assembler.discarded == 1 and not assembler.pending
    # an error status never announces more
    assert parse_control_message(bytes([0xF0, 2, 0, 5, 1, 9])).more is False


@pytest.mark.parametrize("raw", ["", "F0", "F00100", "0F0500", "02000001", "FF"])
def test_malformed_control_messages(raw: str) -> None:
    with pytest.raises(PmdFormatError):
        parse_control_message(bytes.fromhex(raw))
    with pytest.raises(PmdFormatError):
        ResponseAssembler().feed(bytes.fromhex(raw))


@pytest.mark.parametrize("raw", ["", "0F", "F00500", "00"])
def test_malformed_features(raw: str) -> None:
    with pytest.raises(PmdFormatError):
        decode_features(bytes.fromhex(raw))


@pytest.mark.parametrize("raw", ["00", "000182", "0701FF", "0502000080", "06011122"])
def test_malformed_settings(raw: str) -> None:
    with pytest.raises(PmdFormatError):
        decode_settings(bytes.fromhex(raw))


# -- malformed frames -----------------------------------------------------------------------------
_ECG_HEAD = "00" + SDK_HEADER_TS_2E9
_ACC_HEAD = "02" + SDK_HEADER_TS_2E9


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("", id="empty"),
        pytest.param(_ECG_HEAD, id="short-header"),
        pytest.param(_ECG_HEAD + "00", id="no-samples"),
        pytest.param(_ECG_HEAD + "00" + "0280ff02", id="ecg-not-a-multiple-of-3"),
        pytest.param(_ACC_HEAD + "01" + "F7FFFFFFE7", id="acc-partial-sample"),
        pytest.param("04" + SDK_HEADER_TS_2E9 + "00" + "000000", id="unknown-measurement-4"),
        pytest.param("3F" + SDK_HEADER_TS_2E9 + "00" + "000000", id="unknown-measurement-63"),
        pytest.param(_ECG_HEAD + "01" + "028000", id="ecg-raw-type-1"),
        pytest.param(_ACC_HEAD + "03" + "000000", id="acc-raw-type-3"),
        pytest.param(_ACC_HEAD + "82" + "000000000000", id="acc-compressed-type-2"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F0", id="truncated-reference"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "06", id="truncated-block-header"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "06017B0F", id="truncated-deltas"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "0600", id="zero-count"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "0001", id="zero-bits"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "2101" + "00" * 13, id="33-bit-deltas"),
        pytest.param(_ACC_HEAD + "81" + "F1FF1400F003" + "06017B0F08" + "06", id="trailing-byte"),
    ],
)
def test_malformed_frames_raise_format_error(raw: str) -> None:
    with pytest.raises(PmdFormatError):
        decode_data_frame(bytes.fromhex(raw))


def test_caller_errors_are_value_errors_not_format_errors() -> None:
    raw = bytes.fromhex(SDK_ACC_COMPRESSED_TYPE1)
    for kwargs in ({"resolution_bits": 0}, {"resolution_bits": 33}, {"factor": float("nan")}):
        with pytest.raises(ValueError) as caught:
            decode_data_frame(raw, **kwargs)  # type: ignore[arg-type]
        assert not isinstance(caught.value, PmdFormatError)
    with pytest.raises(TypeError):
        decode_data_frame("0000")  # type: ignore[arg-type]


def test_encoders_refuse_what_the_wire_cannot_carry() -> None:
    with pytest.raises(ValueError):
        encode_ecg_frame(0, [2**23])  # beyond 3-byte signed
    with pytest.raises(ValueError):
        encode_ecg_frame(0, [])
    with pytest.raises(ValueError):
        encode_ecg_frame(0, [1.5])
    with pytest.raises(ValueError):
        encode_acc_frame(0, [[128, 0, 0]], frame_type=0)
    with pytest.raises(ValueError):
        encode_acc_frame(0, [[1, 2]], frame_type=1)
    with pytest.raises(ValueError):
        encode_ecg_frame(2**64, [0])
    with pytest.raises(ValueError):  # reference beyond 2 bytes
        encode_compressed_frame(ACC, 0, [[40000, 0, 0]], 16, frame_type=1)
    with pytest.raises(ValueError):  # a 33-bit delta
        encode_compressed_frame(ECG, 0, [0, 2**32], 24)
    with pytest.raises(ValueError):
        encode_compressed_frame(MeasurementType.GYRO, 0, [[0, 0, 0]], 16)


# -- round trips ----------------------------------------------------------------------------------
TIMESTAMPS = st.integers(0, 2**64 - 1)


def _signed(width: int) -> st.SearchStrategy[int]:
    return st.integers(-(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1)


@given(TIMESTAMPS, st.lists(_signed(3), min_size=1, max_size=200))
def test_ecg_round_trip(timestamp: int, samples: list[int]) -> None:
    raw = encode_ecg_frame(timestamp, samples)
    assert len(raw) == 10 + 3 * len(samples)
    frame = decode_data_frame(raw)
    assert _head(frame) == (ECG, timestamp, 0, False)
    assert frame.samples.shape == (len(samples),) and frame.samples.tolist() == samples


def _acc_rows(frame_type: int) -> st.SearchStrategy[tuple[int, list[list[int]]]]:
    rows = st.lists(st.lists(_signed(frame_type + 1), min_size=3, max_size=3), min_size=1, max_size=80)
    return st.tuples(st.just(frame_type), rows)


@given(TIMESTAMPS, st.sampled_from([0, 1, 2]).flatmap(_acc_rows))
def test_acc_raw_round_trip(timestamp: int, case: tuple[int, list[list[int]]]) -> None:
    frame_type, samples = case
    raw = encode_acc_frame(timestamp, samples, frame_type=frame_type)
    assert len(raw) == 10 + 3 * (frame_type + 1) * len(samples)
    frame = decode_data_frame(raw)
    assert _head(frame) == (ACC, timestamp, frame_type, False)
    assert frame.samples.tolist() == samples


@st.composite
def _compressed_cases(draw: st.DrawFn) -> tuple[int, int, int, np.ndarray, int]:
    mtype, frame_type, channels = draw(st.sampled_from([(ECG, 0, 1), (ACC, 1, 3), (PPG, 0, 4), (ACC, 0, 3)]))
    resolution = draw(st.integers(1, 32))
    ref_bits = 8 * ((resolution + 7) // 8)
    half = 1 << (ref_bits - 1)
    reference = draw(st.lists(st.integers(-half, half - 1), min_size=channels, max_size=channels))
    n_deltas = draw(st.integers(0, 600))
    widths = draw(st.lists(st.integers(1, 32), min_size=1, max_size=4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bits = np.array(widths)[rng.integers(0, len(widths), n_deltas)]  # a width per sample
    low, high = -(1 << (bits - 1)), (1 << (bits - 1))
    deltas = (rng.random((n_deltas, channels)) * (high - low)[:, None] + low[:, None]).astype(np.int64)
    deltas = np.clip(deltas, -(1 << 31), (1 << 31) - 1)
    samples = np.concatenate([np.array([reference], dtype=np.int64), np.array(reference) + np.cumsum(deltas, axis=0)])
    block = draw(st.integers(1, 255))
    return mtype, frame_type, resolution, samples, block


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(TIMESTAMPS, _compressed_cases())
def test_compressed_round_trip_with_minimal_widths(timestamp: int, case: tuple[int, int, int, np.ndarray, int]) -> None:
    mtype, frame_type, resolution, samples, block = case
    channels = samples.shape[1]
    raw = encode_compressed_frame(mtype, timestamp, samples, resolution, frame_type, block_samples=block)
    assert raw[9] == 0x80 | frame_type
    factor = 0.001 if (mtype, frame_type) == (ACC, 0) else 1.0  # ACC type 0 carries g: x factor x 1000
    frame = decode_data_frame(raw, resolution_bits=resolution, factor=factor)
    assert frame.compressed and frame.timestamp_ns == timestamp and frame.measurement_type == mtype
    expected = samples.reshape(-1) if channels == 1 else samples
    assert frame.samples.shape == expected.shape
    assert np.array_equal(frame.samples, expected)
    # each block: at most `block` samples, declaring exactly the fewest bits its deltas need
    blocks = _walk_blocks(raw[10:], channels, (resolution + 7) // 8)
    deltas = np.diff(samples, axis=0).tolist()
    start = 0
    for bits, count in blocks:
        assert 1 <= count <= block
        chunk = [d for row in deltas[start : start + count] for d in row]
        assert bits == _min_bits(chunk)
        start += count
    assert start == len(deltas)


def test_compressed_ecg_default_reference_is_three_bytes() -> None:
    raw = encode_compressed_frame(ECG, 5, [-32766, 32770, 32771], 24)
    assert raw[10:13] == (-32766).to_bytes(3, "little", signed=True)
    assert raw[13:15] == bytes([18, 2])  # one block of 2: the delta 65536 needs 18 bits
    assert decode_data_frame(raw).samples.tolist() == [-32766, 32770, 32771]
    # with the stream's resolution 14 the reference is ceil(14 / 8) = 2 bytes
    two = encode_compressed_frame(ECG, 5, [-300, -290], 14)
    assert len(two) == 10 + 2 + 2 + 1 and decode_data_frame(two, resolution_bits=14).samples.tolist() == [-300, -290]


# -- sizing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mtu", "ecg", "acc"),
    [(23, 3, 1), (185, 57, 28), (232, 73, 36), (517, 167, 83)],  # 517: the 512-byte attribute cap
)
def test_samples_per_frame_at_common_mtus(mtu: int, ecg: int, acc: int) -> None:
    payload = min(mtu - 3, 512)  # ATT notification value, capped by the longest attribute value
    assert max_samples_per_frame(mtu, 3) == ecg == (payload - 10) // 3
    assert max_samples_per_frame(mtu, 6) == acc
    assert len(encode_ecg_frame(0, [0] * ecg)) <= payload < len(encode_ecg_frame(0, [0] * (ecg + 1)))
    assert len(encode_acc_frame(0, [[0, 0, 0]] * acc)) <= payload < len(encode_acc_frame(0, [[0, 0, 0]] * (acc + 1)))


def test_sizing_refuses_impossible_mtus() -> None:
    with pytest.raises(ValueError):
        max_samples_per_frame(22, 3)
    with pytest.raises(ValueError):
        max_samples_per_frame(232, 0)


@settings(max_examples=60)
@given(st.integers(23, 600), st.sampled_from([1, 3, 4]), st.sampled_from([8, 16, 22, 24]), st.integers(1, 32))
def test_compressed_worst_case_fits_exactly(mtu: int, channels: int, resolution: int, delta_bits: int) -> None:
    n = max_compressed_samples_per_frame(mtu, channels, resolution, delta_bits)
    payload = min(mtu - 3, 512)
    mtype = {1: ECG, 3: ACC, 4: PPG}[channels]
    frame_type = 1 if mtype == ACC else 0

    def worst(count: int) -> bytes:  # every delta is -2**(b-1): exactly delta_bits wide
        steps = np.full((count, channels), -(1 << (delta_bits - 1)), dtype=np.int64)
        steps[0] = 0
        return encode_compressed_frame(mtype, 0, np.cumsum(steps, axis=0), resolution, frame_type)

    if n:
        assert len(worst(n)) <= payload
    assert len(worst(n + 1)) > payload


# -- time -----------------------------------------------------------------------------------------
def test_sample_times_follow_the_sdk_tests() -> None:
    # model/PmdTimeStampUtilsTest.kt
    by_rate = sample_times_ns(10_000_000_000, 10, 1.0)
    assert by_rate.dtype == np.int64 and by_rate.tolist() == [k * 1_000_000_000 for k in range(1, 11)]
    by_prev = sample_times_ns(11_000_000_000, 10, 1.0, previous_timestamp_ns=1_000_000_000)
    assert by_prev.tolist() == [k * 1_000_000_000 for k in range(2, 12)]
    uneven = sample_times_ns(2_000_000_000, 3, 1.0, previous_timestamp_ns=100)
    assert uneven.tolist() == [round(666666733.33), round(1333333366.66), 2_000_000_000]
    assert sample_times_ns(1_000_000_000, 1, 1.0).tolist() == [1_000_000_000]


def test_sample_times_of_an_h10_ecg_frame() -> None:
    # 73 samples at 130 Hz counted back from the stamp; the stamp is the last sample's
    ts = 799_443_547_265_317_677
    times = sample_times_ns(ts, 73, 130.0)
    assert times[-1] == ts
    assert np.all(np.abs(np.diff(times) - 1e9 / 130) <= 1)
    assert abs(int(times[0]) - (ts - round(72 * 1e9 / 130))) <= 1
    with pytest.raises(ValueError):
        sample_times_ns(ts, 73, 130.0, previous_timestamp_ns=ts)
    with pytest.raises(ValueError):
        sample_times_ns(ts, 0, 130.0)
    with pytest.raises(ValueError):
        sample_times_ns(ts, 5, 0.0)


def test_device_epoch_is_2000_01_01_utc() -> None:
    assert PMD_EPOCH_UNIX_S == datetime(2000, 1, 1, tzinfo=UTC).timestamp()
    assert device_time_to_unix_s(0) == PMD_EPOCH_UNIX_S
    assert device_time_to_unix_s(1_500_000_000) == PMD_EPOCH_UNIX_S + 1.5


# -- fuzz: random and mutated bytes either decode or raise PmdFormatError ----------------------------
_VALID_FRAMES = [
    bytes.fromhex(h) for h in (SDK_ECG_TYPE0, SDK_ACC_TYPE1, SDK_ACC_COMPRESSED_TYPE0, SDK_ACC_COMPRESSED_TYPE1)
]
if _DATA is not None:
    _VALID_FRAMES += [bytes.fromhex(v["hex"]) for v in _DATA["vectors"] if v["kind"] == "pmd_data_frame"]
_RESOLUTIONS = st.sampled_from([None, 1, 8, 14, 16, 22, 24, 32])
_HEADERS = st.tuples(st.sampled_from([0, 1, 2, 3, 5, 0x40, 0xC2]), st.binary(min_size=8, max_size=8),
                     st.sampled_from([0, 1, 2, 3, 0x80, 0x81, 0x82, 0xFF]))


def _check_decoded(frame: PmdDataFrame, raw: bytes) -> None:
    assert frame.measurement_type == raw[0] & 0x3F
    assert frame.timestamp_ns == int.from_bytes(raw[1:9], "little")
    channels = {ECG: 1, ACC: 3, PPG: 4}[MeasurementType(frame.measurement_type)]
    assert frame.samples.dtype in (np.int64, np.float64) and len(frame.samples) >= 1
    assert frame.samples.shape[1:] == (() if channels == 1 else (channels,))


def _decode_or_format_error(raw: bytes, resolution: int | None) -> None:
    try:
        frame = decode_data_frame(raw, resolution_bits=resolution)
    except PmdFormatError:
        return
    _check_decoded(frame, raw)


@settings(max_examples=1500)
@given(_HEADERS, st.binary(max_size=300), _RESOLUTIONS)
def test_fuzz_random_frames(header: tuple[int, bytes, int], body: bytes, resolution: int | None) -> None:
    mtype, stamp, frame_type = header
    _decode_or_format_error(bytes([mtype]) + stamp + bytes([frame_type]) + body, resolution)
    _decode_or_format_error(body, resolution)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(_VALID_FRAMES)))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["truncate", "flip", "extend", "set"]))
        if action == "truncate":
            del raw[draw(st.integers(0, len(raw))):]
        elif action == "extend":
            raw += draw(st.binary(min_size=1, max_size=40))
        elif raw and action == "flip":
            raw[draw(st.integers(0, len(raw) - 1))] ^= 1 << draw(st.integers(0, 7))
        elif raw:
            raw[draw(st.integers(0, min(len(raw) - 1, 16)))] = draw(st.integers(0, 255))
    return bytes(raw)


@settings(max_examples=1500)
@given(_mutated(), _RESOLUTIONS)
def test_fuzz_mutated_frames(raw: bytes, resolution: int | None) -> None:
    _decode_or_format_error(raw, resolution)


@settings(max_examples=600)
@given(st.one_of(st.binary(max_size=40), st.binary(max_size=40).map(lambda b: b"\xf0" + b),
                 st.binary(max_size=40).map(lambda b: b"\x0f" + b)))
def test_fuzz_control_point_bytes(raw: bytes) -> None:
    for decoder in (parse_control_message, decode_settings, decode_features, ResponseAssembler().feed):
        try:
            decoder(raw)
        except PmdFormatError:
            pass
