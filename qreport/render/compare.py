"""A sweep comparison as Markdown, CSV, HTML and the PDF's print HTML.

The table's cells come from :mod:`.text`'s rules; the HTML's sort works on
each cell's ``data-v`` (a number, or empty) and the rows already in the
DOM, so no string from a model ever reaches the script, and the table reads
the same with JavaScript off.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from markupsafe import Markup

from ..review.compare import FIGURES, Comparison
from . import text as T

_LABEL = {k: (label, unit) for k, label, unit in FIGURES}


def cell(key: str, v) -> str:
    """A figure as the table shows it."""
    if v is None:
        return "—"
    if key == "energy_pj":
        return T.energy(v)
    if key == "bits_saved":
        return T.bits(v)
    return T.integer(v)


def heading(key: str) -> str:
    label, unit = _LABEL[key]
    return f"{label} ({unit})" if unit else label


def _verdict(r) -> str:
    return "" if r.within_budget is None else ("within" if r.within_budget else "over")


def markdown(c: Comparison) -> str:
    """GitHub Markdown: every model string in code."""
    def code(s: str) -> str:
        s = T.one_line(s).replace("`", "'")
        return f"`{s}`"

    head = ["## qreport sweep comparison", "",
            f"{len(c.rows)} models; ★ on the Pareto front of {heading(c.x)} and {heading(c.y)}"
            + ("; budget: within or over" if c.budget is not None else "") + ".", ""]
    cols = ["model", *[heading(k) for k, _, _ in FIGURES], "front"] + \
        (["budget"] if c.budget is not None else [])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in c.rows:
        cells = [code(r.name), *[cell(k, v) for k, v in r.figures], "★" if r.pareto else ""]
        if c.budget is not None:
            cells.append(_verdict(r))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(head + lines) + "\n"


def csv_text(c: Comparison) -> str:
    """One row per model, raw numbers, for a spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["name", "file", "sha256", "model", *[k for k, _, _ in FIGURES], "pareto",
                "within_budget"])
    for r in c.rows:
        w.writerow([r.name, r.file, r.sha256, r.model,
                    *["" if v is None else v for _, v in r.figures], int(r.pareto),
                    "" if r.within_budget is None else int(r.within_budget)])
    return buf.getvalue()


@dataclass(frozen=True)
class RowView:
    name: str
    file: str
    cells: tuple[tuple[str, str], ...]   # (data-v, text) per figure
    pareto: bool
    verdict: str                          # within, over or ""
    violations: tuple[str, ...]


@dataclass(frozen=True)
class ComparePage:
    title: str
    media: str
    qreport: str
    headings: tuple[str, ...]
    rows: tuple[RowView, ...]
    chart: Markup
    note: str
    budget: bool
    json: Markup | None
    script: object = None        # views.TableScript on screen: the table's sort script and its CSP


def page(c: Comparison, data: dict | None, media: str, qreport: str,
         chart_style: tuple = ()) -> ComparePage:
    from .mpl import Spec, draw, for_print
    from .views import script_json, table_script

    pts = [(r.figure(c.x), r.figure(c.y), r.name, r.pareto) for r in c.rows
           if r.figure(c.x) is not None and r.figure(c.y) is not None]
    svg = draw(Spec("sheetcharts", "scatter", (pts,),
                    (("title", f"{heading(c.y)} against {heading(c.x)}"), ("xlabel", heading(c.x)),
                     ("ylabel", heading(c.y))), style=chart_style, css_class="chart wide"))
    if media == "pdf":
        svg = for_print(svg)
    rows = tuple(RowView(r.name, r.file,
                         tuple(("" if v is None else repr(v), cell(k, v)) for k, v in r.figures),
                         r.pareto, _verdict(r), r.violations) for r in c.rows)
    front = ", ".join(r.name for r in c.front) or "none"
    return ComparePage(
        title=f"Sweep of {len(c.rows)} models", media=media, qreport=qreport,
        headings=tuple(heading(k) for k, _, _ in FIGURES), rows=rows, chart=Markup(svg),
        note=f"Pareto front of {heading(c.x)} and {heading(c.y)} (both costs: lower is better): "
             f"{front}.", budget=c.budget is not None,
        json=Markup(script_json(data)) if data is not None else None,
        script=table_script() if media == "screen" else None)


def html(c: Comparison, data: dict | None, media: str = "screen", qreport: str = "",
         paper: str = "a4", chart_style: tuple = ()) -> str:
    """The self-contained page (media ``screen``) or the PDF's print HTML (``pdf``)."""
    from .html import env, page_css_for

    return env().get_template("compare.html").render(page=page(c, data, media, qreport, chart_style),
                                                      css=page_css_for(media, paper))
