"""Renderers: facts in, documents out.  They format; they never compute.

:data:`RENDERERS` is the one list of output formats (coverage.py's
``Reporter`` protocol is the model): each :class:`Renderer` names its file
extensions, says what it writes, and renders a datasheet, a diff, or both,
to bytes.  The pipeline picks one by the output file's extension; a new
format is one entry here and one module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..options import RenderOptions

#: (facts, provenance, options, PDF workers or None) -> bytes
Report = Callable[..., bytes]


@dataclass(frozen=True)
class Renderer:
    """One output format."""

    name: str
    extensions: tuple[str, ...]
    help: str
    report: Report | None = None   # a datasheet (None: this format has none)
    diff: Report | None = None     # a diff of two models (None: this format has none)
    compare: Report | None = None  # a sweep's comparison (None: this format has none)
    workers: bool = False          # lays pages out in the PDF workers


def _json(facts, prov, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract

    return contract.dumps(contract.report(facts, prov)).encode()


def _json_diff(d, old, new, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract

    return contract.dumps(contract.diff(d, old, new)).encode()


def _html(facts, prov, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract
    from .html import render_html

    return render_html(facts, prov, contract.report(facts, prov), sheets=opts.sheets,
                       chart_style=opts.chart_style).encode()


def _html_diff(d, old, new, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract
    from .diffhtml import render_diff_html

    return render_diff_html(d, old, new, contract.diff(d, old, new), opts.chart_style).encode()


def _pdf(facts, prov, opts: RenderOptions, workers=None) -> bytes:
    from .html import render_parts
    from .pdf import PdfInfo, render_pdf

    parts, assets = render_parts(facts, prov, paper=opts.paper, sheets=opts.sheets,
                                 chart_style=opts.chart_style)
    info = PdfInfo(prov.name, f"Hardware datasheet of {prov.file} (sha256 {prov.sha256})",
                   f"qreport {prov.qreport or ''}".strip())
    return render_pdf(parts, info, assets=assets, paper=opts.paper, workers=workers)


def _pdf_diff(d, old, new, opts: RenderOptions, workers=None) -> bytes:
    from .diffhtml import render_diff_parts
    from .pdf import PdfInfo, render_pdf

    parts, assets = render_diff_parts(d, old, new, paper=opts.paper, chart_style=opts.chart_style)
    info = PdfInfo(f"{old.name} → {new.name}",
                   f"Diff of {old.file} (sha256 {old.sha256}) and {new.file} (sha256 {new.sha256})",
                   f"qreport {new.qreport or ''}".strip())
    return render_pdf(parts, info, assets=assets, paper=opts.paper, workers=workers)


def _md(facts, prov, opts: RenderOptions, workers=None) -> bytes:
    from .markdown import markdown

    return markdown(facts, prov).encode()


def _md_diff(d, old, new, opts: RenderOptions, workers=None) -> bytes:
    from .markdown import diff_markdown

    return diff_markdown(d, old, new).encode()


def _json_compare(c, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract

    return contract.dumps(contract.compare(c)).encode()


def _html_compare(c, opts: RenderOptions, workers=None) -> bytes:
    from .. import contract
    from ..provenance import versions
    from .compare import html

    return html(c, contract.compare(c), qreport=versions()["qreport"] or "",
                chart_style=opts.chart_style).encode()


def _pdf_compare(c, opts: RenderOptions, workers=None) -> bytes:
    from ..provenance import versions
    from .compare import html
    from .pdf import PdfInfo, render_pdf

    v = versions()["qreport"] or ""
    info = PdfInfo(f"Sweep of {len(c.rows)} models",
                   "Comparison of " + ", ".join(r.name for r in c.rows), f"qreport {v}".strip())
    return render_pdf([html(c, None, "pdf", v, opts.paper, opts.chart_style)], info, paper=opts.paper,
                      workers=workers)


def _md_compare(c, opts: RenderOptions, workers=None) -> bytes:
    from .compare import markdown

    return markdown(c).encode()


def _csv_compare(c, opts: RenderOptions, workers=None) -> bytes:
    from .compare import csv_text

    return csv_text(c).encode()


def _yml(facts, prov, opts: RenderOptions, workers=None) -> bytes:
    from .hls4ml import hls4ml_yaml

    return hls4ml_yaml(facts, prov).encode()


RENDERERS = (
    Renderer("json", ("json",), "the facts as data (schema qreport/1; a diff: qreport-diff/1; "
             "a comparison: qreport-compare/1)", _json, _json_diff, _json_compare),
    Renderer("html", ("html",), "a self-contained page, the JSON embedded", _html, _html_diff,
             _html_compare),
    Renderer("pdf", ("pdf",), "the printed datasheet", _pdf, _pdf_diff, _pdf_compare,
             workers=True),
    Renderer("md", ("md",), "Markdown for a pull-request comment", _md, _md_diff, _md_compare),
    Renderer("yml", ("yml", "yaml"), "the hls4ml configuration", _yml),
    Renderer("csv", ("csv",), "one row per model, for a spreadsheet", compare=_csv_compare),
)


def extensions(kind: str = "report") -> tuple[str, ...]:
    """The output extensions of every renderer that writes ``kind`` (``report`` or ``diff``)."""
    return tuple(e for r in RENDERERS if getattr(r, kind) is not None for e in r.extensions)


def by_extension(ext: str, kind: str = "report") -> Renderer | None:
    """The renderer of the extension ``ext`` (no dot) that writes ``kind``, or None."""
    return next((r for r in RENDERERS if ext in r.extensions and getattr(r, kind) is not None),
                None)


def help_text(kind: str = "report") -> str:
    """The formats for a command's help: ``.json (the facts as data), …``."""
    return "; ".join(f"{'/'.join('.' + e for e in r.extensions)}: {r.help}"
                     for r in RENDERERS if getattr(r, kind) is not None)
