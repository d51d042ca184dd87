"""The HTML datasheet: page data (:mod:`.views`) through the Jinja2 templates.

Every string from the model is escaped by Jinja2's autoescape; the
embedded JSON is escaped for a <script> block.  For the PDF, the print
HTML is cut into parts that lay out on their own (:func:`render_parts`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from importlib import resources

from markupsafe import Markup

from ..analysis.facts import ModelFacts
from ..provenance import Provenance
from .figures import Charts
from .media import font_css, page_css
from .views import LayerView, page_data


@lru_cache(maxsize=1)
def env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    return env


def _template_source(name: str) -> str:
    """A file of templates/: read through importlib.resources, which works for
    the wheel and for the editable install (templates/ mapped into qreport.templates)."""
    return resources.files("qreport.templates").joinpath(name).read_text(encoding="utf-8")


def render_html(facts: ModelFacts, prov: Provenance, data: dict, media: str = "screen",
                paper: str = "a4", sheets: str = "all", chart_style: tuple = ()) -> str:
    """The whole self-contained HTML document.

    Args:
        facts: the analysis.
        prov: where the facts came from (name, file, sha256, versions, sample).
        data: the JSON report to embed (``jsonreport.report_dict``).
        media: ``screen`` (charts and JSON inline) or ``pdf``.
        paper: ``a4`` or ``letter`` (print media).
        sheets: ``all``, ``mac`` or ``none``.
        chart_style: a team's chart style, (key, value) pairs (``mpl.read_style``).

    Returns:
        The HTML text; every string from the model is escaped.

    Raises:
        ValueError: an unknown ``sheets`` value.
    """
    return render_document(facts, prov, data, media, paper, sheets, chart_style)[0]


def page_css_for(media: str, paper: str) -> Markup:
    css = _template_source("report.css")
    if media != "pdf":
        css += _template_source("screen.css")
    else:
        css = font_css() + "\n" + page_css(paper) + "\n" + css + _template_source("print.css")
    return Markup(css)


def render_document(facts: ModelFacts, prov: Provenance, data: dict | None, media: str = "screen",
                    paper: str = "a4", sheets: str = "all",
                    chart_style: tuple = ()) -> tuple[str, dict]:
    """(HTML, assets): for media "pdf" the charts are assets and no JSON is embedded.

    For media "pdf" this is the whole document in one piece (what
    :func:`render_parts` splits); the PDF renderer uses the parts.
    """
    chart = Charts(inline=media != "pdf", style=chart_style)
    page = page_data(facts, prov, data if media != "pdf" else None, media, paper, chart, sheets)
    return env().get_template("report.html").render(page=page, css=page_css_for(media, paper)), chart.assets


#: Parts are cut so that each carries about this much layout work, counted
#: in full sheets (a compact sheet counts COMPACT_COST): small enough that a
#: part's memory stays bounded and two cores share the work, large enough
#: that the per-part start-up (fonts, styles) stays small.
PART_COST = 6.0
COMPACT_COST = 0.2


def plan_parts(sheets: list[LayerView], part_cost: float = PART_COST) -> list[list[LayerView]]:
    """Consecutive runs of sheets, each starting with a full (MAC) sheet.

    A full sheet always starts a new page, so cutting the document only in
    front of one changes no page break: the parts laid out separately give
    the same pages as the whole document would.  Compact sheets flow after
    the sheet before them and are never the first of a part (unless the
    document starts with them).
    """
    parts: list[list[LayerView]] = []
    cost = 0.0
    for v in sheets:
        if parts and not (v.mac and cost >= part_cost):
            parts[-1].append(v)
            cost += 1.0 if v.mac else COMPACT_COST
            continue
        parts.append([v])
        cost = 1.0 if v.mac else COMPACT_COST
    return parts


def render_parts(facts: ModelFacts, prov: Provenance, paper: str = "a4", sheets: str = "all",
                 part_cost: float = PART_COST, chart_style: tuple = ()) -> tuple[list[str], dict]:
    """The PDF's print HTML cut into parts: (parts, chart assets).

    Part 0 is the front matter (cover, totals, contents, layer table, model
    charts); each further part is a run of layer sheets (:func:`plan_parts`).
    Every part is a complete HTML document with the same stylesheet, so
    each can be laid out on its own, in its own process.
    """
    chart = Charts(inline=False, style=chart_style)
    page = page_data(facts, prov, None, "pdf", paper, chart, sheets)
    return split_parts("report.html", page, paper, part_cost), chart.assets


def split_parts(template: str, page, paper: str, part_cost: float = PART_COST) -> list[str]:
    """A print page (with ``sheets``, ``front``, ``last``) rendered as parts: the front
    matter, then each run of sheets (:func:`plan_parts`), every part a whole document."""
    css = page_css_for("pdf", paper)
    tpl = env().get_template(template)
    runs = plan_parts(list(page.sheets), part_cost)
    out = [tpl.render(page=replace(page, sheets=(), last=not runs), css=css)]
    for k, run in enumerate(runs):
        out.append(tpl.render(page=replace(page, sheets=tuple(run), front=False,
                                           last=k == len(runs) - 1), css=css))
    return out
