# The 128x64 monochrome screen: a framebuf in MONO_VLSB (the SSD1306's own memory layout, so boards
# send the buffer as is). Layout: row 0 is an inverted title bar, rows 1..6 hold six lines of 21
# characters, row 7 is a hint bar ("cancel  1/3  next"). The text last drawn is kept, so the debug
# link can read the screen back as text as well as pixels.
import framebuf

from ui import font

WIDTH = 128
HEIGHT = 64
COLUMNS = 21
LINES = 6


class Screen:
    def __init__(self, display=None):
        self.buf = bytearray(WIDTH * HEIGHT // 8)
        self.fb = framebuf.FrameBuffer(self.buf, WIDTH, HEIGHT, framebuf.MONO_VLSB)
        self.display = display  # board driver with show(buf), or None (emulator)
        self.title = ""
        self.lines = []
        self.footer = ""
        self.seq = 0  # counts draws, so the debug link can tell a new dialog from an identical one

    def text(self, s, col, row, invert=False):
        # Draws straight into the VLSB bytes: one byte per column per 8-pixel row.
        glyphs = font.GLYPHS
        buf = self.buf
        x = col * font.PITCH
        base = row * WIDTH
        for ch in s:
            if x + font.WIDTH > WIDTH:
                break
            g = font.glyph_offset(ch)
            for i in range(font.WIDTH):
                b = glyphs[g + i]
                buf[base + x + i] = (b ^ 0xFF) if invert else b
            if invert and x + font.WIDTH < WIDTH:
                buf[base + x + font.WIDTH] = 0xFF
            x += font.PITCH

    def draw(self, title, lines, footer=""):
        self.seq += 1
        self.title = title
        self.lines = [fit(line) for line in lines[:LINES]]
        self.footer = footer
        self.fb.fill(0)
        self.fb.fill_rect(0, 0, WIDTH, 8, 1)
        self.text(fit(title), max(0, (COLUMNS - len(title)) // 2), 0, invert=True)
        for i, line in enumerate(self.lines):
            self.text(line, 0, 1 + i)
        if footer:
            self.text(fit(footer), 0, 7)
        self.show()

    def set_footer(self, footer):
        # Redraws only the hint bar (a dialog's countdown): the same dialog, so the same seq.
        self.footer = footer
        self.fb.fill_rect(0, 56, WIDTH, 8, 0)
        self.text(fit(footer), 0, 7)
        self.show()

    def progress(self, title, label, fraction):
        self.draw(title, [label])
        fraction = 0 if fraction < 0 else (1 if fraction > 1 else fraction)
        self.fb.rect(4, 40, WIDTH - 8, 10, 1)
        self.fb.fill_rect(6, 42, int((WIDTH - 12) * fraction), 6, 1)
        self.footer = "%d%%" % int(fraction * 100)
        self.text(self.footer, (COLUMNS - len(self.footer)) // 2, 7)
        self.show()

    def show(self):
        if self.display is not None:
            self.display.show(self.buf)


def fit(s):
    return s if len(s) <= COLUMNS else s[:COLUMNS]
