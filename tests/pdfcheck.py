"""What a reader of a PDF gets, read back with pypdf: pages, text, outline, links.

Independent of how qreport made the file: these helpers only read it.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader


def reader(data: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(data))


def outline(r: PdfReader) -> list[tuple[int, str, int]]:
    """(depth, title, page index) for every outline entry, in order."""
    out = []

    def walk(items, depth):
        for o in items:
            if isinstance(o, list):
                walk(o, depth + 1)
            else:
                out.append((depth, o.title, r.get_destination_page_number(o)))

    walk(r.outline, 0)
    return out


def _dest_page(r: PdfReader, annot) -> int | None:
    dest = annot.get("/Dest")
    if dest is None and "/A" in annot:
        dest = annot["/A"].get_object().get("/D")
    if dest is None:
        return None
    if isinstance(dest, str) or not hasattr(dest, "__len__") or isinstance(dest, bytes):
        named = r.named_destinations.get(str(dest))
        return None if named is None else r.get_destination_page_number(named)
    dest = dest.get_object() if hasattr(dest, "get_object") else dest
    if isinstance(dest, (str,)):
        named = r.named_destinations.get(str(dest))
        return None if named is None else r.get_destination_page_number(named)
    return r.get_page_number(dest[0].get_object())


def links(r: PdfReader) -> list[tuple[int, tuple[float, float, float, float], int | None]]:
    """(page index, rect, destination page index) of every link annotation."""
    out = []
    for i, p in enumerate(r.pages):
        for a in p.get("/Annots") or []:
            a = a.get_object()
            if a.get("/Subtype") != "/Link":
                continue
            x1, y1, x2, y2 = (float(v) for v in a["/Rect"])
            out.append((i, (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)), _dest_page(r, a)))
    return out


def texts(r: PdfReader) -> list[str]:
    return [p.extract_text() for p in r.pages]


def placed_text(page) -> list[tuple[str, float, float]]:
    """(text, x, y) in PDF points for every text run drawn on a page."""
    out = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = cm[0] * tm[4] + cm[2] * tm[5] + cm[4]
            y = cm[1] * tm[4] + cm[3] * tm[5] + cm[5]
            out.append((text.strip(), x, y))

    page.extract_text(visitor_text=visit)
    return out


PAGE_OF = re.compile(r"page (\d+) of (\d+)")


def view(data: bytes) -> dict:
    """Everything a reader sees, for comparing two renderings of one report."""
    r = reader(data)
    return {"pages": len(r.pages), "text": [" ".join(t.split()) for t in texts(r)],
            "outline": outline(r),
            # where each link is and where it leads; not its exact rectangle,
            # which moves with the machine's text shaping
            "links": sorted((p, d) for p, _, d in links(r)),
            "title": r.metadata.title}
