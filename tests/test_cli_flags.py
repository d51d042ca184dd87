"""One CLI: every subcommand that reads a model takes the same flags, meaning the same thing."""

import json

import numpy as np
import pytest

from qreport.cli import _parser, main

MODEL_COMMANDS = ("build", "summary", "check", "diff")
SHARED = ("--input-quantizer", "--sample", "--unsafe-load", "--weights", "--custom-objects",
          "--quiet", "--debug")


def _argv(cmd, model, tmp_path, fmt="json"):
    return {"build": ["build", model, "-o", str(tmp_path / f"r.{fmt}")],
            "summary": ["summary", model],
            "check": ["check", model, "--max-macs", "100000000"],
            "diff": ["diff", model, model, "-o", str(tmp_path / f"d.{fmt}")]}[cmd]


def test_every_model_command_declares_every_shared_flag():
    sub = next(a for a in _parser()._actions if a.dest == "command").choices
    for cmd in MODEL_COMMANDS:
        flags = {o for a in sub[cmd]._actions for o in a.option_strings}
        assert set(SHARED) <= flags, (cmd, set(SHARED) - flags)
    assert "--quiet" in {o for a in sub["examples"]._actions for o in a.option_strings}


@pytest.mark.parametrize("cmd", MODEL_COMMANDS)
def test_every_shared_flag_works_on_every_command(cmd, example_paths, tmp_path, capsys):
    """The same flags, all at once, on each command; each one's effect is checked."""
    model = example_paths["jet_mlp"]
    sample = tmp_path / "x.npy"
    np.save(sample, np.random.default_rng(0).uniform(-1, 1, (8, 16)).astype("float32"))
    shared = ["--input-quantizer", "jets=quantized_bits(8,0,1)", "--sample", str(sample),
              "--unsafe-load", "--quiet", "--debug"]
    assert main(_argv(cmd, model, tmp_path) + shared) in (0,)
    out = capsys.readouterr()
    assert out.err == ""                                  # --quiet: no progress line
    if cmd == "build":
        r = json.loads((tmp_path / "r.json").read_text())
        assert r["model"]["sample"] == "x.npy"            # --sample
        assert r["model"]["inputs"][0]["type"]["config"] == "quantized_bits(8,0,1)"
        assert r["layers"][0]["accumulator"]["sampled"] is not None
    if cmd == "diff":
        d = json.loads((tmp_path / "d.json").read_text())
        assert d["new"]["sample"] == "x.npy" and d["new"]["inputs"][0]["assumed"] is False
    if cmd == "summary":
        assert "fc1" in out.out and "assumed" not in out.out
    if cmd == "check":
        assert "within budget" in out.out


@pytest.mark.parametrize("cmd", MODEL_COMMANDS)
def test_the_same_bad_flag_gets_the_same_line_everywhere(cmd, example_paths, tmp_path, capsys):
    model = example_paths["jet_mlp"]
    lines = set()
    for bad in (["--input-quantizer", "quantized_bits(8,0,1"], ["--weights", "w.h5"],
                ["--custom-objects", "c.py"]):
        assert main(_argv(cmd, model, tmp_path) + bad) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("qreport: error: "), err
        lines.add((bad[0], err.split(":", 2)[-1].strip()[:40]))
    assert len(lines) == 3
    # --custom-objects needs --unsafe-load, said with the flags' names
    main(_argv(cmd, model, tmp_path) + ["--custom-objects", "c.py"])
    err = capsys.readouterr().err
    assert "--custom-objects" in err and "--unsafe-load" in err, err


@pytest.mark.parametrize("cmd", ["build", "diff"])
@pytest.mark.parametrize("fmt", ["json", "md"])
def test_writers_take_quiet_and_debug_in_either_place(cmd, fmt, example_paths, tmp_path, capsys):
    model = example_paths["jet_mlp"]
    assert main(["--debug"] + _argv(cmd, model, tmp_path, fmt) + ["--quiet"]) == 0
    assert main(_argv(cmd, model, tmp_path, fmt) + ["--debug", "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_errors_name_the_python_spelling_outside_the_cli(example_paths):
    from qreport.errors import QReportError
    from qreport.options import LoadOptions
    from qreport.read import load_file

    with pytest.raises(QReportError) as e:
        load_file(example_paths["jet_mlp"], LoadOptions(custom_objects="c.py"))
    assert "unsafe_load=True" in str(e.value) and "--" not in str(e.value)
