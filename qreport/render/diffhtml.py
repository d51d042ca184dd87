"""The HTML (and print HTML for the PDF) of a diff: the datasheet's look and sheets.

A summary page (the two models, the verdict, the totals old → new), a table
of changes (each changed layer's key facts), then the full sheets of the
changed and added layers, as the new model's datasheet shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from ..contract import model_block
from ..provenance import Provenance, source_datetime
from ..review.diff import ModelDiff
from . import text as T
from .figures import Charts
from .html import env, page_css_for, split_parts
from .views import PrintPage, layer_view, script_json


@dataclass(frozen=True)
class Figure:
    big: str
    label: str
    verdict: str    # css class: regression, improvement or ""


@dataclass(frozen=True)
class DiffPage(PrintPage):
    """Everything diff.html shows, as strings."""

    title: str
    prov: Provenance  # the new model's (tool versions for the header)
    old: dict
    new: dict
    media: str
    paper: str
    date: str | None
    changed: bool
    figures: tuple[Figure, ...]
    totals: tuple[T.DiffRow, ...]
    changes: tuple[T.DiffRow, ...]
    anchors: dict       # layer name -> its sheet's id (the changed and added layers)
    kind: str = "diff"


def _figures(d: ModelDiff) -> tuple[Figure, ...]:
    by = {t.fact: t for t in d.totals}
    out = [Figure(str(d.count("regression")), "regressions<br>cost figures that grew",
                  "regression" if d.count("regression") else ""),
           Figure(str(d.count("improvement")), "improvements<br>cost figures that shrank",
                  "improvement" if d.count("improvement") else ""),
           Figure(str(d.status_count("changed") + d.status_count("added") + d.status_count("removed")),
                  f"layers changed<br>{d.status_count('added')} added, "
                  f"{d.status_count('removed')} removed", "")]
    for fact, label in (("macs", "MACs"), ("weight_bits", "weight memory, bits"),
                        ("energy_pj", "energy per inference (est.)")):
        t = by.get(fact)
        if t is None:
            continue
        change = T.delta(t.delta, t.percent, t.fact) or "unchanged"
        out.append(Figure(T.fact_value(t.new, fact), f"{label}<br>{change}", t.verdict or ""))
    return tuple(out)


def diff_page(d: ModelDiff, old: Provenance, new: Provenance, data: dict | None,
              media: str = "screen", paper: str = "a4", chart: Charts | None = None) -> DiffPage:
    """The diff's page data: summary, totals, changes and the changed layers' sheets."""
    index = {l.name: i for i, l in enumerate(d.new.layers)}
    news = {l.name: l for l in d.new.layers}
    sheets = tuple(layer_view(index[ld.name], news[ld.name], chart, True)
                   for ld in d.layers if ld.status in ("changed", "added"))
    when = source_datetime()
    removed = d.status_count("removed")
    note = (f"{len(sheets)} changed or added layer{'s' if len(sheets) != 1 else ''}, as the new "
            "model's datasheet shows them" + (f"; {removed} removed (see the old model's datasheet)"
                                              if removed else ""))
    return DiffPage(
        title=f"{old.name} → {new.name}", prov=new,
        old=model_block(d.old, old), new=model_block(d.new, new), media=media, paper=paper,
        date=when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else None,
        changed=d.changed, figures=_figures(d), totals=T.total_rows(d), changes=T.change_rows(d),
        anchors={v.name: v.id for v in sheets}, sheets=sheets, sheets_note=note,
        json=Markup(script_json(data)) if data is not None else None)


def render_diff_html(d: ModelDiff, old: Provenance, new: Provenance, data: dict,
                     chart_style: tuple = ()) -> str:
    """The self-contained HTML of a diff, its JSON (``qreport-diff/1``) embedded."""
    chart = Charts(inline=True, style=chart_style)
    page = diff_page(d, old, new, data, "screen", "a4", chart)
    return env().get_template("diff.html").render(page=page, css=page_css_for("screen", "a4"))


def render_diff_parts(d: ModelDiff, old: Provenance, new: Provenance,
                      paper: str = "a4", chart_style: tuple = ()) -> tuple[list[str], dict]:
    """The diff's print HTML in parts (front matter, then runs of sheets), and chart assets."""
    chart = Charts(inline=False, style=chart_style)
    page = diff_page(d, old, new, None, "pdf", paper, chart)
    return split_parts("diff.html", page, paper), chart.assets
