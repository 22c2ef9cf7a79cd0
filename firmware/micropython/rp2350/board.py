# Raspberry Pi Pico 2 (RP2350) with an SSD1306 128x64 I2C OLED and two buttons.
# Pins: README.md in this folder.
from machine import I2C, Pin

from usbboard import UsbBoard, cancel_held

I2C_ID = 0
SDA = 4
SCL = 5
CONFIRM = 14
CANCEL = 15


def maintenance_requested():
    return cancel_held(CANCEL)


class Board(UsbBoard):
    def __init__(self):
        i2c = I2C(I2C_ID, sda=Pin(SDA), scl=Pin(SCL), freq=400000)
        super().__init__(i2c, CONFIRM, CANCEL)
