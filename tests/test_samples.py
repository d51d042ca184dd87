"""sample_reports/ holds the current reports of every bundled example (make samples).

They are the gold copies (HTML in test_html.py), each compared by
:func:`.gold.compare`, which prints a diff and keeps the actual output.
Text formats must match byte for byte once the tool versions and the
model hash are scrubbed.  A PDF's bytes also depend on the machine's Pango
and HarfBuzz (text shaping and placement), which the project cannot pin,
so for PDFs the test compares what a reader gets: the pages, the text of
every page, the outline and where every link leads.  Byte
reproducibility of the PDF itself is tested in test_pdf.py, on both
font-subsetting paths.
"""

import os

import pytest

from qreport.pipeline import analyse_file, render, render_diff

from . import pdfcheck as C
from .conftest import EXAMPLES, ROOT
from .gold import compare

FORMATS = ["json", "pdf", "md", "yml"]
DIFF_FORMATS = ["json", "md", "html", "pdf"]


def _gold(name):
    return os.path.join(ROOT, "sample_reports", name)


@pytest.fixture(scope="module")
def analysed(example_paths):
    return {e: analyse_file(example_paths[e]) for e in EXAMPLES}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_sample_report_is_current(name, fmt, analysed, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    compare(render(*analysed[name], fmt), _gold(f"{name}.{fmt}"),
            view=C.view if fmt == "pdf" else None)


def test_auto_po2_export_is_current(example_paths):
    """sample_reports/jet_mlp_po2.yml: every layer's scale and bias in an ApplyAlpha node."""
    path = os.path.join(os.path.dirname(example_paths["jet_mlp"]), "jet_mlp_po2.keras")
    compare(render(*analyse_file(path), "yml"), _gold("jet_mlp_po2.yml"))


@pytest.fixture(scope="module")
def jet_diff(analysed, example_paths):
    from qreport.review.diff import diff

    v2 = analyse_file(os.path.join(os.path.dirname(example_paths["jet_mlp"]), "jet_mlp_v2.keras"))
    (old, old_meta), (new, new_meta) = analysed["jet_mlp"], v2
    return diff(old, new), old_meta, new_meta


@pytest.mark.parametrize("fmt", DIFF_FORMATS)
def test_sample_diff_is_current(fmt, jet_diff, monkeypatch):
    """sample_reports/diff_jet_mlp.*: jet_mlp against jet_mlp_v2 (fc2 at 8 bits, output at 4)."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    compare(render_diff(*jet_diff, fmt), _gold(f"diff_jet_mlp.{fmt}"),
            view=C.view if fmt == "pdf" else None)


def test_compare_prints_a_diff_and_keeps_the_actual_output(tmp_path):
    import tests.gold as G

    gold = tmp_path / "g.md"
    gold.write_bytes(b"a\nb\nc\n")
    compare(b"a\nb\nc\n", str(gold))
    with pytest.raises(AssertionError) as e:
        compare(b"a\nB\nc\n", str(gold))
    kept = os.path.join(G.ACTUAL, "g.md")
    assert "-b\n+B" in str(e.value) and "make update-gold" in str(e.value)
    with open(kept, "rb") as f:
        assert f.read() == b"a\nB\nc\n"
    os.unlink(kept)
