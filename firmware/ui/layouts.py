# Screens that wait for the user. Every wait goes through dev.wait_button(), which keeps the wire
# and the debug link served. Paging: confirm = next page (accept on the last one), cancel = reject.
from ui.screen import COLUMNS, LINES
from ui.text import wrap

WORDS_PER_PAGE = 4


def footer(left, middle, right):
    gap = COLUMNS - len(left) - len(right)
    mid = middle[:max(0, gap - 2)]
    pad = gap - len(mid)
    return left + " " * (pad // 2) + mid + " " * (pad - pad // 2) + right


def show_pages(dev, pages, accept="ok"):
    """pages: list of (title, lines). Returns True if the user went through all and confirmed."""
    n = len(pages)
    i = 0
    while i < n:
        title, lines = pages[i]
        right = accept if i == n - 1 else "next"
        page = "%d/%d" % (i + 1, n) if n > 1 else ""
        dev.screen.draw(title, lines, footer("cancel", page, right))

        def countdown(left, page=page, right=right):
            middle = ("%s %ds" % (page, left)) if page else ("%ds" % left)
            if len(middle) > COLUMNS - len("cancel") - len(right) - 2:
                middle = "%ds" % left  # many pages: the time matters more than the page number
            dev.screen.set_footer(footer("cancel", middle, right))

        if dev.wait_button(countdown) != "confirm":
            return False
        i += 1
    return True


def confirm(dev, title, lines, accept="ok"):
    return show_pages(dev, [(title, lines)], accept)


def split_text(text, width=COLUMNS):
    return wrap(text, width)


def text_pages(title, lines):
    pages = []
    for i in range(0, max(1, len(lines)), LINES):
        pages.append((title, lines[i:i + LINES]))
    return pages


def word_pages(words):
    pages = []
    n = len(words)
    for i in range(0, n, WORDS_PER_PAGE):
        lines = []
        for j in range(i, min(n, i + WORDS_PER_PAGE)):
            lines.append("%2d. %s" % (j + 1, words[j]))
        pages.append(("Words %d-%d of %d" % (i + 1, min(n, i + WORDS_PER_PAGE), n), lines))
    return pages


def progress(dev, title, label, fraction):
    dev.screen.progress(title, label, fraction)


def home(dev, lines):
    dev.screen.draw("QOS", lines, "")
