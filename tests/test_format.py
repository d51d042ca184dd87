"""The number formatting rules (render/text.py), stated one by one.

Whole pages are checked by the gold files; these say what each rule is,
so a change to one is a visible decision, not a diff inside a page.
"""

import pytest

from qreport.analysis.facts import AccRange, Accumulator, LayerFacts, FLOAT
from qreport.render import text as T

from .gold import scrub

@pytest.mark.parametrize("v,want", [
    (None, "—"), (0, "0"), (-0.0, "0"), (3, "3"), (1234567, "1\u2009234\u2009567"),
    (-12, "\u221212"), (0.125, "0.125"), (-0.375, "\u22120.375"),
    (2.0 ** -20, "9.5367431640625e\u221207"),     # every digit of a binary fraction
    (1e15, "1000000000000000.0"),                 # beyond the grouped-integer rule: repr
])
def test_num_is_exact(v, want):
    assert T.num(v) == want
    if v not in (None,) and isinstance(v, float) and v:  # and it reads back exactly
        assert float(want.replace("\u2212", "-")) == v

@pytest.mark.parametrize("v,want", [(None, "—"), (0, "0"), (999, "999"), (1000, "1,000"),
                                    (8301312, "8,301,312")])
def test_integer_groups_thousands(v, want):
    assert T.integer(v) == want

@pytest.mark.parametrize("v,want", [
    (None, "—"), (1.0, "2⁰"), (0.25, "2⁻² = 0.25"), (8.0, "2³ = 8"),
    (2.0 ** -6, "2⁻⁶ = 0.015625"),
    (2.0 ** -12, "2⁻¹²"),                        # the decimal would be longer than 10 characters
    (0.3, "0.3"),                                # not a power of two: the number itself
])
def test_pow2_names_the_grid_step(v, want):
    assert T.pow2(v) == want

def test_interval_shape_kib_percent():
    assert T.interval(None, None) == "—"
    assert T.interval(-1.0, 0.875) == "[\u22121, 0.875]"
    assert T.shape((None, 32, 32, 3)) == "(N, 32, 32, 3)"
    assert T.shape(()) == "()"
    assert T.kib(8192) == "1.00 KiB" and T.kib(12_345_678) == "1,507.04 KiB"
    assert T.percent(None) == "" and T.percent(0.0) == "0.0%" and T.percent(1 / 3) == "33.3%"

@pytest.mark.parametrize("v,want", [(0, "0"), (12, "12"), (1500, "1.5k"), (-2000, "-2k"),
                                    (2.5e6, "2.5M"), (3e9, "3G"), (0.5, "0.5")])
def test_si_axis_labels(v, want):
    assert T.si(v) == want

def test_part_label_and_accumulator_cell():
    assert T.part_label("dense", "main") == "dense"
    assert T.part_label("sep", "pointwise") == "sep (pointwise)"

    def layer(acc):
        return LayerFacts("l", "QDense", (), (), (), (), () if acc is None else (_op(acc),),
                          None, FLOAT)

    fixed = AccRange(-4.0, 3.5, 3, 1, 4, True, "ap_fixed<4,3>")
    assert T.accumulator_cell(layer(None)) == ""
    assert T.accumulator_cell(layer(fixed)) == "ap_fixed<4,3>"
    assert T.accumulator_cell(layer(AccRange.unknown("float input"))) == "float"

def _op(bound):
    from qreport.analysis.facts import Operation

    return Operation("main", "mult", "smult_4_8", 1, 1, FLOAT, FLOAT, Accumulator(bound=bound, type=None))

def test_scrub_removes_exactly_the_run_facts():
    page = ('<meta name="generator" content="qreport 0.1.0"><td>Keras 3.15.1 · QKeras 1.2.1 · '
            'qreport 0.1.0</td><code class="hash">' + "ab" * 32 + '</code>'
            '{"sha256":"' + "0" * 64 + '","keras":"3.15.1","macs": 12} ' + "c" * 64)
    assert scrub(page) == ('<meta name="generator" content="qreport *"><td>Keras * · QKeras * · '
                           'qreport *</td><code class="hash">*</code>'
                           '{"sha256": "*","keras": "*","macs": 12} *')
