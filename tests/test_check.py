"""qreport check: every budget in and over, from flags and TOML; exit codes and JSON."""

from __future__ import annotations

import json

import pytest

from qreport.review.budget import Budget, check, parse_size
from qreport.cli import main


def _run(capsys, *args):
    code = main(["check", "example:jet_mlp", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# jet_mlp, by hand from its JSON: bounds fc1 17, fc2 15, fc3 15, output 14 bits;
# 4,256 MACs; 25,536 weight bits + 798 bias bits = 26,334 bits; input assumed;
# energy 2,394.700024 pJ (QTools' 2,438 pJ less 43.6 pJ of narrower adds: test_energy.py).
@pytest.mark.parametrize("flags,over", [
    (["--max-accumulator-bits", "17"], []),
    (["--max-accumulator-bits", "16"], ["fc1: accumulator ap_fixed<17,4> is 17 bits > limit 16 bits"]),
    (["--max-accumulator-bits", "14"], ["fc1:", "fc2:", "fc3:"]),
    (["--max-macs", "4256"], []),
    (["--max-macs", "4255"], ["model: 4,256 MACs > limit 4,255"]),
    (["--max-weight-memory", "26334bits"], []),
    (["--max-weight-memory", "26333 bits"], ["model: weight memory (weights + bias) 26,334 bits > "
                                             "limit 26,333 bits"]),
    (["--max-weight-memory", "4KiB"], []),      # 32,768 bits
    (["--max-weight-memory", "3KiB"], ["limit 24,576 bits (3.00 KiB)"]),
    (["--max-energy-pj", "2394.71"], []),
    (["--max-energy-pj", "2394.69"], ["model: estimated energy 2,394.70 pJ per inference > "
                                      "limit 2,394.69 pJ"]),
    (["--require-input-quantizer", "--input-quantizer", "quantized_bits(8,0,1)"], []),
    (["--require-input-quantizer"], ["input jets: type assumed (quantized_relu(8,0))"]),
])
def test_each_budget_in_and_over(capsys, flags, over):
    code, out, err = _run(capsys, *flags)
    lines = out.splitlines()
    assert err == ""
    assert code == (3 if over else 0)
    assert len(lines) == len(over) + 1, lines        # one line per violation, then the verdict
    for line, want in zip(lines, over):
        assert line.startswith(want) or want in line, (line, want)
    assert lines[-1] == ("qreport check: jet_mlp: " +
                         (f"over budget ({len(over)} violation{'s' if len(over) != 1 else ''})"
                          if over else "within budget"))


def test_budget_file_and_flags_over_it(capsys, tmp_path):
    f = tmp_path / "budget.toml"
    f.write_text('max_accumulator_bits = 16\nmax-macs = 100000\nmax_weight_memory = "64KiB"\n'
                 'max_energy_pj = 2500\nrequire_input_quantizer = false\n')
    code, out, _ = _run(capsys, "--budget", str(f))
    assert code == 3 and out.startswith("fc1: accumulator")
    code, out, _ = _run(capsys, "--budget", str(f), "--max-accumulator-bits", "17")
    assert code == 0 and out == "qreport check: jet_mlp: within budget\n"
    code, out, _ = _run(capsys, "--budget", str(f), "--max-accumulator-bits", "17",
                        "--max-energy-pj", "2000")
    assert code == 3 and out.startswith("model: estimated energy 2,394.70 pJ")


def test_json_verdict(capsys):
    code, out, _ = _run(capsys, "--max-accumulator-bits", "15", "--max-macs", "5000",
                        "--format", "json")
    d = json.loads(out)
    assert code == 3 and d["schema"] == "qreport-check/1" and d["within_budget"] is False
    assert d["budget"]["max_accumulator_bits"] == 15 and d["budget"]["max_macs"] == 5000
    assert [(v["layer"], v["figure"], v["value"], v["limit"]) for v in d["violations"]] == \
        [("fc1", "accumulator bits", 17, 15)]
    assert d["model"]["file"] == "jet_mlp.keras"


@pytest.mark.parametrize("args,msg", [
    ([], "no budget given"),
    (["--max-weight-memory", "300"], "give a number and a unit"),
    (["--max-weight-memory", "1.5bits"], "whole number of bits"),
    (["--max-macs", "-1"], "not a whole number"),
    (["--max-energy-pj", "-1"], "not a number of pJ"),
    (["--max-energy-pj", "nan"], "not a number of pJ"),
    (["--budget", "/nonexistent.toml"], "--budget"),
])
def test_usage_errors_exit_2(capsys, args, msg):
    with pytest.raises(SystemExit) as e:
        main(["check", "example:jet_mlp", *args])
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_bad_budget_files_exit_2(capsys, tmp_path):
    for text, msg in (("max_macs = [", "not TOML"), ("max_energy = 3", "unknown key 'max_energy'"),
                      ('max_macs = "many"', "not a whole number"),
                      ('max_energy_pj = "2 nJ"', "not a number of pJ"),
                      ("require_input_quantizer = 1", "not true or false")):
        f = tmp_path / "b.toml"
        f.write_text(text)
        with pytest.raises(SystemExit) as e:
            main(["check", "example:jet_mlp", "--budget", str(f)])
        assert e.value.code == 2 and msg in capsys.readouterr().err, text


def test_bad_model_exits_1(capsys, tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    assert main(["check", str(bad), "--max-macs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qreport: error:") and len(err.splitlines()) == 1


def test_an_accumulator_without_width_is_over_any_limit():
    import keras
    from qkeras import QDense

    from qreport.analysis.model import analyse

    x = keras.Input((3,), name="x")
    f = analyse(keras.Model(x, QDense(2, name="d")(x)))     # float kernel
    (v,) = check(f, Budget(max_accumulator_bits=64))
    assert v.layer == "d" and v.value is None and "no fixed width" in v.message


@pytest.mark.parametrize("text,bits", [("64KiB", 524288), ("1.5 MiB", 12582912), ("512B", 4096),
                                       ("12000 bits", 12000), ("2kB", 16000), ("1 Kib", 1024)])
def test_sizes(text, bits):
    assert parse_size(text) == bits
