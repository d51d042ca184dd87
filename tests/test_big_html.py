"""The HTML of the big bench model (MobileNetV2-like, 122 layers): a document a reviewer can work in.

The model is built in memory by bench/models.py (nothing is read from
bench/models/).  The markup test always runs; the behaviour test runs the
shipped script in headless Chromium when the machine has one.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

import pytest

from qreport.analysis.model import analyse
from qreport.contract import report as report_dict
from qreport.provenance import Provenance
from qreport.render.html import render_html

from .conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "bench"))
import models as bench_models  # noqa: E402


@pytest.fixture(scope="module")
def big():
    import keras

    keras.utils.set_random_seed(0)
    m = bench_models.mobilenet(1.0, "mobilenet")
    bench_models._weights(m, 0)
    facts = analyse(m)
    prov = Provenance("mobilenet", "mobilenet.keras", "0" * 64, "k", "q", "r")
    return facts, render_html(facts, prov, report_dict(facts, prov))


class _Doc(HTMLParser):
    """Elements with their attributes, and each script's type and text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements, self.scripts, self._script = [], [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "script":
            self._script = [a.get("type"), ""]

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(tuple(self._script))
            self._script = None


def _find(doc, tag, **want):
    return [a for t, a in doc.elements if t == tag and all(
        (k.replace("_", "-") in a) if v is True else a.get(k.replace("_", "-")) == v for k, v in want.items())]


def test_big_model_html_has_table_sidebar_sort_filter_and_no_model_string_in_scripts(big):
    facts, html = big
    assert len(facts.layers) == 122
    doc = _Doc()
    doc.feed(html)
    # the layer table: sortable, in its own scroll box, a header per sort/filter key
    table, = _find(doc, "table", id="layer-table")
    assert "sortable" in table["class"].split()
    assert _find(doc, "div", **{"class": "table-scroll"})
    keys = [a["data-key"] for t, a in doc.elements if t == "th" and "data-key" in a]
    assert keys == ["n", "layer", "class", "op", "macs", "weights", "wbits", "acc", "hls", "saved"]
    assert "position: sticky" in html        # the header stays in view
    rows = html.split('id="layer-table"')[1].split("<tbody>")[1].split("</tbody>")[0].count("<tr>")
    assert rows == 122
    # every sort value is a number qreport wrote, never a string from the model
    values = [a["data-v"] for t, a in doc.elements if "data-v" in a]
    assert len(values) == 122 * 7 and all(re.fullmatch(r"-?[0-9]*", v) for v in values)
    # the filter box, hidden until the script shows it (readable with JavaScript off)
    box, = _find(doc, "input", id="layer-filter")
    assert box["data-filter"] == "layer-table" and box["type"] == "search"
    assert _find(doc, "div", **{"class": "table-tools", "hidden": True})
    # the sidebar: a link to every sheet, in order
    nav = html.split('<nav class="sidebar"')[1].split("</nav>")[0]
    links = re.findall(r'href="#(layer-[0-9]+)"', nav)
    assert links == [f"layer-{i}" for i in range(122)]
    assert all(f'id="layer-{i}"' in html for i in range(122))
    # scripts: the JSON data block and the shipped script, byte for byte, which the
    # Content-Security-Policy lets run; no model string is inside either executable text
    js = open(os.path.join(ROOT, "templates", "table.js"), encoding="utf-8").read()
    assert [t for t, _ in doc.scripts] == ["application/json", None]
    data, code = doc.scripts[0][1], doc.scripts[1][1]
    assert code == js
    names = {l.name for l in facts.layers} | {l.class_name for l in facts.layers}
    assert not [n for n in names if n in code]
    assert "<" not in data and json.loads(data)["layers"][0]["name"] == "stem"
    csp, = _find(doc, "meta", http_equiv="Content-Security-Policy")
    assert "default-src 'none'" in csp["content"] and "script-src 'sha256-" in csp["content"]
    # the model charts: rows (one per layer) with no overlapping labels (bench has 56 weight layers)
    charts = html.split('id="charts"')[1].split("</section>")[0]
    assert charts.count('class="chart rows"') == 4


def test_hostile_names_stay_text_in_sidebar_and_table():
    import keras
    from qkeras import QDense, quantized_bits

    x = keras.Input((4,), name="x")
    d = QDense(3, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="d")
    m = keras.Model(x, d(x), name="m")
    d.name = '</script><script>alert(1)</script>"onmouseover="x'
    facts = analyse(m)
    prov = Provenance("m", "m.keras", "0" * 64, "k", "q", "r")
    html = render_html(facts, prov, report_dict(facts, prov))
    assert "<script>alert(1)" not in html and "</script><script>" not in html
    nav = html.split('<nav class="sidebar"')[1].split("</nav>")[0]
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#34;onmouseover=&#34;x" in nav


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium on this machine")
def test_filter_and_sort_run_in_chromium(big, tmp_path):
    """The shipped script, run by Chromium: ``acc>12 conv`` then MACs descending.

    Checked against the facts (not the DOM): the rows left are the layers
    whose class contains "conv" (or name/operation does) with a bound wider
    than 12 bits, in MACs order.
    """
    facts, html = big
    # the test's own driver needs the CSP lifted; the shipped script is unchanged
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace("</body>", """
<script>
var f = document.getElementById("layer-filter");
f.value = "acc > 12  conv"; f.dispatchEvent(new Event("input"));
var b = document.querySelector('th[data-key="macs"] button'); b.click(); b.click();
document.body.setAttribute("data-count", document.getElementById("layer-count").textContent);
</script></body>""")
    p = tmp_path / "big.html"
    p.write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update",
                              "--disable-sync", f"--user-data-dir={profile}", "--dump-dom", p.as_uri()],
                             capture_output=True, text=True, timeout=120).stdout
    body = out.split('id="layer-table"')[1].split("</tbody>")[0]
    shown = [re.search(r'<td class="n" data-v="([0-9]+)"', r).group(1)
             for r in body.split("<tr")[2:] if " hidden" not in r.split(">")[0]]
    want = [l for l in facts.layers if l.accumulator is not None and l.accumulator.bound is not None
            and (l.accumulator.bound.width or 32) > 12 and any(
                "conv" in s.lower() for s in (l.name, l.class_name, *(o.name for o in l.operations)))]
    want = sorted(want, key=lambda l: (-l.counts.macs, facts.layers.index(l)))
    assert shown == [str(facts.layers.index(l) + 1) for l in want]
    assert f'data-count="{len(want)} of 122 layers"' in out
    assert 'aria-sort="descending"' in out
