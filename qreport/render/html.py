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
                paper: str = "a4", sheets: str = "all") -> str:
    """The whole self-contained HTML document.

    Args:
        facts: the analysis.
        prov: where the facts came from (name, file, sha256, versions, sample).
        data: the JSON report to embed (``jsonreport.report_dict``).
        media: ``screen`` (charts and JSON inline) or ``pdf``.
        paper: ``a4`` or ``letter`` (print media).
        sheets: ``all``, ``mac`` or ``none``.

    Returns:
        The HTML text; every string from the model is escaped.

    Raises:
        ValueError: an unknown ``sheets`` value.
    """
    return render_document(facts, prov, data, media, paper, sheets)[0]


def page_css_for(media: str, paper: str) -> Markup:
    css = _template_source("report.css")
    if media == "pdf":
        css = font_css() + "\n" + page_css(paper) + "\n" + css + _template_source("print.css")
    return Markup(css)


def render_document(facts: ModelFacts, prov: Provenance, data: dict | None, media: str = "screen",
                    paper: str = "a4", sheets: str = "all") -> tuple[str, dict[str, bytes]]:
    """(HTML, assets): for media "pdf" the charts are assets and no JSON is embedded.

    For media "pdf" this is the whole document in one piece (what
    :func:`render_parts` splits); the PDF renderer uses the parts.
    """
    chart = Charts(inline=media != "pdf")
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
                 part_cost: float = PART_COST) -> tuple[list[str], dict[str, bytes]]:
    """The PDF's print HTML cut into parts: (parts, chart assets).

    Part 0 is the front matter (cover, totals, contents, layer table, model
    charts); each further part is a run of layer sheets (:func:`plan_parts`).
    Every part is a complete HTML document with the same stylesheet, so
    each can be laid out on its own, in its own process.
    """
    plan = print_plan(facts, prov, paper, sheets, part_cost)
    return plan.parts(), plan.assets


def print_plan(facts: ModelFacts, prov: Provenance, paper: str = "a4", sheets: str = "all",
               part_cost: float = PART_COST) -> PrintPlan:
    """The datasheet's print parts, with the second look that settles lone compact sheets."""
    chart = Charts(inline=False)
    page = page_data(facts, prov, None, "pdf", paper, chart, sheets)
    return PrintPlan("report.html", page, paper, plan_parts(list(page.sheets), part_cost),
                     chart.assets)


class PrintPlan:
    """A print page cut into parts, with a second look once the parts are laid out.

    A compact sheet flows after the full sheet before it, but when that full
    sheet ends a page exactly, the compact sheets start a page alone and the
    next full sheet breaks to another: a page two-thirds empty.
    :meth:`settle` lets that next full sheet flow after them instead (and
    moves compact sheets that end a part to the head of the next, so a
    part still starts at the top of a page).  The rule looks only at where
    sheets start in the first layout, which is the same however the
    document is cut: the settled pages are those of laying the settled
    document out whole (:meth:`whole`).
    """

    def __init__(self, template: str, page, paper: str, runs: list[list[LayerView]],
                 assets: dict[str, bytes]):
        self.template, self.page, self.paper = template, page, paper
        self.runs = runs
        self.assets = assets
        self.flows: set[str] = set()

    def _sheets(self, run) -> tuple[LayerView, ...]:
        return tuple(replace(v, flow=True) if v.id in self.flows else v for v in run)

    def part(self, k: int) -> str:
        """Part k: 0 is the front matter, k >= 1 the run k - 1."""
        css = page_css_for("pdf", self.paper)
        tpl = env().get_template(self.template)
        if k == 0:
            return tpl.render(page=replace(self.page, sheets=(), last=not self.runs), css=css)
        return tpl.render(page=replace(self.page, sheets=self._sheets(self.runs[k - 1]),
                                       front=False, last=k == len(self.runs)), css=css)

    def parts(self) -> list[str]:
        return [self.part(k) for k in range(len(self.runs) + 1)]

    def whole(self) -> str:
        """The settled document as one HTML (the reference the parts must match)."""
        sheets = self._sheets([v for run in self.runs for v in run])
        return env().get_template(self.template).render(
            page=replace(self.page, sheets=sheets), css=page_css_for("pdf", self.paper))

    def settle(self, laid: list) -> list[tuple[str | None, int | None]] | None:
        """The parts after a look at their layout, or None when nothing moves.

        ``laid`` are the parts as laid out (:class:`.workers.Part`: pages, size,
        anchors).  Returns the new parts in order, each ``(HTML, None)`` to lay
        out again or ``(None, k)``: part k of ``laid``, unchanged.
        """
        runs = [list(r) for r in self.runs]
        source = [k + 1 for k in range(len(runs))]   # the laid part each run is, or None
        for r, run in enumerate(self.runs):
            part = laid[r + 1]
            near = _top(part) + 0.1 * part.size[1]
            i = 0
            while i < len(run):
                if run[i].mac:
                    i += 1
                    continue
                j = i
                while j < len(run) and not run[j].mac:
                    j += 1
                nxt = run[j] if j < len(run) else (self.runs[r + 1][0] if r + 1 < len(runs)
                                                    else None)
                opens = any((a := part.anchors.get(run[k].id)) is not None and a[2] <= near
                            for k in range(i, j))
                if i > 0 and nxt is not None and nxt.id not in self.flows and opens:
                    self.flows.add(nxt.id)
                    source[r] = None
                i = j
        if all(s is not None for s in source):
            return None
        # a part may only start at a page break: a flowing sheet joins the part before it
        merged, src = [], []
        for run, s in zip(runs, source):
            if merged and run[0].id in self.flows:
                merged[-1] += run
                src[-1] = None
            else:
                merged.append(run)
                src.append(s)
        self.runs = merged
        return [(None, 0)] + [(self.part(k + 1), None) if s is None else (None, s)
                              for k, s in enumerate(src)]


def _top(part) -> float:
    """The highest anchor on any page of a laid-out part: the top of its content area."""
    return min((a[2] for a in part.anchors.values()), default=0.0)


def split_parts(template: str, page, paper: str, part_cost: float = PART_COST) -> list[str]:
    """A print page (with ``sheets``, ``front``, ``last``) rendered as parts: the front
    matter, then each run of sheets (:func:`plan_parts`), every part a whole document."""
    return PrintPlan(template, page, paper, plan_parts(list(page.sheets), part_cost), {}).parts()
