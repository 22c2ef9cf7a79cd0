# SSD1306 128x64 OLED over I2C, written from the controller's datasheet command table. The screen
# buffer of firmware/ui/screen.py is already in the controller's page layout (MONO_VLSB: one byte
# = 8 vertical pixels), so show() sends it as is.
ADDRESS = 0x3C

INIT = (
    0xAE,  # display off while configuring
    0x20, 0x00,  # horizontal addressing: the buffer streams in page after page
    0x40,  # display start line 0
    0xA1,  # segment remap: column 127 is SEG0 (panel mounted the usual way round)
    0xA8, 0x3F,  # multiplex ratio 64
    0xC8,  # COM scan from COM63 down
    0xD3, 0x00,  # no vertical offset
    0xDA, 0x12,  # COM pins: alternative configuration, for 64-row panels
    0xD5, 0x80,  # clock divide ratio / oscillator frequency: reset value
    0xD9, 0xF1,  # pre-charge periods for the internal charge pump
    0xDB, 0x30,  # VCOMH deselect level
    0x81, 0xCF,  # contrast
    0xA4,  # show the RAM contents
    0xA6,  # not inverted
    0x8D, 0x14,  # charge pump on (3.3 V modules have no external VCC)
    0xAF,  # display on
)


class SSD1306:
    def __init__(self, i2c, address=ADDRESS):
        self.i2c = i2c
        self.address = address
        self.cmd_buf = bytearray(2)
        for c in INIT:
            self.command(c)

    def command(self, c):
        self.cmd_buf[0] = 0x80  # control byte: one command follows
        self.cmd_buf[1] = c
        self.i2c.writeto(self.address, self.cmd_buf)

    def show(self, buf):
        for c in (0x21, 0, 127, 0x22, 0, 7):  # whole column and page range
            self.command(c)
        self.i2c.writevto(self.address, (b"\x40", buf))  # 0x40: data bytes follow

    def power(self, on):
        self.command(0xAF if on else 0xAE)
