"""Fuzz: mutated example archives give a report or a one-line error, never a traceback or a hang."""

import contextlib
import io
import json
import signal
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from qreport.cli import main

from .conftest import EXAMPLES, ROOT

SECONDS_PER_CASE = 60

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["quantized_bits(4,0)", "relu", "same", "valid", "channels_first",
                                     "QDense", "InputLayer", "__import__('os')", "Lambda",
                                     "__import__('os').system('touch /tmp/qreport-pwned')"]))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=3),
                                                    st.dictionaries(st.text(max_size=6), c, max_size=3)),
                      max_leaves=6)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, path + (i,))


def _mutate(cfg, data):
    paths = [p for p in _paths(cfg) if p]
    path = data.draw(st.sampled_from(paths))
    parent = cfg
    for k in path[:-1]:
        parent = parent[k]
    action = data.draw(st.sampled_from(["replace", "delete"]))
    if action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif action == "delete" and isinstance(parent, list):
        parent.pop(path[-1])
    else:
        parent[path[-1]] = data.draw(values)
    return path, action


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang()


def _build(src, tmp_path, members):
    p = tmp_path / "fuzz.keras"
    with zipfile.ZipFile(src) as z:
        items = {n: z.read(n) for n in z.namelist()}
    items.update(members)
    with zipfile.ZipFile(p, "w") as z:
        for n, d in items.items():
            z.writestr(n, d)
    return _main(p, tmp_path)


def _main(model, tmp_path):
    """(exit code, stderr) of a build of model, with a time limit."""
    err = io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS_PER_CASE)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["build", str(model), "-o", str(tmp_path / "o.json"), "--quiet"])
    except Hang:
        pytest.fail(f"no answer within {SECONDS_PER_CASE} s")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, err.getvalue()


def _damage(w: bytearray, data) -> bytearray:
    """Bytes flipped, overwritten or cut off."""
    how = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "truncate":
        return w[: data.draw(st.integers(0, len(w)))]
    for _ in range(data.draw(st.integers(1, 16))):
        i = data.draw(st.integers(0, len(w) - 1))
        w[i] = data.draw(st.integers(0, 255)) if how == "flip" else 0xFF
    return w


def _check(code, err):
    assert code in (0, 1), (code, err)
    if code == 1:
        assert err.count("\n") == 1 and err.startswith("qreport: error: "), err
    else:
        assert err == ""
    assert "Traceback" not in err
    assert "internal error" not in err, err  # a crash qreport did not explain is a bug


def _fuzz(examples: int):
    """A deterministic hypothesis test over the bundled examples (name, data)."""
    def wrap(test):
        return settings(max_examples=examples, deadline=None, derandomize=True,
                        suppress_health_check=list(HealthCheck))(
            given(name=st.sampled_from(EXAMPLES), data=st.data())(test))
    return wrap


@_fuzz(40)
def test_mutated_config(name, data, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fz")
    src = f"{ROOT}/examples/models/{name}.keras"
    with zipfile.ZipFile(src) as z:
        cfg = json.loads(z.read("config.json"))
    _mutate(cfg, data)
    code, err = _build(src, tmp_path, {"config.json": json.dumps(cfg).encode()})
    _check(code, err)


@_fuzz(25)
def test_mutated_weights(name, data, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("fw")
    src = f"{ROOT}/examples/models/{name}.keras"
    with zipfile.ZipFile(src) as z:
        w = bytearray(z.read("model.weights.h5"))
    w = _damage(w, data)
    code, err = _build(src, tmp_path, {"model.weights.h5": bytes(w)})
    _check(code, err)


# ------------------------------------------------------------------ the Keras-2 door

def _build_pair(tmp_path, config_text: str, weights: bytes | None):
    (tmp_path / "m.json").write_text(config_text)
    if weights is not None:
        (tmp_path / "m_weights.h5").write_bytes(weights)
    return _main(tmp_path / "m.json", tmp_path)


@pytest.fixture(scope="module")
def keras2_pair(tmp_path_factory):
    from . import keras2 as K

    d = tmp_path_factory.mktemp("k2")
    cfg = K.cnn_config()
    K.write_pair(d, "m", cfg, K.random_weights(cfg))
    return cfg, (d / "m_weights.h5").read_bytes()


@_fuzz(400)
def test_mutated_keras2_json(name, data, tmp_path_factory, keras2_pair):
    cfg, weights = keras2_pair
    cfg = json.loads(json.dumps(cfg))
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(cfg, data)
    text = json.dumps(cfg)
    if data.draw(st.booleans()):
        text = json.dumps(text)  # published double-encoded
    tmp_path = tmp_path_factory.mktemp("kj")
    code, err = _build_pair(tmp_path, text, weights if data.draw(st.booleans()) else None)
    _check(code, err)
    _no_code_ran()


@_fuzz(150)
def test_mutated_keras2_weights(name, data, tmp_path_factory, keras2_pair):
    cfg, weights = keras2_pair
    w = bytearray(weights)
    w = _damage(w, data)
    tmp_path = tmp_path_factory.mktemp("kw")
    code, err = _build_pair(tmp_path, json.dumps(cfg), bytes(w))
    _check(code, err)


def _no_code_ran():
    import os

    assert not os.path.exists("/tmp/qreport-pwned")
