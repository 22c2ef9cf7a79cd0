# A 5x7 font on a 6-pixel pitch, so a 128-pixel line holds 21 characters (the text layout
# codec.tx.describe() writes for), ASCII 32..126. The glyphs are a constant (ui/_glyphs.py, made
# from framebuf's own 8x8 font by firmware/tools/font_build.py): in flash on a board, not heap.
from ui._glyphs import GLYPHS  # noqa: F401  (the screen draws from it)

FIRST = 32
LAST = 126
WIDTH = 5
PITCH = 6


def glyph_offset(ch):
    code = ord(ch)
    if code < FIRST or code > LAST:
        code = ord("?")
    return (code - FIRST) * WIDTH
