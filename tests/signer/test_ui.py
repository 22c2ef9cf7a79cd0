"""The screen and its layouts (firmware/ui/) under MicroPython: the 6x8 font, the 128x64
MONO_VLSB framebuffer the debug link hands out, text fitting and paging with two buttons."""

from __future__ import annotations

import json

from host.devtools import micropython
from host.devtools.emulator import pixels, render_text

from .conftest import UNIX_BOARD

SCRIPT = r"""
import json
from binascii import hexlify
from ui import font, layouts
from ui.screen import Screen, COLUMNS, LINES

import font_build

out = {}
g = font.GLYPHS
out["shipped_is_built"] = font_build.build() == g
out["glyph_bytes"] = len(g)
inked = [c for c in range(33, 127) if any(g[(c - 32) * 5:(c - 32) * 5 + 5])]
out["inked"] = len(inked)
out["distinct"] = len(set(bytes(g[i:i + 5]) for i in range(0, len(g), 5)))
s = Screen()
s.draw("Title", ["first line", "x" * 30], "cancel  ok")
out["lines"] = s.lines
out["fb"] = hexlify(bytes(s.buf)).decode()
out["footer"] = layouts.footer("cancel", "2/3", "next")
text = "the quick brown fox jumps over the lazy dog " * 3 + "abcdefghijklmnopqrstuvwxyz0123456789"
wrapped = layouts.split_text(text)
out["wrap_max"] = max(len(l) for l in wrapped)
cut = ["abcdefghijklmnopqrstu", "vwxyz0123456789"]  # a word longer than a line is cut hard
out["wrap_words"] = " ".join(wrapped).split() == text.split()[:-1] + cut
out["word_pages"] = [len(layouts.word_pages(["w%d" % i for i in range(n)])) for n in (12, 18, 24)]
out["text_pages"] = len(layouts.text_pages("T", ["l"] * 13))

class Dev:
    def __init__(self, buttons):
        self.screen = Screen()
        self.buttons = list(buttons)
        self.seen = []
    def wait_button(self, countdown=None):
        drawn = self.screen.footer
        seq = self.screen.seq
        countdown(120)
        countdown(9)
        # the countdown redraws the hint bar only: the same dialog, the same seq
        self.seen.append((self.screen.title, drawn, self.screen.footer, self.screen.seq == seq))
        return self.buttons.pop(0)

pages = [("P1", ["a"]), ("P2", ["b"]), ("P3", ["c"])]
d = Dev(["confirm"] * 3)
out["all_confirmed"] = [layouts.show_pages(d, pages, "sign"), d.seen]
d = Dev(["confirm", "cancel"])
out["cancel_second"] = [layouts.show_pages(d, pages, "sign"), len(d.seen)]
s.progress("Unlock", "Deriving", 0.5)
out["progress_footer"] = s.footer
print(json.dumps(out))
"""


def test_font_screen_and_layouts():
    out = micropython.run(SCRIPT, extra_path=[UNIX_BOARD, micropython.TOOLS_DIR], timeout=120)
    r = json.loads(out.strip().splitlines()[-1])
    assert r["shipped_is_built"]  # ui/_glyphs.py is what firmware/tools/font_build.py makes
    assert r["glyph_bytes"] == 95 * 5
    assert r["inked"] == 94  # every printable character but space leaves ink
    assert r["distinct"] >= 90  # narrowing to 5 columns keeps characters apart
    assert r["lines"] == ["first line", "x" * 21]
    fb = bytes.fromhex(r["fb"])
    assert len(fb) == 1024
    rows = pixels(fb)
    assert sum(rows[0]) > 100  # the inverted title bar
    assert any(rows[9]) and not any(rows[8 + 7 * 8 - 1][:1])  # line text in row 1
    assert len(render_text(fb).splitlines()) == 32
    assert r["footer"] == "cancel    2/3    next" and len(r["footer"]) == 21
    assert r["wrap_max"] <= 21 and r["wrap_words"]
    assert r["word_pages"] == [3, 5, 6]
    assert r["text_pages"] == 3
    ok, seen = r["all_confirmed"]
    assert ok is True
    assert seen == [
        ["P1", "cancel    1/3    next", "cancel  1/3 9s   next", True],
        ["P2", "cancel    2/3    next", "cancel  2/3 9s   next", True],
        ["P3", "cancel    3/3    sign", "cancel  3/3 9s   sign", True],
    ]
    assert r["cancel_second"] == [False, 2]
    assert r["progress_footer"] == "50%"
