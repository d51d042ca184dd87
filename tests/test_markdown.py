"""The Markdown report (-o report.md): content, the length limit, and no injection.

Rendered by markdown-it-py with GitHub's extensions (tables, autolinks of
bare URLs, raw HTML passed through): an independent reader of the text.
"""

from __future__ import annotations

import re

import keras
import pytest
from markdown_it import MarkdownIt

from qreport.analysis.model import analyse
from qreport.options import Options
from qreport.pipeline import analyse_file
from qreport.cli import main
from qreport.render.markdown import LIMIT, markdown
from qreport.provenance import Provenance

# (Keras refuses "/" in a name)
HOSTILE = ["x](http:evil.example)", "<img src=x onerror=alert(1)>", "www.evil.example",
           "a|b", "``**b**``", "# h", "l1\n- item", "<script>alert(1)", "[c][d]"]


def _html(text: str) -> str:
    return MarkdownIt("gfm-like").render(text)


def _hostile_model():
    from qkeras import QActivation, QDense, quantized_bits

    x = keras.Input((4,), name=HOSTILE[0])
    h = x
    for i, name in enumerate(HOSTILE[1:]):
        if i % 2:
            h = QActivation("quantized_relu(4,0)", name=name)(h)
        else:
            h = QDense(4, kernel_quantizer=quantized_bits(4, 0, alpha=1), name=name)(h)
    return keras.Model(x, h, name="<b>m")


def test_model_strings_cannot_inject_markdown_html_or_links():
    m = _hostile_model()
    facts = analyse(m)
    meta = Provenance(m.name, "[f](http://x.example).keras", "0" * 64, "3", "1", "0")
    text = markdown(facts, meta)
    html = _html(text)
    assert "<a " not in html and "<img" not in html and "<script" not in html and "<b>" not in html
    assert "<h1" not in html and "<h4" not in html  # no heading but the report's own
    # every layer row keeps its eleven cells, and every name is shown whole, in code
    table = html.split("<h3>Layers</h3>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == len(facts.layers) == len(HOSTILE) - 1
    for row, layer in zip(rows, facts.layers):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert len(cells) == 15, cells
        shown = layer.name.replace("\n", " ")
        esc = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        assert f"<code>{esc}</code>" in cells[1], (cells[1], esc)


def test_examples_carry_the_figures_tables_and_warnings(example_paths):
    facts, meta = analyse_file(example_paths["jet_mlp"], Options())
    text = markdown(facts, meta)
    html = _html(text)
    for h in ("What quantization buys", "Totals", "Layers", "Warnings"):
        assert f"<h3>{h}</h3>" in html
    assert "**13 bits** of accumulator saved" in text and "4,256" in text
    assert "| 1 | `fc1` | `QDense` | `smult_6_8` | 1,024 | 1,024 | 6,144 | `ap_fixed<17,4>` | " \
           "`ap_fixed<19,6>` | 2 |" in text
    assert "assumed default" in text and len(text) < LIMIT


@pytest.mark.parametrize("short", [60, 300, 450])
def test_long_tables_are_cut_with_a_line_that_says_so(example_paths, short):
    facts, meta = analyse_file(example_paths["cnn"], Options())
    full = markdown(facts, meta)
    limit = len(full) - short
    text = markdown(facts, meta, limit=limit)
    assert len(text) <= limit
    shown = len(re.findall(r"^\| \d+ \|", text, re.M))
    left = len(facts.layers) - shown
    assert 0 < left < len(facts.layers)
    assert f"*{left} more layer{'s' if left != 1 else ''} left out to stay under {limit:,} " \
           "characters" in text
    assert "### Warnings" in text


def test_cli_writes_markdown(example_paths, tmp_path):
    out = tmp_path / "r.md"
    assert main(["build", example_paths["conv1d"], "-o", str(out), "--quiet"]) == 0
    assert out.read_text().startswith("## qreport datasheet: `signal_conv1d`")
