"""What print media needs: the fonts, the paper, the page CSS and the sandboxed fetcher.

Shared by the print HTML (:mod:`.html`) and the PDF (:mod:`.pdf`,
:mod:`.workers`), so that neither imports the other.

Fonts: qreport subsets the DejaVu fonts itself, once per document, to the
characters the document contains, and hands WeasyPrint the subsets with
``full_fonts`` so WeasyPrint subsets nothing.  The bytes then depend on
neither the clock (fontTools stamps ``head.modified`` when WeasyPrint
subsets with it) nor on whether the system has libharfbuzz-subset, and
every part embeds the same font programs, which the merge stores once.

Sandbox: WeasyPrint gets a URL fetcher that serves only the report's own
assets (the font subsets and chart images, from memory, under the
``qreport-asset:`` scheme) and refuses every other URL: file, http(s),
data, anything a crafted layer name or title could smuggle in.
"""

from __future__ import annotations

import io
import logging
import os
import re

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


def font_dir() -> str:
    """Where the DejaVu fonts are: Matplotlib's data directory, found without
    importing Matplotlib (which qreport otherwise never imports)."""
    import importlib.util

    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships the DejaVu fonts) is not installed")
    return os.path.join(list(spec.submodule_search_locations)[0], "mpl-data", "fonts", "ttf")


def _full_fonts() -> dict[str, bytes]:
    out = {}
    for name, f in FONTS.items():
        with open(os.path.join(font_dir(), f), "rb") as fh:
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
        font = TTFont(os.path.join(font_dir(), f), recalcTimestamp=False, lazy=True)
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


def quiet_weasyprint() -> None:
    # Links into another part are reported as missing anchors: they are
    # added back after the merge.  Nothing else WeasyPrint logs is for users.
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
