"""Full 128-bit GATT UUIDs of the services and characteristics the app uses.

bleak compares scan filters with advertised UUIDs as full lower-case 128-bit strings, so
a 16-bit short form such as "180d" matches nothing: always use these constants.
"""

from typing import Final


def sig_uuid(short: int) -> str:
    """The 128-bit form of a 16-bit Bluetooth SIG UUID (Bluetooth base UUID)."""
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HEART_RATE_SERVICE: Final = sig_uuid(0x180D)
HEART_RATE_MEASUREMENT: Final = sig_uuid(0x2A37)  # notify
BODY_SENSOR_LOCATION: Final = sig_uuid(0x2A38)  # read
HEART_RATE_CONTROL_POINT: Final = sig_uuid(0x2A39)  # write (reset energy expended)

BATTERY_SERVICE: Final = sig_uuid(0x180F)
BATTERY_LEVEL: Final = sig_uuid(0x2A19)  # read, optional notify

DEVICE_INFORMATION_SERVICE: Final = sig_uuid(0x180A)
MANUFACTURER_NAME: Final = sig_uuid(0x2A29)
MODEL_NUMBER: Final = sig_uuid(0x2A24)
FIRMWARE_REVISION: Final = sig_uuid(0x2A26)

# Polar Measurement Data (raw ECG / ACC on the H10); used from the PMD issue on.
POLAR_PMD_SERVICE: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
POLAR_PMD_CONTROL_POINT: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
POLAR_PMD_DATA: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
