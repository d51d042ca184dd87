"""PDF via WeasyPrint: the print HTML in parts, laid out on every core, merged.

How a PDF is made (README, "How the PDF is made", says why):

1. ``html.render_parts`` cuts the document into parts: the front matter,
   then runs of layer sheets, each run starting with a full sheet (which
   always starts a page, so cutting there moves no page break).
2. Each part is laid out and drawn by WeasyPrint on its own, in a forked
   worker per core (serially with one core).  A worker returns PDF bytes
   and plain data: its page count, where each anchor is, its internal links
   and bookmarks.  Nothing in a part depends on its page numbers, so no
   part is ever laid out twice and memory is bounded by the largest part.
3. The parent knows every page number then.  The numbers a reader sees
   ("page X of Y", the page column of the contents) are drawn by one small
   overlay document laid over the pages, at the places the parts left free
   for them.  Links into another part are added back as link annotations.
4. The parts are concatenated with pypdf; identical objects (the shared
   font programs) are stored once.

Fonts and the sandboxed fetcher: :mod:`.media`; the workers: :mod:`.workers`.
Every worker has its own fetcher.  The PDF carries no date unless
SOURCE_DATE_EPOCH asks for one.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from html import escape, unescape

from ..provenance import source_datetime
from .media import MARGIN, PT_PER_PX, PX_PER_MM, SANS, font_css, page_css, subset_fonts
from .workers import Workers


@dataclass(frozen=True)
class PdfInfo:
    """The PDF's document information: its title, what it is, and the tool that made it."""

    title: str
    subject: str
    creator: str


# ------------------------------------------------------------------ overlay

#: Pages per overlay document: the overlay is cut into runs this long, laid
#: out in parallel.  A constant, not the core count, so the bytes do not
#: depend on the machine.
OVERLAY_PAGES = 64


def overlay_html(total: int, numbers: list[list[tuple[float, float, float, float, str]]],
                 paper: str = "a4", first: int = 0, count: int | None = None) -> str:
    """The page-number layer of pages ``first`` … ``first + count - 1`` (default:
    all): "page X of Y" on every page, and the numbers of the contents at the
    boxes the parts left for them (CSS px, page-relative).
    """
    t, r, b, l = MARGIN
    ox, oy = l * PX_PER_MM, t * PX_PER_MM
    css = (font_css() + page_css(paper) +
           f'@page {{ @bottom-right {{ content: "page " string(pno) " of {total}"; '
           f'font: 8pt "{SANS}"; color: #5b6470; }} }}'
           f"html {{ font: 9pt/1.45 '{SANS}'; color: #1b1f24; }} body {{ margin: 0; }}"
           ".p { position: relative; height: 1px; break-after: page; string-set: pno attr(data-n); }"
           ".p:last-child { break-after: auto; }"
           ".n { position: absolute; text-align: right; white-space: nowrap; color: #5b6470; }")
    pages = []
    count = total - first if count is None else count
    for i in range(first, first + count):
        spans = "".join(
            f'<span class="n" style="left:{x1 - ox:.3f}px;top:{y1 - oy:.3f}px;'
            f'width:{x2 - x1:.3f}px;height:{y2 - y1:.3f}px;line-height:{y2 - y1:.3f}px">{escape(s)}</span>'
            for x1, y1, x2, y2, s in numbers[i])
        pages.append(f'<div class="p" data-n="{i + 1}">{spans}</div>')
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}</style></head><body>{''.join(pages)}</body></html>"


# ------------------------------------------------------------------ merge

def _stamp(writer, page, over, i: int) -> None:
    """Draw page ``over`` on top of ``page``, without re-encoding ``page``.

    The overlay page becomes a form XObject; the page's content streams are
    kept as they are and wrapped in q … Q, followed by a one-line stream
    that draws the form (pypdf's merge_page would decode and rewrite every
    content stream of the page).
    """
    from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject,
                               NameObject)

    form = DecodedStreamObject()
    form.set_data(over.get_contents().get_data())
    form.update({NameObject("/Type"): NameObject("/XObject"),
                 NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): over.mediabox,
                 NameObject("/Resources"): over["/Resources"].clone(writer)})
    ref = writer._add_object(form.flate_encode())
    res = page["/Resources"].get_object()
    if "/XObject" not in res:
        res[NameObject("/XObject")] = DictionaryObject()
    name = f"/QrPageNumbers{i}"
    res["/XObject"].get_object()[NameObject(name)] = ref
    head, tail = DecodedStreamObject(), DecodedStreamObject()
    head.set_data(b"q\n")
    tail.set_data(f"\nQ\nq {name} Do Q\n".encode())
    contents = page.get(NameObject("/Contents"))
    old = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
    page[NameObject("/Contents")] = ArrayObject(
        [writer._add_object(head), *old, writer._add_object(tail)])


def _chart_text(asset) -> str:
    """Every string a chart will set (a drawn SVG, or a Spec's arguments): for the font subset."""
    if isinstance(asset, bytes):
        return unescape(asset.decode("utf-8", "replace"))
    out, stack = [], [asset.args, asset.kwargs]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, (tuple, list)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return "".join(out)


