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

Fonts: qreport subsets the DejaVu fonts itself, once per document, to the
characters the document contains, and hands WeasyPrint the subsets with
``full_fonts`` so WeasyPrint subsets nothing.  The bytes then depend on
neither the clock (fontTools stamps ``head.modified`` when WeasyPrint
subsets with it) nor on whether the system has libharfbuzz-subset, and
every part embeds the same font programs, which the merge stores once.

Sandbox: WeasyPrint gets a URL fetcher that serves only the report's own
assets (the font subsets and chart images, from memory, under the
``qreport-asset:`` scheme) and refuses every other URL: file, http(s),
data, anything a crafted layer name or title could smuggle in.  Every
worker has its own.  The PDF carries no date unless SOURCE_DATE_EPOCH
asks for one.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from dataclasses import dataclass, field
from html import escape, unescape

SCHEME = "qreport-asset:"
FONTS = {
    "fonts/DejaVuSans.ttf": "DejaVuSans.ttf",
    "fonts/DejaVuSans-Bold.ttf": "DejaVuSans-Bold.ttf",
    "fonts/DejaVuSans-Oblique.ttf": "DejaVuSans-Oblique.ttf",
    "fonts/DejaVuSans-BoldOblique.ttf": "DejaVuSans-BoldOblique.ttf",
    "fonts/DejaVuSansMono.ttf": "DejaVuSansMono.ttf",
    "fonts/DejaVuSansMono-Bold.ttf": "DejaVuSansMono-Bold.ttf",
}
#: Page size (mm) and margins (mm: top, right, bottom, left): the one place
#: the print stylesheet and the page-number overlay take them from.
PAPER = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN = (20.0, 16.0, 18.0, 16.0)
PX_PER_MM = 96 / 25.4
PT_PER_PX = 0.75
#: Characters always in the font subsets: what CSS generated content, the
#: overlay and line breaking can add to the document's own text.
# ASCII, the characters the renderers write themselves, and the list markers
# CSS generates (•, ◦, ▪: they are in no text, so collect them here)
ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + \
    "\u00a0\u2009\u2026\u2013\u2014\u2212\u00d7\u00b7\u2192\u2022\u25e6\u25aa"


def _font_dir() -> str:
    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def _full_fonts() -> dict[str, bytes]:
    out = {}
    for name, f in FONTS.items():
        with open(os.path.join(_font_dir(), f), "rb") as fh:
            out[name] = fh.read()
    return out


