"""sample_reports/ holds the current reports of every bundled example (make samples)."""

import os

import pytest

from qreport.build import Options, analyse_file, render

from .conftest import EXAMPLES, ROOT

FORMATS = ["json", "html", "pdf"]


@pytest.fixture(scope="module")
def analysed(example_paths):
    return {e: analyse_file(example_paths[e], Options()) for e in EXAMPLES}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", EXAMPLES)
def test_sample_report_is_current(name, fmt, analysed, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    path = os.path.join(ROOT, "sample_reports", f"{name}.{fmt}")
    assert os.path.exists(path), f"{path} missing: run make samples"
    facts, meta = analysed[name]
    fresh = render(facts, meta, fmt, Options())
    with open(path, "rb") as f:
        assert f.read() == fresh, f"{path} is stale: run make samples and review the diff"
