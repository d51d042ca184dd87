"""qreport compare: one row per model, figures from each model's own report, the Pareto front."""

import csv
import io
import json
import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qreport.cli import main
from qreport.review.compare import pareto

from .conftest import ROOT

SWEEP = ["example:jet_mlp", "example:jet_mlp_v2", "example:jet_mlp_po2", "example:conv1d"]


def _front_by_sweep(points):
    """The front by the textbook sweep: sort by x then y, keep each point below every y so far."""
    order = sorted(range(len(points)), key=lambda i: points[i])
    on, best = [False] * len(points), None
    for k, i in enumerate(order):
        x, y = points[i]
        if best is None or y < best:
            # equal points share their place on the front
            on[i] = True
            best = y
        elif y == best and k and points[order[k - 1]] == points[i] and on[order[k - 1]]:
            on[i] = True
    return on


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=12))
def test_pareto_front_equals_the_sweep(points):
    assert pareto([(float(x), float(y)) for x, y in points]) == _front_by_sweep(points)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweep")
    out = {}
    for ext in ("json", "csv", "md", "html"):
        assert main(["compare", *SWEEP, "-o", str(d / f"s.{ext}"), "--max-weight-memory",
                     "27000bits", "--quiet"]) == 0
        out[ext] = (d / f"s.{ext}").read_text()
    reports = {}
    for m in SWEEP:
        p = d / f"{m.split(':')[1]}.json"
        assert main(["build", "--example", m.split(":")[1], "-o", str(p)]) == 0
        reports[m] = json.loads(p.read_text())
    return out, reports


def test_json_rows_are_each_models_own_figures(sweep):
    import jsonschema

    out, reports = sweep
    data = json.loads(out["json"])
    with open(os.path.join(ROOT, "qreport", "schema", "qreport-compare-1.schema.json")) as f:
        jsonschema.validate(data, json.load(f))
    assert [r["file"] for r in data["models"]] == [f"{m.split(':')[1]}.keras" for m in SWEEP]
    for row, m in zip(data["models"], SWEEP):
        t, model = reports[m]["totals"], reports[m]["model"]
        assert row["name"] == f"{m.split(':')[1]}@{model['sha256'][:8]}"
        assert row["macs"] == t["macs"] and row["bops"] == t["bops"]
        assert row["weight_memory_bits"] == t["weight_bits"] + t["bias_bits"]
        assert row["widest_accumulator_bits"] == t["widest_accumulator"]["width"]
        assert row["bits_saved"] == t["bits_saved"] and row["energy_pj"] == t["energy_pj"]
        # the budget verdict is qreport check's
        code = main(["check", m, "--max-weight-memory", "27000bits"])
        assert row["within_budget"] is (code == 0)
    pts = [(r["weight_memory_bits"], r["energy_pj"]) for r in data["models"]]
    assert [r["pareto"] for r in data["models"]] == _front_by_sweep(pts)


def test_csv_md_html(sweep):
    out, _ = sweep
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    assert len(rows) == len(SWEEP) and rows[0]["name"].startswith("jet_mlp@")
    assert out["md"].count("\n| `") == len(SWEEP)
    html = out["html"]
    assert 'id="sweep"' in html and "aria-sort" in html and "<svg" in html
    scripts = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1 and "jet_mlp" not in scripts[0]   # no model string in the script
    assert html.count('data-v="') >= len(SWEEP) * 6


def test_a_bad_model_is_one_line_and_the_others_compared(tmp_path, capfd):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"no")
    out = tmp_path / "s.json"
    assert main(["compare", "example:jet_mlp", str(bad), "example:conv1d", "-o", str(out)]) == 1
    err = capfd.readouterr().err   # the line goes to the real stderr, file descriptor 2
    assert err.count("\n") == 1 and "bad.keras" in err
    assert len(json.loads(out.read_text())["models"]) == 2


def test_unknown_figure_is_refused(tmp_path, capsys):
    assert main(["compare", "example:jet_mlp", "-o", str(tmp_path / "s.json"), "--x", "luts"]) == 1
    assert "'luts' is not a figure" in capsys.readouterr().err