def subset_fonts(text: str) -> dict[str, bytes]:
    """The DejaVu fonts cut down to the characters of ``text`` (plus ALWAYS).

    fontTools with the font's own timestamp kept (``recalcTimestamp=False``),
    so the same text gives the same bytes on any machine and at any time.
    Layout tables stay (Pango shapes with these very files), hinting goes.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    unicodes = sorted({ord(c) for c in set(text) | set(ALWAYS)})
    out = {}
    for name, f in FONTS.items():
        font = TTFont(os.path.join(_font_dir(), f), recalcTimestamp=False, lazy=True)
        opts = subset.Options()
        opts.hinting = False
        opts.notdef_outline = True
        opts.layout_features = ["kern"]
        opts.name_IDs = ["*"]
        opts.name_languages = ["*"]
        opts.recalc_timestamp = False
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=unicodes)
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
        out[name] = buf.getvalue()
    return out


def make_fetcher(assets: dict[str, bytes] | None = None, fonts: dict[str, bytes] | None = None):
    """A WeasyPrint URL fetcher that serves only qreport's assets.

    Args:
        assets: the report's own files (charts), by name under ``qreport-asset:``.
        fonts: font files by name (``fonts/…``); default the full DejaVu files.

    Returns:
        A fetcher whose ``refused`` list records every URL it turned down.
    """
    own = dict(assets or {})
    font_files = fonts
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SandboxFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=())
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            nonlocal font_files
            if url.startswith(SCHEME):
                name = url[len(SCHEME):].lstrip("/")
                if name in own:
                    return URLFetcherResponse(url, own[name], {"Content-Type": "image/svg+xml"})
                if name in FONTS:
                    if font_files is None:
                        font_files = _full_fonts()
                    return URLFetcherResponse(url, font_files[name], {"Content-Type": "font/ttf"})
            self.refused.append(url)
            raise ValueError(f"qreport's PDF renderer fetches nothing outside the report: {url[:80]}")

        def open(self, url, data=None, timeout=None):  # never reach urllib
            return self.fetch(url if isinstance(url, str) else url.full_url)

    return SandboxFetcher()


#: The PDF's font families: the DejaVu subsets under names of their own, so
#: fontconfig can never pick a system copy of DejaVu instead (it did, when
#: the names were the same: the output then depended on the machine's fonts).
SANS, MONO = "qreport Sans", "qreport Sans Mono"
_TAG = re.compile(r"<[^<>]*>")


def print_fonts(svg: str) -> str:
    """A chart SVG with its DejaVu Sans text set in the PDF's own family.

    Only inside tags (attribute values), never in text a model supplied.
    """
    return _TAG.sub(lambda m: m.group(0).replace("'DejaVu Sans'", f"'{SANS}'"), svg)


def font_css() -> str:
    faces = [(SANS, "normal", "normal", "DejaVuSans.ttf"),
             (SANS, "bold", "normal", "DejaVuSans-Bold.ttf"),
             (SANS, "normal", "italic", "DejaVuSans-Oblique.ttf"),
             (SANS, "bold", "italic", "DejaVuSans-BoldOblique.ttf"),
             (MONO, "normal", "normal", "DejaVuSansMono.ttf"),
             (MONO, "bold", "normal", "DejaVuSansMono-Bold.ttf")]
    return "\n".join(
        f'@font-face {{ font-family: "{fam}"; font-weight: {w}; font-style: {s}; '
        f'src: url("{SCHEME}fonts/{f}"); }}' for fam, w, s, f in faces)


def page_css(paper: str = "a4") -> str:
    """The @page size and margins, shared by the parts and the overlay."""
    w, h = PAPER[paper]
    t, r, b, l = MARGIN
    return f"@page {{ size: {w:g}mm {h:g}mm; margin: {t:g}mm {r:g}mm {b:g}mm {l:g}mm; }}"


# ------------------------------------------------------------------ one part

@dataclass
class Part:
    """What laying out one part gives back: PDF bytes and plain data."""

    pdf: bytes
    pages: int
    size: tuple[float, float]                     # page size, CSS px
    anchors: dict[str, tuple[int, float, float, float, float]] = field(default_factory=dict)
    links: list[tuple[int, str, tuple[float, float, float, float]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fill: list[float] = field(default_factory=list)   # share of each page's content area used (if measured)


def _fill(page) -> float:
    """How far down its content area a laid-out page is used (0 … 1).

    The lowest bottom edge of any line of text, image or table row on the
    page (margin boxes excluded), over the height of the content area.
    """
    from weasyprint.formatting_structure import boxes

    box = page._page_box
    top = box.content_box_y()
    bottom = top
    stack = [c for c in box.children if not isinstance(c, boxes.MarginBox)]
    while stack:
        b = stack.pop()
        if isinstance(b, (boxes.LineBox, boxes.ReplacedBox, boxes.TableRowBox)):
            bottom = max(bottom, b.position_y + b.margin_height())
        if not isinstance(b, boxes.LineBox):
            stack.extend(b.all_children())
    return max(0.0, min(1.0, (bottom - top) / box.height)) if box.height else 0.0


def _quiet_weasyprint() -> None:
    # Links into another part are reported as missing anchors: they are
    # added back after the merge.  Nothing else WeasyPrint logs is for users.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def _inside(a, b) -> bool:
    """Rectangle a (x1, y1, x2, y2) lies within rectangle b."""
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def render_part(html: str, assets: dict[str, bytes] | None = None,
                fonts: dict[str, bytes] | None = None, fetcher=None, measure: bool = False) -> Part:
    """Lay out and draw one HTML document; the PDF bytes and where things are.

    ``measure`` also reports how full each page is (a walk over every box:
    for tests and diagnostics, not for every build).
    """
    import weasyprint

    _quiet_weasyprint()
    fetcher = fetcher or make_fetcher(assets, fonts)
    doc = weasyprint.HTML(string=html, base_url=SCHEME + "/", url_fetcher=fetcher).render()
    anchors, links, seen = {}, [], set()
    fill = [_fill(p) for p in doc.pages] if measure else []
    for i, page in enumerate(doc.pages):
        for name, (x1, y1, x2, y2) in page.anchors.items():
            anchors.setdefault(name, (i, x1, y1, x2, y2))
        # WeasyPrint lists a link once per box inside the <a>: keep the outermost.
        rects = [(t, r) for kind, t, r, _ in page.links if kind == "internal"]
        for t, r in rects:
            if not any(t2 == t and r2 != r and _inside(r, r2) for t2, r2 in rects):
                if (i, t, r) not in seen:
                    seen.add((i, t, r))
                    links.append((i, t, r))
    size = (doc.pages[0].width, doc.pages[0].height) if doc.pages else (0.0, 0.0)
    data = doc.write_pdf(full_fonts=fonts is not None)
    return Part(data, len(doc.pages), size, anchors, links, list(fetcher.refused), fill)


# ------------------------------------------------------------------ workers

def cores() -> int:
    """Cores this process may use; QREPORT_JOBS overrides (1 = serial)."""
    env = os.environ.get("QREPORT_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _warm() -> None:
    """Worker start-up: quiet, and WeasyPrint imported while the parent loads."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent stops the pool
    import weasyprint  # noqa: F401
    from fontTools import subset  # noqa: F401

    _quiet_weasyprint()


