"""sample_reports/ holds the current reports of every bundled example (make samples).

They are the gold copies: JSON, Markdown and the hls4ml configuration here,
HTML in test_html.py (through syrupy).  Text formats must match byte for byte once the tool versions and the model hash
are scrubbed (gold.py).  A PDF's bytes also depend on the
machine's Pango and HarfBuzz (text shaping and placement), which the project
cannot pin, so for PDFs the test compares what a reader gets: the pages,
the text of every page, the outline and where every link leads.  Byte
reproducibility of the PDF itself is tested in test_pdf.py, on both
font-subsetting paths.
"""

import os

import pytest

from qreport.options import Options
from qreport.pipeline import analyse_file, render

from . import pdfcheck as C
from .conftest import EXAMPLES, ROOT
from .gold import scrub

FORMATS = ["json", "pdf", "md", "yml"]


@pytest.fixture(scope="module")
def analysed(example_paths):
    return {e: analyse_file(example_paths[e]) for e in EXAMPLES}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_sample_report_is_current(name, fmt, analysed, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    path = os.path.join(ROOT, "sample_reports", f"{name}.{fmt}")
    assert os.path.exists(path), f"{path} missing: run make samples"
    facts, meta = analysed[name]
    fresh = render(facts, meta, fmt)
    with open(path, "rb") as f:
        old = f.read()
    if fmt == "pdf":
        if old != fresh:   # another Pango/HarfBuzz: the reader's view must still agree
            assert _scrubbed(C.view(old)) == _scrubbed(C.view(fresh)), \
                f"{path} is stale: run make samples and review the diff"
        return
    assert scrub(old.decode()) == scrub(fresh.decode()), \
        f"{path} is stale: run make samples and review the diff"


def _scrubbed(view: dict) -> dict:
    return {**view, "text": [scrub(t) for t in view["text"]]}


DIFF_FORMATS = ["json", "md", "html", "pdf"]


@pytest.fixture(scope="module")
def jet_diff(analysed, example_paths):
    from qreport.review.diff import diff

    v2 = analyse_file(os.path.join(os.path.dirname(example_paths["jet_mlp"]), "jet_mlp_v2.keras"),
                      Options())
    (old, old_meta), (new, new_meta) = analysed["jet_mlp"], v2
    return diff(old, new), old_meta, new_meta


@pytest.mark.parametrize("fmt", DIFF_FORMATS)
def test_sample_diff_is_current(fmt, jet_diff, monkeypatch):
    """sample_reports/diff_jet_mlp.*: jet_mlp against jet_mlp_v2 (fc2 at 8 bits, output at 4)."""
    from qreport.pipeline import render_diff

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    path = os.path.join(ROOT, "sample_reports", f"diff_jet_mlp.{fmt}")
    assert os.path.exists(path), f"{path} missing: run make samples"
    fresh = render_diff(*jet_diff, fmt)
    with open(path, "rb") as f:
        old = f.read()
    if fmt == "pdf":
        if old != fresh:
            assert _scrubbed(C.view(old)) == _scrubbed(C.view(fresh)), \
                f"{path} is stale: run make samples and review the diff"
        return
    assert scrub(old.decode()) == scrub(fresh.decode()), \
        f"{path} is stale: run make samples and review the diff"
