"""Hostile and broken inputs: one clear line, exit 1, nothing executed, nothing overwritten."""

import json
import os
import zipfile

import numpy as np
import pytest

from qreport.cli import main

MARKER = "/tmp/qreport-pwned"


def rewrite(src, dst, edit=None, members=None):
    """Copy a .keras archive, editing config.json with edit(config) and replacing members."""
    with zipfile.ZipFile(src) as z:
        items = {n: z.read(n) for n in z.namelist()}
    if edit is not None:
        cfg = json.loads(items["config.json"])
        edit(cfg)
        items["config.json"] = json.dumps(cfg).encode()
    items.update(members or {})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in items.items():
            z.writestr(n, data)
    return str(dst)


def layer_cfg(cfg, name):
    for l in cfg["config"]["layers"]:
        if l["config"].get("name") == name:
            return l
    raise KeyError(name)


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("qreport: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


@pytest.fixture(autouse=True)
def no_marker():
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    yield
    assert not os.path.exists(MARKER), "a model string was executed"


@pytest.mark.parametrize("payload", [
    "__import__('os').system('touch /tmp/qreport-pwned')",
    "quantized_bits(__import__('os').system('touch /tmp/qreport-pwned'))",
    "set_internal_sigmoid('real')",
    "get_quantizer('quantized_bits(4)')",
    "os.system('touch /tmp/qreport-pwned')",
])
def test_quantizer_strings_in_config_are_refused_unevaluated(payload, example_paths, tmp_path, capsys):
    def edit(cfg):
        layer_cfg(cfg, "fc1")["config"]["kernel_quantizer"] = payload
    p = rewrite(example_paths["jet_mlp"], tmp_path / "evil.keras", edit)
    assert main(["build", p, "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "refused quantizer string", "kernel_quantizer")


def test_activation_string_of_a_qactivation_is_vetted(example_paths, tmp_path, capsys):
    def edit(cfg):
        layer_cfg(cfg, "relu1")["config"]["activation"] = "quantized_relu(6, __import__('os'))"
    p = rewrite(example_paths["jet_mlp"], tmp_path / "evil.keras", edit)
    assert main(["build", p, "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "refused quantizer string")


def test_literal_quantizer_strings_in_config_still_load(example_paths, tmp_path):
    def edit(cfg):
        layer_cfg(cfg, "fc1")["config"]["kernel_quantizer"] = "quantized_bits(6,0,alpha=1)"
        layer_cfg(cfg, "relu1")["config"]["activation"] = "quantized_relu(6)"
    p = rewrite(example_paths["jet_mlp"], tmp_path / "ok.keras", edit)
    out = tmp_path / "o.json"
    assert main(["build", p, "-o", str(out)]) == 0
    assert json.loads(out.read_text())["layers"][0]["quantizers"]["kernel"]["bits"] == 6


def test_module_outside_keras_is_refused(example_paths, tmp_path, capsys):
    def edit(cfg):
        l = layer_cfg(cfg, "fc1")
        l["config"]["kernel_initializer"] = {"module": "os", "class_name": "system",
                                             "config": {"command": "touch /tmp/qreport-pwned"}}
    p = rewrite(example_paths["jet_mlp"], tmp_path / "evil.keras", edit)
    assert main(["build", p, "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "module 'os'")


@pytest.mark.parametrize("edit", [
    lambda c: c["config"].__setitem__("layers", 5),
    lambda c: c["config"].pop("layers"),
    lambda c: c.__setitem__("config", []),
    lambda c: layer_cfg(c, "fc1")["config"].__setitem__("units", "many"),
    lambda c: layer_cfg(c, "fc1")["config"].__setitem__("units", -3),
    lambda c: layer_cfg(c, "fc1").__setitem__("class_name", 42),
    lambda c: layer_cfg(c, "fc1")["config"].pop("kernel_quantizer"),
    lambda c: c.__setitem__("class_name", "NoSuchModel"),
], ids=["layers-int", "layers-missing", "config-list", "units-str", "units-negative",
        "class-int", "quantizer-missing", "unknown-model-class"])
def test_broken_config_fields(edit, example_paths, tmp_path, capsys):
    p = rewrite(example_paths["jet_mlp"], tmp_path / "bad.keras", edit)
    code = main(["build", p, "-o", str(tmp_path / "o.json")])
    if code == 0:  # Keras may accept some edits (a missing quantizer = float): valid report
        assert json.loads((tmp_path / "o.json").read_text())["schema"] == "qreport/1"
    else:
        assert code == 1
        one_line_error(capsys)


def test_corrupted_weights_member(example_paths, tmp_path, capsys):
    with zipfile.ZipFile(example_paths["jet_mlp"]) as z:
        w = bytearray(z.read("model.weights.h5"))
    w[len(w) // 2: len(w) // 2 + 64] = os.urandom(64)
    p = rewrite(example_paths["jet_mlp"], tmp_path / "w.keras", members={"model.weights.h5": bytes(w)})
    code = main(["build", p, "-o", str(tmp_path / "o.json")])
    assert code in (0, 1)
    if code == 1:
        assert "internal error" not in one_line_error(capsys)


def test_weights_that_overflow_inside_the_quantizer(tmp_path, capsys):
    # qkeras's q(x) works in float32: 1e38 * 2^5 overflows and comes out NaN
    import keras
    from qkeras import QDense, quantized_bits
    x = keras.Input((3,))
    d = QDense(2, kernel_quantizer=quantized_bits(6, 0, alpha=1), name="dense_huge")
    m = keras.Model(x, d(x))
    w, b = d.get_weights()
    w[0, 0] = 1e38
    d.set_weights([w, b])
    m.save(tmp_path / "huge.keras")
    assert main(["build", str(tmp_path / "huge.keras"), "-o", str(tmp_path / "o.json")]) == 1
    err = one_line_error(capsys, "dense_huge", "NaN", "1e+38")
    assert "internal error" not in err
    assert not (tmp_path / "o.json").exists()


def test_zip_bomb_is_refused_before_inflating(tmp_path, capsys):
    p = tmp_path / "bomb.keras"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        z.writestr("model.weights.h5", b"\0" * (300 << 20))  # 300 MiB of zeros, ~300 KiB packed
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "zip bomb")


def test_model_of_zero_layers(tmp_path, capsys):
    import keras
    x = keras.Input((3,))
    p = tmp_path / "empty.keras"
    keras.Model(x, x).save(p)
    out = tmp_path / "o.json"
    assert main(["build", str(p), "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["layers"] == [] and any("nothing to size" in w for w in data["warnings"])


def test_h5_model_loads_and_h5_garbage_is_refused(example_paths, tmp_path, capsys):
    from qreport.read.keras import load_model
    m = load_model(example_paths["jet_mlp"])
    p = tmp_path / "m.h5"
    m.save(p)
    out = tmp_path / "o.json"
    assert main(["build", str(p), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["layers"][0]["name"] == "fc1"
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(2000))
    assert main(["build", str(bad), "-o", str(out)]) == 1
    one_line_error(capsys)


# ------------------------------------------------------------------ --sample

def _sample_case(tmp_path, name, example_paths, capsys, *needles):
    assert main(["build", example_paths["jet_mlp"], "-o", str(tmp_path / "o.json"),
                 "--sample", str(tmp_path / name)]) == 1
    one_line_error(capsys, *needles)


def test_sample_wrong_shape(tmp_path, example_paths, capsys):
    np.save(tmp_path / "s.npy", np.zeros((4, 15), "float32"))
    assert main(["build", example_paths["jet_mlp"], "-o", str(tmp_path / "o.json"),
                 "--sample", str(tmp_path / "s.npy")]) == 1
    one_line_error(capsys, "--sample: ", "shape")
    _sample_case(tmp_path, "s.npy", example_paths, capsys, "shape (4, 15)", "expected (N, 16)")


def test_sample_wrong_dtype(tmp_path, example_paths, capsys):
    np.save(tmp_path / "s.npy", np.array([["a"] * 16] * 2))
    _sample_case(tmp_path, "s.npy", example_paths, capsys, "dtype")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_sample_nan_inf(bad, tmp_path, example_paths, capsys):
    a = np.zeros((3, 16), "float32")
    a[1, 2] = bad
    np.save(tmp_path / "s.npy", a)
    _sample_case(tmp_path, "s.npy", example_paths, capsys, "NaN or Inf")


def test_sample_npz_without_expected_key(tmp_path, example_paths, capsys):
    np.savez(tmp_path / "s.npz", images=np.zeros((2, 16), "float32"))
    _sample_case(tmp_path, "s.npz", example_paths, capsys, "images", "jets")


def test_sample_npz_by_name_and_by_order(tmp_path, example_paths):
    np.savez(tmp_path / "named.npz", jets=np.zeros((2, 16), "float32"))
    np.savez(tmp_path / "ordered.npz", np.zeros((2, 16), "float32"))
    for f in ("named.npz", "ordered.npz"):
        assert main(["build", example_paths["jet_mlp"], "-o", str(tmp_path / "o.json"),
                     "--sample", str(tmp_path / f)]) == 0


def test_sample_pickle_is_never_loaded(tmp_path, example_paths, capsys):
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {MARKER}",))
    np.save(tmp_path / "s.npy", np.array([Evil()], dtype=object), allow_pickle=True)
    _sample_case(tmp_path, "s.npy", example_paths, capsys, "pickle")


def test_sample_empty_and_missing(tmp_path, example_paths, capsys):
    np.save(tmp_path / "e.npy", np.zeros((0, 16), "float32"))
    _sample_case(tmp_path, "e.npy", example_paths, capsys, "empty")
    _sample_case(tmp_path, "missing.npy", example_paths, capsys, "not found")
    (tmp_path / "junk.npy").write_bytes(os.urandom(100))
    _sample_case(tmp_path, "junk.npy", example_paths, capsys, "cannot read sample")


# ------------------------------------------------------------------ output

def test_unwritable_output_location(example_paths, capsys):
    assert main(["build", example_paths["jet_mlp"], "-o", "/proc/qreport-test.json"]) == 1
    one_line_error(capsys, "cannot write report")


def test_bad_input_quantizer_option(example_paths, tmp_path, capsys):
    assert main(["build", example_paths["jet_mlp"], "-o", str(tmp_path / "o.json"),
                 "--input-quantizer", "__import__('os').system('touch /tmp/qreport-pwned')"]) == 1
    one_line_error(capsys, "quantizer")
    assert main(["build", example_paths["jet_mlp"], "-o", str(tmp_path / "o.json"),
                 "--input-quantizer", "nope=quantized_bits(4)"]) == 1
    one_line_error(capsys, "--input-quantizer: ", "nope", "jets")   # the CLI names its flag


def test_non_finite_weights_are_a_clear_error(tmp_path, capsys):
    import keras
    from qkeras import QDense, quantized_bits
    x = keras.Input((3,))
    d = QDense(2, kernel_quantizer=quantized_bits(4, 0, alpha=1), name="dense_nan")
    m = keras.Model(x, d(x))
    w, b = d.get_weights()
    w[0, 0] = np.nan
    d.set_weights([w, b])
    p = tmp_path / "nan.keras"
    m.save(p)
    assert main(["build", str(p), "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "dense_nan", "NaN or Inf")


@pytest.mark.parametrize("role,key,value", [("kernel_quantizer", "symmetric", None),
                                            ("bias_quantizer", "qnoise_factor", [])])
def test_quantizer_config_that_cannot_be_evaluated(role, key, value, example_paths, tmp_path, capsys):
    """Found by the fuzz test: such configs load, then qkeras fails inside
    TensorFlow when the kernel or bias is quantized."""
    def edit(cfg):
        l = next(l for l in cfg["config"]["layers"] if isinstance(l["config"].get(role), dict))
        l["config"][role]["config"][key] = value
    p = rewrite(example_paths["conv1d"], tmp_path / "bad.keras", edit)
    assert main(["build", p, "-o", str(tmp_path / "o.json")]) == 1
    one_line_error(capsys, "cannot be evaluated")
    assert not (tmp_path / "o.json").exists()
