# Raspberry Pi Pico 2 (RP2350) with an SSD1306 128x64 I2C OLED and two buttons; the Pico
# (RP2040) takes this glue as it is (same pins). Pins and flash layout: README.md in this folder.
import os
from machine import I2C, Pin

from flashlayout import SECRET_BLOCKS, slot_flash

from usbboard import UsbBoard, cancel_held

I2C_ID = 0
SDA = 4
SCL = 5
CONFIRM = 14
CANCEL = 15
DEBUG_UART = 0
DEBUG_TX = 0
DEBUG_RX = 1
DEBUG_BAUD = 115200


def maintenance_requested():
    return cancel_held(CANCEL)


def secret_range(flash):
    """(start, length) of the secret region inside the storage area rp2.Flash() covers."""
    block = flash.ioctl(5, 0)
    return (flash.ioctl(4, 0) - SECRET_BLOCKS) * block, SECRET_BLOCKS * block


class Board(UsbBoard):
    def __init__(self):
        i2c = I2C(I2C_ID, sda=Pin(SDA), scl=Pin(SCL), freq=400000)
        super().__init__(i2c, CONFIRM, CANCEL)
        # The update slots (fwupdate): in our own image only; None on a stock MicroPython.
        self.flash = slot_flash()

    def reset(self):
        # After update_finish has replied: the chip restarts, and _boot.py's boot step starts the
        # release just installed.
        import machine

        machine.reset()

    def debug_uart(self):
        # Debug builds: the debug link on UART0 (GP0 TX, GP1 RX; README.md in this folder).
        from machine import UART

        return UART(DEBUG_UART, DEBUG_BAUD, tx=Pin(DEBUG_TX), rx=Pin(DEBUG_RX), rxbuf=2048)

    def secret_region(self):
        # Only on an image whose filesystem stops short of the region (this folder's _boot.py
        # mounts it so); the stock image formats the whole storage area as LittleFS: None then,
        # and the vault refuses to keep a wallet.
        import rp2

        start, length = secret_range(rp2.Flash())
        fs = os.statvfs("/")
        if fs[1] * fs[2] > start:
            return None
        return rp2.Flash(start=start, len=length)
