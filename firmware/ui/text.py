# Word wrap for the 21-column screen, kept free of framebuf so the tx codec can lay out its pages
# with the same rule the screen uses.


def wrap(text, width):
    """Lines of at most width characters; paragraphs split on newlines, longer words cut hard."""
    out = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            while len(word) > width:
                if line:
                    out.append(line)
                    line = ""
                out.append(word[:width])
                word = word[width:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        out.append(line)
    return out
