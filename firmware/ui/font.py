# A 5x7 font on a 6-pixel pitch, so a 128-pixel line holds 21 characters (the text layout
# codec.tx.describe() writes for). Built once from framebuf's own 8x8 font (ASCII 32..126): each
# glyph is cut to its inked columns and narrowed to 5 columns by dropping repeated columns first,
# then merging the most similar neighbours. Columns are MONO_VLSB bytes (bit 0 = top row).
import framebuf

FIRST = 32
LAST = 126
WIDTH = 5
PITCH = 6

_glyphs = None


def _popcount(x):
    n = 0
    while x:
        x &= x - 1
        n += 1
    return n


def _narrow(cols):
    while len(cols) > WIDTH:
        best = -1
        best_cost = 99
        mid = len(cols) // 2
        for i in range(len(cols) - 1):
            cost = _popcount(cols[i] ^ cols[i + 1]) * 4 + abs(i - mid)
            if cost < best_cost:
                best_cost = cost
                best = i
        cols[best] = cols[best] | cols[best + 1]
        del cols[best + 1]
    return cols


def _build():
    out = bytearray((LAST - FIRST + 1) * WIDTH)
    cell = bytearray(8)
    fb = framebuf.FrameBuffer(cell, 8, 8, framebuf.MONO_VLSB)
    for code in range(FIRST, LAST + 1):
        fb.fill(0)
        fb.text(chr(code), 0, 0, 1)
        inked = [i for i in range(8) if cell[i]]
        if inked:
            lo = min(inked[0], 1)
            hi = max(inked[-1], 5)
            cols = _narrow([cell[i] for i in range(lo, hi + 1)])
            if len(cols) < WIDTH:
                cols = cols + [0] * (WIDTH - len(cols))
            base = (code - FIRST) * WIDTH
            for i in range(WIDTH):
                out[base + i] = cols[i]
    return bytes(out)


def glyphs():
    global _glyphs
    if _glyphs is None:
        _glyphs = _build()
    return _glyphs


def glyph_offset(ch):
    code = ord(ch)
    if code < FIRST or code > LAST:
        code = ord("?")
    return (code - FIRST) * WIDTH
