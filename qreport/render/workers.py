"""Laying out print HTML with WeasyPrint: one part at a time, on every core.

:func:`render_part` lays out one HTML document and returns its PDF bytes
with plain data (page count, anchors, internal links).  :class:`Workers`
are forked before the model is loaded, one per core, and lay out parts in
parallel (serially with one core).
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass, field

from ..gcpolicy import fewer_collections, for_worker
from .media import SCHEME, make_fetcher, quiet_weasyprint


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


def _inside(a, b) -> bool:
    """Rectangle a (x1, y1, x2, y2) lies within rectangle b."""
    return b[0] <= a[0] and b[1] <= a[1] and a[2] <= b[2] and a[3] <= b[3]


def drawn(assets: dict | None) -> dict[str, bytes] | None:
    """The assets with every chart :class:`~.mpl.Spec` drawn, as the PDF draws it."""
    if not assets or all(isinstance(v, bytes) for v in assets.values()):
        return assets
    from .mpl import draw, for_print

    return {n: v if isinstance(v, bytes) else for_print(draw(v)).encode() for n, v in assets.items()}


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_SHEETS: dict = {}
_INHERITED: list = []


def _after_fork() -> None:
    """A forked child keeps its parent's cached stylesheets alive but never uses
    them: dropping them would delete the parent's font folders."""
    global _SHEETS
    _INHERITED.append(_SHEETS)
    _SHEETS = {}


os.register_at_fork(after_in_child=_after_fork)


def _stylesheet(css: str, fonts: dict[str, bytes] | None) -> tuple:
    """A part's stylesheet, parsed (and its fonts registered) once per process.

    Every part of a document carries the same ``<style>``; parsing it was
    ~50 ms of each part's ~1 s.  Returns ``(CSS, FontConfiguration, refused URLs)``,
    cached by the CSS text and the font files.  WeasyPrint ranks a sheet given
    to ``render`` as the user's, above its own defaults; with no author sheet
    left in the part, every rule wins where the inline one did (the gold PDFs
    are the same bytes).
    """
    key = (css, tuple(sorted((n, len(b), hash(b)) for n, b in (fonts or {}).items())))
    hit = _SHEETS.get(key)
    if hit is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        if len(_SHEETS) >= 4:          # a worker serves one build at a time
            _SHEETS.clear()
        fc = FontConfiguration()
        fetcher = make_fetcher(None, fonts)
        sheet = CSS(string=css, base_url=SCHEME + "/", url_fetcher=fetcher, font_config=fc)
        hit = _SHEETS[key] = (sheet, fc, tuple(fetcher.refused))
    return hit


def forget_stylesheets() -> None:
    """Drop the cached stylesheets.  Their FontConfigurations then delete the
    folders WeasyPrint wrote the fonts to (left in the temp directory if the
    process ended with them alive)."""
    _SHEETS.clear()
    gc.collect()


def _stop_worker(signum, frame) -> None:   # SIGTERM, from Workers.close
    forget_stylesheets()
    os._exit(0)


def render_part(html: str, assets: dict | None = None,
                fonts: dict[str, bytes] | None = None, fetcher=None, measure: bool = False) -> Part:
    """Lay out and draw one HTML document; the PDF bytes and where things are.

    ``assets`` are chart files or the :class:`~.mpl.Spec` to draw them from (here, in
    the worker).  ``measure`` also reports how full each page is (a walk over every
    box: for tests and diagnostics, not for every build).
    """
    import weasyprint

    quiet_weasyprint()
    assets = drawn(assets)
    # A run of sheets carries one <style>, qreport's own (a model's strings are
    # escaped).  The front matter adds the cover's: with one sheet moved out and the
    # other left in, the two would rank differently, so it is laid out as it comes.
    style = _STYLE.search(html) if fetcher is None and html.count("<style") == 1 else None
    fetcher = fetcher or make_fetcher(assets, fonts)
    refused: list[str] = []
    if style is None:
        doc = weasyprint.HTML(string=html, base_url=SCHEME + "/", url_fetcher=fetcher).render()
    else:
        sheet, fc, refused0 = _stylesheet(style.group(1), fonts)
        refused.extend(refused0)
        html = html[:style.start()] + html[style.end():]
        doc = weasyprint.HTML(string=html, base_url=SCHEME + "/", url_fetcher=fetcher).render(
            stylesheets=[sheet], font_config=fc)
    anchors, links, seen = {}, [], set()
    fill = [_fill(p) for p in doc.pages] if measure else []
    for i, page in enumerate(doc.pages):
        for name, (x1, y1, x2, y2) in page.anchors.items():
            anchors.setdefault(name, (i, x1, y1, x2, y2))
        # WeasyPrint lists a link once per box inside the <a>: keep the outermost.
        # (Grouped by target: a contents page has ~100 links, and comparing
        # every pair cost the front matter of a 600-layer model ~0.5 s.)
        by_target: dict[str, list] = {}
        for kind, t, r, _ in page.links:
            if kind == "internal":
                by_target.setdefault(t, []).append(r)
        for t, r in ((t, r) for kind, t, r, _ in page.links if kind == "internal"):
            if not any(r2 != r and _inside(r, r2) for r2 in by_target[t]):
                if (i, t, r) not in seen:
                    seen.add((i, t, r))
                    links.append((i, t, r))
    size = (doc.pages[0].width, doc.pages[0].height) if doc.pages else (0.0, 0.0)
    data = doc.write_pdf(full_fonts=fonts is not None)
    return Part(data, len(doc.pages), size, anchors, links, refused + list(fetcher.refused), fill)


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

    from multiprocessing.util import Finalize

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent stops the pool
    signal.signal(signal.SIGTERM, _stop_worker)     # … and its temp files go with it
    Finalize(None, forget_stylesheets, exitpriority=10)   # a worker's normal exit
    import weasyprint
    from fontTools import subset  # noqa: F401

    quiet_weasyprint()
    # The first layout in a process pays ~0.5 s (Pango, fontconfig, caches), and
    # the first chart Matplotlib's import and the house style: pay them now, while
    # the parent loads the model, not on the first part.
    weasyprint.HTML(string="<p>qreport</p>").render().write_pdf()
    from .mpl import warm

    warm()
    for_worker()


def _ready() -> bool:
    return True


def _work(job: tuple) -> Part:
    html, assets, fonts, measure = job
    try:
        return render_part(html, assets, fonts, measure=measure)
    finally:
        # The part's laid-out document is garbage now, much of it in cycles the
        # raised thresholds (gcpolicy) would leave for a later part: free it
        # now, so that a worker's memory stays bounded by its largest part (in a
        # pool worker its imports are frozen, so this walks the part's objects only).
        gc.collect()


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
            try:
                with fewer_collections():
                    return [_work(j) for j in jobs]
            finally:
                forget_stylesheets()
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
