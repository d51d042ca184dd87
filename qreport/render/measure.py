"""Measures for laying out a chart before Matplotlib draws it: text widths in
DejaVu Sans (the face every chart is set in), labels shortened in the middle,
1-2-5 tick values and their SI labels."""

from __future__ import annotations

import math
import os
from functools import lru_cache

from .text import MINUS, si


@lru_cache(maxsize=1)
def advances() -> tuple[dict[int, float], float]:
    """DejaVu Sans advance widths in em, by code point, and a fallback."""
    from fontTools.ttLib import TTFont

    from .media import font_dir

    font = TTFont(os.path.join(font_dir(), "DejaVuSans.ttf"), lazy=True)
    upem = font["head"].unitsPerEm
    hmtx = font["hmtx"]
    adv = {cp: hmtx[g][0] / upem for cp, g in font.getBestCmap().items() if cp < 0x3000}
    return adv, 0.65


def text_width(s: str, size: float) -> float:
    """The width of ``s`` set in DejaVu Sans at ``size`` (same unit as size)."""
    adv, other = advances()
    return sum(adv.get(ord(c), other) for c in s) * size


def shorten(s: str, size: float, room: float) -> str:
    """``s``, or its start and end joined by an ellipsis, fitting ``room`` at ``size``."""
    if text_width(s, size) <= room:
        return s
    keep = len(s)
    while keep > 2:
        keep -= 1
        head, tail = s[:(keep + 1) // 2], s[len(s) - keep // 2:]
        out = head + "\u2026" + tail
        if text_width(out, size) <= room:
            return out
    return s[:1] + "\u2026"


def nice_ticks(lo: float, hi: float, n: int = 5, integer: bool = False) -> list[float]:
    """Round tick values covering [lo, hi] (the usual 1-2-5 steps)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks, t = [], first
    while t <= hi + step * 1e-9:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def tick_label(v: float) -> str:
    """An axis tick: ``250``, ``−5``, ``20k``, ``1.5M`` (SI from 10k: wider labels run into the axis title)."""
    if v == int(v) and abs(v) < 1e4:
        return f"{int(v)}".replace("-", MINUS)
    return si(v).replace("-", MINUS)
