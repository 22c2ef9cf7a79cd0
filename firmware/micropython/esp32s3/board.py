# ESP32-S3 (e.g. ESP32-S3-DevKitC-1) with an SSD1306 128x64 I2C OLED and two buttons.
# Pins and flash layout: README.md in this folder.
from machine import I2C, Pin

from usbboard import UsbBoard, cancel_held

SDA = 8
SCL = 9
CONFIRM = 4
CANCEL = 5
SECRET_PARTITION = "qos_secret"  # partitions-qos.csv in this folder


def maintenance_requested():
    return cancel_held(CANCEL)


class Board(UsbBoard):
    def __init__(self):
        i2c = I2C(0, sda=Pin(SDA), scl=Pin(SCL), freq=400000)
        super().__init__(i2c, CONFIRM, CANCEL)

    def secret_region(self):
        # A raw data partition outside the filesystem; None on a partition table without it
        # (the vault then refuses to keep a wallet).
        import esp32

        found = esp32.Partition.find(esp32.Partition.TYPE_DATA, label=SECRET_PARTITION)
        return found[0] if found else None
