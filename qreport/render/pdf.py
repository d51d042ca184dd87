"""PDF via WeasyPrint: the HTML report with the print stylesheet, sandboxed.

WeasyPrint gets a URL fetcher that serves only the report's own assets
(the DejaVu fonts matplotlib ships, under the ``qreport-asset:`` scheme)
and refuses every other URL: file, http(s), data, anything a crafted layer
name or title could smuggle in.  The PDF carries no date unless
SOURCE_DATE_EPOCH asks for one, so the same model gives the same bytes.
"""

from __future__ import annotations

import datetime
import logging
import os

SCHEME = "qreport-asset:"
FONTS = {
    "fonts/DejaVuSans.ttf": "DejaVuSans.ttf",
    "fonts/DejaVuSans-Bold.ttf": "DejaVuSans-Bold.ttf",
    "fonts/DejaVuSans-Oblique.ttf": "DejaVuSans-Oblique.ttf",
    "fonts/DejaVuSans-BoldOblique.ttf": "DejaVuSans-BoldOblique.ttf",
    "fonts/DejaVuSansMono.ttf": "DejaVuSansMono.ttf",
    "fonts/DejaVuSansMono-Bold.ttf": "DejaVuSansMono-Bold.ttf",
}


def _font_dir() -> str:
    import matplotlib

    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def make_fetcher(assets: dict[str, bytes] | None = None):
    """A WeasyPrint URL fetcher that serves only qreport's assets.

    Args:
        assets: the report's own files (charts), by name under ``qreport-asset:``.

    Returns an object whose ``refused`` list records every URL it turned down.
    """
    own = dict(assets or {})
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class SandboxFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=())
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(SCHEME):
                name = url[len(SCHEME):].lstrip("/")
                if name in own:
                    return URLFetcherResponse(url, own[name], {"Content-Type": "image/svg+xml"})
                if name in FONTS:
                    with open(os.path.join(_font_dir(), FONTS[name]), "rb") as f:
                        return URLFetcherResponse(url, f.read(), {"Content-Type": "font/ttf"})
            self.refused.append(url)
            raise ValueError(f"qreport's PDF renderer fetches nothing outside the report: {url[:80]}")

        def open(self, url, data=None, timeout=None):  # never reach urllib
            return self.fetch(url if isinstance(url, str) else url.full_url)

    return SandboxFetcher()


def font_css() -> str:
    faces = [("DejaVu Sans", "normal", "normal", "DejaVuSans.ttf"),
             ("DejaVu Sans", "bold", "normal", "DejaVuSans-Bold.ttf"),
             ("DejaVu Sans", "normal", "italic", "DejaVuSans-Oblique.ttf"),
             ("DejaVu Sans", "bold", "italic", "DejaVuSans-BoldOblique.ttf"),
             ("DejaVu Sans Mono", "normal", "normal", "DejaVuSansMono.ttf"),
             ("DejaVu Sans Mono", "bold", "normal", "DejaVuSansMono-Bold.ttf")]
    return "\n".join(
        f'@font-face {{ font-family: "{fam}"; font-weight: {w}; font-style: {s}; '
        f'src: url("{SCHEME}fonts/{f}"); }}' for fam, w, s, f in faces)


def render_pdf(html: str, meta: dict, fetcher=None, assets: dict[str, bytes] | None = None) -> bytes:
    """PDF bytes for the print-media HTML of a report and its chart assets."""
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    fetcher = fetcher or make_fetcher(assets)
    doc = weasyprint.HTML(string=html, base_url=SCHEME + "/", url_fetcher=fetcher).render()
    md = doc.metadata
    md.title = meta["name"]
    md.generator = f"qreport {meta.get('qreport') or ''}".strip()
    md.description = f"Hardware datasheet of {meta.get('file', '')} (sha256 {meta.get('sha256', '')})"
    md.authors, md.keywords = [], ["qreport", "QKeras", "quantization", "accumulator"]
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    md.created = md.modified = (
        datetime.datetime.fromtimestamp(int(sde), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if sde and sde.isdigit() else None)
    return doc.write_pdf()
