"""The charts, drawn by Matplotlib: a team's style reaches them, they are the same bytes
every time and in any order, and they keep what the hand-drawn charts promised (a row per
layer that never overlaps the next, grouping past 64 rows said in the caption, shortened
labels whose full names stay in a <title>, axes past the longest bar, SI ticks, escaping)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import matplotlib
import pytest

from qreport.cli import main
from qreport.render import charts, mpl
from qreport.render.canvas import Canvas
from qreport.render.mpl import Spec, draw, for_print

from .conftest import ROOT

HOSTILE = '</svg><script>alert(1)</script>&"x'


def _canvas(style=()):
    params = mpl.rc(style)
    ctx = matplotlib.rc_context(params)
    ctx.__enter__()
    return Canvas(params), ctx


def _rows_spec(n: int, name=lambda i: f"layer_{i}"):
    names = [name(i) for i in range(n)]
    return Spec("charts", "stacked_by_layer", (names, ["w", "b"], [[i + 1, 1] for i in range(n)],
                                               "bits"), (("width", 3.45),), css_class="chart rows")


@pytest.mark.parametrize("n", [10, 64, 65, 300])
def test_rows_never_overlap_and_group_past_64(n):
    names = [f"conv_{i}" for i in range(n)]
    c, ctx = _canvas()
    try:
        charts.stacked_by_layer(c, names, ["w"], [[float(i)] for i in range(n)], "bits", width=3.45)
        rows = len(charts.group_rows(names).labels)
        assert rows == min(n, 64) or (n > 64 and rows <= 64)
        # the row pitch in points against the label size: a label never reaches the next
        ax_h = c.ax.get_position().height * c.h
        labels = [t for t in c.fig.texts + c.ax.texts if t.get_gid() and t.get_gid().startswith("qr-row-")]
        assert len(labels) == rows
        assert ax_h / rows >= max(t.get_fontsize() for t in labels)
        # the axis ends past the longest (summed) bar, and ticks are SI from 10k up
        group = charts.group_rows(names).members
        longest = max(sum(range(m[0], m[-1] + 1)) for m in group)
        assert c.ax.get_xlim()[1] >= longest * 1.04
    finally:
        c.clear()
        ctx.__exit__(None, None, None)
    note = charts.group_rows(names).note
    assert (note == "") == (n <= 64)
    if n == 300:
        assert note == "300 layers in 60 rows of up to 5 consecutive layers"


def test_si_ticks_and_the_full_name_in_a_title():
    long = "a_very_long_layer_name_that_cannot_fit_beside_its_bar_" * 2
    svg = draw(Spec("charts", "stacked_by_layer", ([long, "b"], ["w"], [[25_000.0], [1.0]], "MACs"),
                    (("width", 3.45),), css_class="chart rows"))
    assert ">20k<" in svg and ">10k<" in svg
    assert f"<title>{long}</title>" in svg
    shown = re.findall(r">(a_very[^<]*)</text>", svg)
    assert shown and "\u2026" in shown[0] and len(shown[0]) < len(long)


def test_hostile_names_are_text_in_the_svg():
    svg = draw(_rows_spec(3, lambda i: HOSTILE if i == 1 else f"l{i}"))
    assert "<script>" not in svg and "</svg><script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;" in svg
    assert svg.count("<svg") == 1 and svg.endswith("</svg>")


def test_same_bytes_in_any_order_and_in_a_fresh_process():
    a, b = _rows_spec(5), Spec("sheetcharts", "channel_widths", (tuple(range(8, 40)), 40, "w"))
    first = draw(a)
    draw(b)
    assert draw(a) == first            # the reused canvas keeps nothing from the chart before
    code = ("from qreport.render.mpl import Spec, draw; import sys; "
            "sys.stdout.write(draw(Spec('charts', 'stacked_by_layer', ([f'layer_{i}' for i in range(5)],"
            " ['w', 'b'], [[i + 1, 1] for i in range(5)], 'bits'), (('width', 3.45),), "
            "css_class='chart rows')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONHASHSEED": "123"}, check=True).stdout
    assert out == first
    assert "Date" not in first and "<metadata" not in first and "<style" not in first


def test_drawing_leaves_the_callers_rc_and_backend_alone():
    """A notebook's own rc and backend are as they were after a chart, and after a
    chart that fails: qreport sets its validated style raw (mpl._rc, which would
    otherwise also write the default template's backend placeholder)."""
    live = matplotlib.rcParams
    old_backend = live._get("backend")
    live._set("backend", "pdf")
    try:
        with matplotlib.rc_context({"axes.facecolor": "#123456", "font.size": 17}):
            before = {k: live._get(k) for k in live.keys()}
            svg = draw(_rows_spec(3))
            with pytest.raises(TypeError):
                draw(Spec("charts", "stacked_by_layer", ("not", "enough")))
            after = {k: live._get(k) for k in live.keys()}
        assert after == before and after["backend"] == "pdf"
        assert "#123456" not in svg            # the chart had its own style
    finally:
        live._set("backend", old_backend)


def test_print_svg_has_no_anchored_text_and_the_pdf_family():
    svg = for_print(draw(_rows_spec(4)))
    assert "text-anchor" not in svg and "'qreport Sans'" in svg and "DejaVu" not in svg


def test_inline_charts_share_no_id(tmp_path):
    out = tmp_path / "r.html"
    assert main(["build", "--example", "cnn", "-o", str(out), "--quiet"]) == 0
    html = out.read_text()
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)) and html.count("<svg") >= 5