def _ready() -> bool:
    return True


def _work(job: tuple) -> Part:
    html, assets, fonts, measure = job
    return render_part(html, assets, fonts, measure=measure)


_ASSET = re.compile(SCHEME + r"/?(charts/[0-9]+\.svg)")


class Workers:
    """WeasyPrint workers, one per core, forked before the model is loaded.

    Forked early, they hold no TensorFlow (their memory stays small) and
    import WeasyPrint while the parent imports TensorFlow.  With one core
    there is no pool and every part is rendered in this process, one after
    the other: memory is then bounded by the largest part as well.
    """

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or cores()
        self.pool = None
        if self.jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # ProcessPoolExecutor, not multiprocessing.Pool: a worker that dies
            # (out of memory, a crash in a C library) raises BrokenProcessPool
            # here instead of leaving the build waiting forever.
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_warm)
            for f in [self.pool.submit(_ready) for _ in range(self.jobs)]:
                pass   # start the workers now (the executor forks lazily)

    def render(self, htmls: list[str], assets: dict[str, bytes], fonts: dict[str, bytes],
               measure: bool = False) -> list[Part]:
        """Every HTML document as a Part, in the order given."""
        jobs = [(h, {n: assets[n] for n in sorted(set(_ASSET.findall(h))) if n in assets}, fonts, measure)
                for h in htmls]
        if self.pool is None:
            return [_work(j) for j in jobs]
        # Longest first (the front matter, then by size) keeps every core busy.
        order = sorted(range(len(jobs)), key=lambda i: -len(htmls[i]))
        out: dict[int, Part] = {}
        for i, part in zip(order, self.pool.map(_work, [jobs[i] for i in order])):
            out[i] = part
        return [out[i] for i in range(len(jobs))]

    def close(self) -> None:
        if self.pool is not None:
            procs = list((getattr(self.pool, "_processes", None) or {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for p in procs:       # an interrupted build must not wait for its workers
                if p.is_alive():
                    p.terminate()
            for p in procs:
                p.join()
            self.pool = None


# ------------------------------------------------------------------ overlay

def overlay_html(total: int, numbers: list[list[tuple[float, float, float, float, str]]],
                 paper: str = "a4") -> str:
    """The page-number layer: "page X of Y" on every page, and the numbers of
    the contents at the boxes the parts left for them (CSS px, page-relative).
    """
    t, r, b, l = MARGIN
    ox, oy = l * PX_PER_MM, t * PX_PER_MM
    css = (font_css() + page_css(paper) +
           f'@page {{ @bottom-right {{ content: "page " counter(page) " of {total}"; '
           f'font: 8pt "{SANS}"; color: #5b6470; }} }}'
           f"html {{ font: 9pt/1.45 '{SANS}'; color: #1b1f24; }} body {{ margin: 0; }}"
           ".p { position: relative; height: 1px; break-after: page; }"
           ".p:last-child { break-after: auto; }"
           ".n { position: absolute; text-align: right; white-space: nowrap; color: #5b6470; }")
    pages = []
    for i in range(total):
        spans = "".join(
            f'<span class="n" style="left:{x1 - ox:.3f}px;top:{y1 - oy:.3f}px;'
            f'width:{x2 - x1:.3f}px;height:{y2 - y1:.3f}px;line-height:{y2 - y1:.3f}px">{escape(s)}</span>'
            for x1, y1, x2, y2, s in numbers[i])
        pages.append(f'<div class="p">{spans}</div>')
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


def render_pdf(parts: list[str], meta: dict, assets: dict[str, bytes] | None = None,
               paper: str = "a4", jobs: int | None = None, refused: list | None = None,
               workers: Workers | None = None, stats: dict | None = None) -> bytes:
    """The PDF of a report from its print HTML parts (``html.render_parts``).

    Args:
        parts: complete HTML documents, front matter first, in page order.
        meta: the model block (name, file, sha256, versions) for the metadata.
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
        return _render_pdf(parts, meta, assets, paper, refused, workers, stats)
    finally:
        if own:
            workers.close()


def _render_pdf(parts, meta, assets, paper, refused, workers: Workers, stats) -> bytes:
    from pypdf import PdfReader, PdfWriter

    from .html import source_datetime
    from pypdf.annotations import Link
    from pypdf.generic import ArrayObject, ByteStringObject, Fit, NameObject, NumberObject

    # the characters of the text, entities decoded (Jinja writes ' as &#39;)
    fonts = subset_fonts(unescape("".join(parts)))
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
    overlay, = workers.render([overlay_html(total, numbers, paper)], {}, fonts)
    if overlay.pages != total:
        raise RuntimeError(f"page-number overlay has {overlay.pages} pages for {total}")
    over = PdfReader(io.BytesIO(overlay.pdf))

    writer = PdfWriter()
    for p in done:
        writer.append(PdfReader(io.BytesIO(p.pdf)))
    for i, (page, o) in enumerate(zip(writer.pages, over.pages)):
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

    md = {"/Title": meta["name"],
          "/Creator": f"qreport {meta.get('qreport') or ''}".strip(),
          "/Producer": "WeasyPrint, pypdf",
          "/Subject": meta.get("subject") or
                      f"Hardware datasheet of {meta.get('file', '')} (sha256 {meta.get('sha256', '')})",
          "/Keywords": "qreport, QKeras, quantization, accumulator"}
    date = source_datetime()
    if date is not None:
        md["/CreationDate"] = md["/ModDate"] = date.strftime("D:%Y%m%d%H%M%SZ")
    writer.add_metadata(md)
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    ident = hashlib.sha256(b"".join(p.pdf for p in done) + overlay.pdf).digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(ident), ByteStringObject(ident)])
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()