def render_pdf(parts: list[str], info: PdfInfo, assets: dict[str, bytes] | None = None,
               paper: str = "a4", jobs: int | None = None, refused: list | None = None,
               workers: Workers | None = None, stats: dict | None = None) -> bytes:
    """The PDF of a report from its print HTML parts (``html.render_parts``).

    Args:
        parts: complete HTML documents, front matter first, in page order.
        info: the document information (title, subject, creator).
        assets: chart files the parts refer to under ``qreport-asset:``.
        paper: ``a4`` or ``letter`` (must match the parts' stylesheet).
        jobs: worker processes (default: the cores this process may use).
        refused: if given, every URL a fetcher refused is appended to it.
        workers: started :class:`Workers` to use (default: started here).
        stats: if given, filled with ``pages`` (per part) and ``fill`` (per page).

    Returns:
        The PDF bytes, the same for the same parts on any machine and at any time
        (as long as Pango and HarfBuzz lay the text out alike).
    """
    assets = dict(assets or {})
    own = workers is None
    workers = workers or Workers(jobs)
    try:
        return _render_pdf(parts, info, assets, paper, refused, workers, stats)
    finally:
        if own:
            workers.close()


def _render_pdf(parts, info: PdfInfo, assets, paper, refused, workers: Workers, stats) -> bytes:
    from pypdf import PdfReader, PdfWriter

    from pypdf.annotations import Link
    from pypdf.generic import ArrayObject, ByteStringObject, Fit, NameObject, NumberObject

    # the characters of the text, entities decoded (Jinja writes ' as &#39;)
    fonts = subset_fonts(unescape("".join(parts)) + "".join(_chart_text(a) for a in assets.values()))
    done = workers.render(parts, assets, fonts, measure=stats is not None)
    if refused is not None:
        for p in done:
            refused.extend(p.refused)
    if stats is not None:
        stats["pages"] = [p.pages for p in done]
        stats["fill"] = [f for p in done for f in p.fill]

    offsets, total = [], 0
    for p in done:
        offsets.append(total)
        total += p.pages
    where: dict[str, tuple[int, float, float, float, float]] = {}
    for p, off in zip(done, offsets):
        for name, (i, *box) in p.anchors.items():
            where.setdefault(name, (off + i, *box))

    # The numbers of the contents: each "pg-<id>" box gets the page of <id>.
    numbers: list[list] = [[] for _ in range(total)]
    for name, (page, x1, y1, x2, y2) in where.items():
        if name.startswith("pg-") and name[3:] in where:
            numbers[page].append((x1, y1, x2, y2, str(where[name[3:]][0] + 1)))
    runs = [(a, min(OVERLAY_PAGES, total - a)) for a in range(0, total, OVERLAY_PAGES)]
    overlays = workers.render([overlay_html(total, numbers, paper, a, n) for a, n in runs], {}, fonts)
    if [o.pages for o in overlays] != [n for _, n in runs]:
        raise RuntimeError(f"page-number overlay has {sum(o.pages for o in overlays)} pages for {total}")
    over_pages = [pg for o in overlays for pg in PdfReader(io.BytesIO(o.pdf)).pages]

    writer = PdfWriter()
    for p in done:
        writer.append(PdfReader(io.BytesIO(p.pdf)))
    for i, (page, o) in enumerate(zip(writer.pages, over_pages)):
        _stamp(writer, page, o, i)

    # Links into another part: WeasyPrint dropped them (the anchor was not in
    # its document); add them back with an explicit destination.
    h_px = done[0].size[1] if done else 0.0
    for p, off in zip(done, offsets):
        own = set(p.anchors)
        for i, target, (x1, y1, x2, y2) in p.links:
            if target in own or target not in where:
                continue
            tp, tx, ty, _, _ = where[target]
            link = Link(rect=(x1 * PT_PER_PX, (h_px - y2) * PT_PER_PX,
                              x2 * PT_PER_PX, (h_px - y1) * PT_PER_PX),
                        target_page_index=tp,
                        fit=Fit.xyz(left=tx * PT_PER_PX, top=(h_px - ty) * PT_PER_PX, zoom=0))
            link[NameObject("/Border")] = ArrayObject([NumberObject(0)] * 3)
            writer.add_annotation(off + i, link)

    md = {"/Title": info.title,
          "/Creator": info.creator,
          "/Producer": "WeasyPrint, pypdf",
          "/Subject": info.subject,
          "/Keywords": "qreport, QKeras, quantization, accumulator"}
    date = source_datetime()
    if date is not None:
        md["/CreationDate"] = md["/ModDate"] = date.strftime("D:%Y%m%d%H%M%SZ")
    writer.add_metadata(md)
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    ident = hashlib.sha256(b"".join(p.pdf for p in done) + b"".join(o.pdf for o in overlays)).digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(ident), ByteStringObject(ident)])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
