"""A PNG of the sample histogram and each estimator's min-entropy (Pillow, no GUI needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def plot_assessment(data: bytes, result, path: Path, width: int = 900) -> None:
    counts = np.bincount(np.frombuffer(data, dtype=np.uint8), minlength=1 << result.bits)
    height = 620
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    margin = 40
    draw.text((margin, 10), f"Sample histogram ({result.samples} samples)", fill="black")
    top, bottom = 30, 280
    peak = max(1, int(counts.max()))
    bar = (width - 2 * margin) / counts.size
    for i, c in enumerate(counts):
        x0 = margin + i * bar
        y0 = bottom - (bottom - top) * c / peak
        draw.rectangle([x0, y0, x0 + max(1.0, bar - 1), bottom], fill=(60, 110, 180))
    draw.line([margin, bottom, width - margin, bottom], fill="black")
    title = f"Min-entropy per sample (assessed {result.min_entropy:.4f} of {result.bits} bits)"
    draw.text((margin, 300), title, fill="black")
    rows = [e for e in result.estimates if e.min_entropy is not None]
    row_h = max(10, min(24, (height - 330) // max(1, len(rows))))
    scale = (width - 2 * margin - 260) / result.bits
    for i, e in enumerate(rows):
        y = 325 + i * row_h
        per_sample = e.min_entropy * (result.bits if e.label == "Bitstring" else 1)
        draw.text((margin, y), f"{e.label[:3]} {e.name}"[:34], fill="black")
        x0 = margin + 250
        color = (200, 80, 60) if abs(per_sample - result.min_entropy) < 1e-12 else (90, 160, 90)
        draw.rectangle([x0, y + 2, x0 + per_sample * scale, y + row_h - 3], fill=color)
        draw.text((x0 + per_sample * scale + 4, y), f"{per_sample:.4f}", fill="black")
    img.save(path, format="PNG")
