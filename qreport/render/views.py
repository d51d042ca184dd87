"""The page data of the HTML and PDF datasheets: frozen views of strings.

Every number is formatted here (by :mod:`.text`'s rules); the templates
only lay out strings they are given (coverage.py's split).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup

from ..analysis.facts import DEFAULT_INPUT, ModelFacts
from ..provenance import Provenance, source_datetime
from . import text as T
from .figures import Charts, ChartView, hardware_chart, model_charts
from .hardware import HardwareView, hardware_view
from .sheets import LayerView, layer_view, sort_keys  # noqa: F401  (the page's parts)

SHEETS = ("all", "mac", "none")


@dataclass(frozen=True)
class InputView:
    """One model input on the cover."""

    name: str
    shape: str
    config: str
    fixed: str
    range: str
    assumed: bool


@dataclass(frozen=True, kw_only=True)
class PrintPage:
    """What every page cut into PDF parts has (:func:`.html.split_parts`): its sheets,
    the embedded JSON, and where in the document a part lies."""

    sheets: tuple[LayerView, ...]
    sheets_note: str
    json: Markup | None
    front: bool = True
    last: bool = True
    energy_caveat: str = T.ENERGY_CAVEAT


@dataclass(frozen=True)
class Page(PrintPage):
    """Everything the template shows, as strings (and a few flags)."""

    title: str
    prov: Provenance
    media: str
    paper: str
    date: str | None
    default_input: str
    inputs: tuple[InputView, ...]
    summary: T.Summary
    warnings: tuple[str, ...]
    layers: tuple[LayerView, ...]
    charts: tuple[ChartView, ...]
    toc_class: str
    kind: str = "datasheet"
    hardware: HardwareView | None = None
    hardware_chart: ChartView | None = None
    script: TableScript | None = None      # screen: the sort/filter script and its CSP hash


@dataclass(frozen=True)
class TableScript:
    """The one script a screen report runs (templates/table.js, sorting and
    filtering the tables from the DOM), and the Content-Security-Policy that
    lets it, and nothing else, run: no other script, no network, no file."""

    code: Markup
    csp: str


@lru_cache(maxsize=1)
def table_script() -> TableScript:
    import base64
    import hashlib

    from .html import _template_source   # html imports this module

    code = _template_source("table.js")
    if "</" in code:
        raise ValueError("table.js must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode()
    return TableScript(Markup(code), f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                                     f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'")


def sheets_note(facts: ModelFacts, sheets: str) -> str:
    """The cover's statement of which layer sheets the document carries."""
    n = len(facts.layers)
    mac = sum(1 for l in facts.layers if l.operations)
    if sheets == "none":
        return f"none (summary only, --sheets none); {n} layers in the table below"
    if sheets == "mac":
        return (f"{mac} layers with MACs; {n - mac} layers without arithmetic left out "
                f"(--sheets mac)")
    return f"all {n} layers: {mac} with MACs (full sheets), {n - mac} without (compact sheets)"


def page_data(facts: ModelFacts, prov: Provenance, data: dict | None, media: str = "screen",
              paper: str = "a4", chart: Charts | None = None, sheets: str = "all") -> Page:
    """Everything the template shows, as a :class:`Page` of strings.

    Args:
        facts: the analysis.
        prov: where the facts came from (name, file, sha256, versions, sample).
        data: the JSON report to embed (None: no embedded JSON, for the PDF).
        media: ``screen`` or ``pdf``.
        paper: ``a4`` or ``letter``.
        chart: places chart SVGs (None: no charts).
        sheets: the layer sheets: ``all``, ``mac`` (layers with MACs) or ``none``.

    Raises:
        ValueError: ``sheets`` is none of those.
    """
    if sheets not in SHEETS:
        raise ValueError(f"sheets must be one of {', '.join(SHEETS)}")
    layers = tuple(layer_view(i, l, chart, sheets == "all" or (sheets == "mac" and bool(l.operations)))
                   for i, l in enumerate(facts.layers))
    when = source_datetime()
    shown = tuple(v for v in layers if v.sheet)
    return Page(
        title=prov.name, prov=prov, media=media, paper=paper,
        date=when.strftime("%Y-%m-%d %H:%M UTC") if when is not None else None,
        default_input=DEFAULT_INPUT,
        inputs=tuple(InputView(i.name, T.shape(i.shape), i.type.config, i.type.fixed or "float",
                               T.interval(i.type.min, i.type.max), i.assumed) for i in facts.inputs),
        summary=T.summary(facts), warnings=tuple(facts.warnings), layers=layers, sheets=shown,
        sheets_note=sheets_note(facts, sheets),
        charts=model_charts(facts, chart) if chart is not None else (),
        # a short contents shares the cover's page instead of starting one
        toc_class="short" if len(shown) <= 20 else "long" if len(shown) > 60 else "",
        hardware=hardware_view(facts, {v.name: v.id for v in shown}),
        hardware_chart=hardware_chart(facts, chart) if chart is not None else None,
        script=table_script() if media == "screen" else None,
        json=Markup(script_json(data)) if data is not None else None)


def script_json(data: dict) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' that could close the block."""
    s = json.dumps(data, indent=None, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return s.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