def test_a_style_reaches_the_svg_and_builds_are_the_same_bytes(tmp_path):
    style = tmp_path / "ours.mplstyle"
    style.write_text("axes.facecolor : fafad2   # light goldenrod\n"
                     "axes.prop_cycle : cycler('color', ['aa3311', '3377bb'])\n")
    def twice(ext):
        outs = []
        for i in range(2):
            out = tmp_path / f"r{i}.{ext}"
            assert main(["build", "--example", "jet_mlp", "-o", str(out), "--quiet",
                         "--chart-style", str(style)]) == 0
            outs.append(out.read_bytes())
        assert outs[0] == outs[1]
        return outs

    outs = twice("html")
    html = outs[0].decode()
    assert "#fafad2" in html and "#aa3311" in html and "#1d3557" not in html.split('id="charts"')[1]
    plain = tmp_path / "plain.html"
    assert main(["build", "--example", "jet_mlp", "-o", str(plain), "--quiet"]) == 0
    assert "#fafad2" not in plain.read_text()
    twice("pdf")


def test_python_takes_a_style_path():
    from qreport.options import RenderOptions

    path = os.path.join(ROOT, "templates", "qreport.mplstyle")
    opts = RenderOptions(chart_style=path)
    assert ("axes.facecolor", "white") in opts.chart_style
    json.dumps(opts.chart_style)   # plain data: it travels to any worker


def test_a_bad_style_is_one_line_and_writes_nothing(tmp_path, capfd):
    bad = tmp_path / "bad.mplstyle"
    out = tmp_path / "r.html"
    out.write_text("keep me")
    for text in ("axes.facecolr : red\n", "axes.linewidth : thick\n", "just words\n"):
        bad.write_text(text)
        assert main(["build", "--example", "jet_mlp", "-o", str(out), "--chart-style", str(bad)]) == 1
        err = capfd.readouterr().err
        assert err.count("\n") == 1 and "chart style" in err, err
        assert out.read_text() == "keep me"
    assert main(["build", "--example", "jet_mlp", "-o", str(out), "--chart-style",
                 str(tmp_path / "missing.mplstyle")]) == 1
    assert "cannot read" in capfd.readouterr().err
    # a key qreport sets itself: said, and the chart is still drawn
    bad.write_text("figure.figsize : 20, 20\nsvg.fonttype : path\n")
    assert main(["build", "--example", "jet_mlp", "-o", str(out), "--quiet", "--chart-style", str(bad)]) == 0
    err = capfd.readouterr().err
    assert "figure.figsize" in err and "svg.fonttype" in err
    assert "<text" in out.read_text()      # text is still text


def test_a_pdf_build_draws_only_in_its_workers(tmp_path):
    """The parent of a PDF build never draws (Keras itself imports Matplotlib, but not its
    SVG backend); and qreport's renderers import no Matplotlib until a chart is drawn."""
    code = ("import sys; from qreport.cli import main; "
            f"assert main(['build', '--example', 'cnn', '-o', {str(tmp_path / 'r.pdf')!r}, '--quiet']) == 0; "
            "print(sorted(m for m in ('qreport.render.canvas', 'matplotlib.backends.backend_svg') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "QREPORT_JOBS": "2"}, check=True).stdout
    assert out.strip() == "[]"
    code = ("import sys; import qreport.render.html, qreport.render.pdf, qreport.render.figures, "
            "qreport.render.compare, qreport.render.mpl; print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("seed", range(6))
def test_touching_bars_of_one_height_become_one_rectangle(seed):
    """The merged rectangles cover exactly the bars' points (checked on a fine grid
    of sample points, bar by bar), never overlap, and a run of equal bars is one."""
    import numpy as np

    from qreport.render.sheetcharts import _merged

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 600))
    heights = rng.choice([0, 14, 15, 16], size=n, p=[0.05, 0.15, 0.7, 0.1]).tolist()
    xs = list(range(n))
    rects = _merged(xs, heights, 1.0)
    px = np.arange(n * 8) / 8 - 0.5 + 1 / 16             # 8 sample columns per bar
    py = np.array([0.5, 13.9, 14.5, 15.5, 15.9])            # heights to probe
    want = np.array([[y < heights[int(round(x))] for y in py] for x in px])
    got = np.zeros_like(want)
    for x0, y0, w, h in rects:
        inside = ((px >= x0) & (px < x0 + w))[:, None] & ((py >= y0) & (py < y0 + h))[None, :]
        assert not (got & inside).any()
        got |= inside
    assert (got == want).all()
    runs = sum(1 for i, h in enumerate(heights) if h > 0 and (i == 0 or heights[i - 1] != h))
    assert len(rects) == runs
    assert len(_merged(list(range(512)), [15] * 512, 1.0)) == 1


def test_a_wide_layer_draws_a_short_path():
    svg = draw(Spec("sheetcharts", "channel_widths", ((15,) * 300 + (16,) * 212, 16, "width per channel"), ()))
    bars = max(re.findall(r'<path d="([^"]*)"', svg), key=len)
    assert bars.count("M ") <= 4, bars[:200]
