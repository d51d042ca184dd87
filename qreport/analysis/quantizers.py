"""Quantizer facts (SPEC section 1): one place, used everywhere.

Every fact is derived from the quantizer's parameters, never from its
``max()``/``min()`` methods (which are not exact in qkeras-v3), and is
checked against what ``q(x)`` produces in the tests.
"""

from __future__ import annotations

import ast
import math

from ..errors import QuantizerError
from .facts import (FLOAT, MODE_01, MODE_BINARY, MODE_FIXED, MODE_PO2, MODE_TERNARY, QFact,
                    float_fact)
from .fixed import fractional_bits_of_step, pow2_grid_step, width_for_range
from .floattype import FixedCast

QUANTIZER_KINDS = (
    "quantized_bits", "quantized_relu", "quantized_tanh", "quantized_ulaw",
    "quantized_linear", "quantized_sigmoid", "quantized_hswish",
    "quantized_po2", "quantized_relu_po2", "binary", "stochastic_binary",
    "ternary", "stochastic_ternary", "bernoulli",
)


# --------------------------------------------------------------------------
# String parsing: a literal-only grammar, never eval.

def parse_quantizer(text: str):
    """Build a QKeras quantizer from a string such as ``"quantized_bits(8,0,1)"``.

    Only the QKeras quantizer class names are accepted, with literal
    arguments (numbers, strings, booleans, None).  Nothing is evaluated:
    attribute access, calls in arguments or any other name is rejected.

    Raises:
        QuantizerError: the string is not such a quantizer expression.
    """
    if not isinstance(text, str) or len(text) > 500:
        raise QuantizerError("quantizer must be a short string like 'quantized_bits(8,0,1)'")
    src = text.strip()
    if src in ("float", "linear", "None", ""):
        return None
    try:
        tree = ast.parse(src, mode="eval")
    except SyntaxError:
        raise QuantizerError(f"cannot parse quantizer {text!r}") from None
    node = tree.body
    if isinstance(node, ast.Name):
        node = ast.Call(func=node, args=[], keywords=[])
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise QuantizerError(
            f"quantizer {text!r} must be a call of a QKeras quantizer, e.g. quantized_bits(8,0,1)")
    name = node.func.id
    if name not in QUANTIZER_KINDS:
        raise QuantizerError(
            f"unknown quantizer {name!r}; known: {', '.join(QUANTIZER_KINDS)}")
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError:
        raise QuantizerError(f"quantizer {text!r}: arguments must be literals") from None
    if any(k is None for k in kwargs):
        raise QuantizerError(f"quantizer {text!r}: **kwargs are not allowed")
    for v in [*args, *kwargs.values()]:
        if not isinstance(v, (int, float, str, bool, type(None))):
            raise QuantizerError(f"quantizer {text!r}: arguments must be numbers, strings or booleans")
    from ..backend import import_keras

    import_keras()  # heavy, only when needed; on the backend this process chose
    import qkeras.quantizers as qq

    try:
        return getattr(qq, name)(*args, **kwargs)
    except Exception as exc:  # the quantizer's own validation
        raise QuantizerError(f"quantizer {text!r}: {exc}") from None


# --------------------------------------------------------------------------
# Facts from quantizer objects.

def _num(v) -> float:
    try:
        import numpy as np

        return float(np.asarray(v).reshape(-1)[0])
    except Exception:
        return float(v)


def _int(v) -> int:
    return int(round(_num(v)))


def describe(q) -> str:
    """A constructor-like string for a quantizer (its ``str``)."""
    if q is None:
        return "float"
    if isinstance(q, str):
        return q
    name = getattr(q, "__name__", None)
    if name is not None and not hasattr(q, "get_config"):
        return name
    try:
        return str(q)
    except Exception:
        return type(q).__name__


def quantizer_fact(q) -> QFact:
    """The exact facts of a quantizer object, a string, or None (float).

    Unknown callables (a Keras activation such as ``relu``) are float, with a
    note naming them; the caller decides whether that deserves a warning.
    """
    if isinstance(q, str):
        q = parse_quantizer(q)
    if q is None:
        return FLOAT
    if isinstance(q, FixedCast):
        return q.fact()
    kind = type(q).__name__
    if kind not in QUANTIZER_KINDS:
        name = getattr(q, "__name__", kind)
        if name == "linear":
            return FLOAT
        return float_fact(name)
    _check_params(q, kind)
    try:
        return _FACTS[kind](q, kind)
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise QuantizerError(f"{kind} with invalid parameters ({exc})") from None


def _check_params(q, kind: str) -> None:
    """Refuse parameters QKeras accepted without checking (bits=None, bits=10**9, …)."""
    for attr, lo, hi in (("bits", 1, 64), ("integer", -64, 64)):
        if not hasattr(q, attr):
            continue
        v = getattr(q, attr)
        try:
            ok = float(_num(v)).is_integer() and lo <= _num(v) <= hi
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise QuantizerError(f"{kind}: {attr}={v!r} is not an integer in [{lo}, {hi}]")


def _grid_fact(kind, q, mode, bits, integer, lo, hi, lsb, *, scale=None, notes=(),
               hls_type=None, hls_reason=None) -> QFact:
    ft = width_for_range(lo, hi, fractional_bits_of_step(lsb))
    return QFact(kind=kind, config=describe(q), mode=mode, bits=bits, integer=integer,
                 signed=lo < 0, min=float(lo), max=float(hi), lsb=float(lsb), fixed=ft.fixed,
                 scale=scale, notes=tuple(notes), hls_type=hls_type, hls_reason=hls_reason)


#: The scale of a quantizer with alpha=1: the grid as it is.
UNIT_SCALE = "constant scale alpha=1"


def _alpha_scale(q) -> tuple[str | None, list[str]]:
    alpha = getattr(q, "alpha", None)
    if alpha is None:
        return None, []
    if isinstance(alpha, str):
        if alpha == "auto_po2":
            return "per-channel power-of-two scale (alpha='auto_po2'), applied after accumulation", []
        return "per-channel scale (alpha='auto'), applied after accumulation", [
            "alpha='auto' scales are not powers of two: the scale is a real multiplier"]
    a = _num(alpha)
    return (UNIT_SCALE if a == 1 else f"constant scale alpha={a:g}"), []


def _fact_bits(q, kind):
    bits, integer = _int(q.bits), _int(q.integer)
    keep_negative = bool(q.keep_negative)
    alpha = getattr(q, "alpha", None)
    symmetric = bool(q.symmetric) or isinstance(alpha, str)
    unsigned_bits = bits - int(keep_negative)
    scale, notes = _alpha_scale(q)
    if unsigned_bits > 0:
        m = 2 ** unsigned_bits
        lsb = math.ldexp(1.0, integer - unsigned_bits)
        kmin = (-m + int(symmetric)) if keep_negative else 0
        lo, hi = kmin * lsb, (m - 1) * lsb
    else:  # 1 signed bit: sign(x) with 0 -> +1
        lo, hi, lsb = -1.0, 1.0, 1.0
    mode = MODE_FIXED
    if kind in ("quantized_bits",) and bits == 2 and integer == 1:
        mode = MODE_TERNARY
    if alpha is not None and not isinstance(alpha, str):
        a = _num(alpha)
        lo, hi = lo * a, hi * a
        try:
            lsb = lsb * a
            fractional_bits_of_step(lsb)
        except ValueError:
            return QFact(kind=kind, config=describe(q), mode=mode, bits=bits, integer=integer,
                         signed=lo < 0, min=lo, max=hi, lsb=None, fixed=None, scale=scale,
                         hls_reason="constant alpha is not a power of two")
    hls = (bits, integer + 1, True) if keep_negative else (bits, integer, False)
    if keep_negative and bits == integer:
        hls = (bits, bits, True)  # hls4ml: ap_int<b>
    return _grid_fact(kind, q, mode, bits, integer, lo, hi, lsb, scale=scale, notes=notes,
                      hls_type=hls)


def _fact_relu(q, kind):
    bits, integer = _int(q.bits), _int(q.integer)
    slope = _num(getattr(q, "negative_slope", 0.0) or 0.0)
    non_sign = bits - int(slope != 0.0)
    lsb = math.ldexp(1.0, integer - non_sign)
    hi = math.ldexp(1.0, integer) - lsb
    notes = []
    ub = getattr(q, "relu_upper_bound", None)
    if ub and not getattr(q, "is_quantized_clip", True):
        ub = _num(ub)
        if ub < hi:
            hi = ub
            if math.fmod(ub, lsb) != 0:  # the clip value is a value of its own, off the grid
                lsb = min(lsb, pow2_grid_step([ub]) or lsb)
                notes.append(f"relu_upper_bound={ub:g} is not on the {bits}-bit grid")
    lo = -math.ldexp(slope, integer) if slope else 0.0
    mode = MODE_01 if (bits == 1 and integer == 1) else MODE_FIXED
    hls = (bits, integer, False) if not slope else None
    return _grid_fact(kind, q, mode, bits, integer, lo, hi, lsb, notes=notes, hls_type=hls,
                      hls_reason=None if hls else "leaky quantized_relu has no hls4ml precision rule")


def _fact_tanh(q, kind):
    bits = _int(q.bits)
    lsb = math.ldexp(1.0, -(bits - 1))
    lo = -1.0 + (lsb if q.symmetric else 0.0)
    hi = 1.0 - lsb
    mode = MODE_TERNARY if bits == 2 and _int(getattr(q, "integer", 0)) == 1 else MODE_FIXED
    return _grid_fact(kind, q, mode, bits, None, lo, hi, lsb, hls_type=(bits, 1, True))


def _fact_sigmoid(q, kind):
    bits = _int(q.bits)
    lsb = math.ldexp(1.0, -bits)
    lo = lsb if q.symmetric else 0.0
    return _grid_fact(kind, q, MODE_FIXED, bits, None, lo, 1.0 - lsb, lsb,
                      hls_type=(bits, 0, False))


def _fact_hswish(q, kind):
    base = _fact_bits(q, "quantized_bits")
    # hswish(x) = x * relu6(x + shift) / ub has its minimum -shift^2/(4 ub);
    # q then rounds it to the nearest grid value (ties away as round_through).
    shift, ub = _num(q.relu_shift), _num(q.relu_upper_bound)
    parabola_min = -shift * shift / (4.0 * ub)
    lsb = base.lsb
    qmin = max(base.min, math.floor(parabola_min / lsb + 0.5) * lsb)
    return _grid_fact(kind, q, MODE_FIXED, base.bits, base.integer, qmin, base.max, lsb,
                      scale=base.scale, hls_type=base.hls_type)


def _fact_ulaw(q, kind):
    import numpy as np

    bits, integer = _int(q.bits), _int(q.integer)
    # Monotone and saturating: its extremes are q at the ends of the line.
    ends = np.asarray(q(np.array([-1e9, 1e9], dtype="float32")), dtype=np.float64)
    return QFact(kind=kind, config=describe(q), mode=MODE_FIXED, bits=bits, integer=integer,
                 signed=bool(ends[0] < 0), min=float(ends[0]), max=float(ends[1]), lsb=None,
                 fixed=None, notes=("u-law values are not on a uniform grid",),
                 hls_reason="u-law values are not on a fixed-point grid")


def _po2_exponents(q) -> tuple[int, int]:
    if not hasattr(q, "_min_exp"):
        raise QuantizerError(f"{describe(q)}: exponent range unknown")
    emin, emax = int(q._min_exp), int(q._max_exp)
    mv = getattr(q, "max_value", None)
    if mv is not None and _num(mv) > 0:
        l2 = math.log2(_num(mv))
        cap = math.floor(l2) if getattr(q, "log2_rounding", "rnd") == "floor" else int(round(l2))
        emax = max(min(emax, cap), emin)
    return emin, emax


def _fact_po2(q, kind):
    emin, emax = _po2_exponents(q)
    bits = _int(q.bits)
    lsb = math.ldexp(1.0, emin)
    hi = math.ldexp(1.0, emax)
    slope = _num(getattr(q, "negative_slope", 0) or 0)
    if kind == "quantized_po2" or slope:
        lo = -hi
        note = "power-of-two values: ±2^e for e in [{}, {}], never 0".format(emin, emax)
    else:
        lo = lsb
        note = "power-of-two values: 2^e for e in [{}, {}], never 0".format(emin, emax)
    return _grid_fact(kind, q, MODE_PO2, bits, None, lo, hi, lsb, notes=(note,),
                      hls_reason="hls4ml has no fixed-point rule for power-of-two types")


def _fact_binary(q, kind):
    use_01 = bool(getattr(q, "use_01", False))
    scale, notes = _alpha_scale(q)
    lo = 0.0 if use_01 else -1.0
    alpha = getattr(q, "alpha", None)
    hi = 1.0
    if alpha is not None and not isinstance(alpha, str):
        lo, hi = lo * _num(alpha), hi * _num(alpha)
    return _grid_fact(kind, q, MODE_01 if use_01 else MODE_BINARY, 1, None, lo, hi, 1.0,
                      scale=scale, notes=notes,
                      hls_reason="hls4ml has no fixed-point rule for binary types")


def _fact_ternary(q, kind):
    scale, notes = _alpha_scale(q)
    return _grid_fact(kind, q, MODE_TERNARY, 2, None, -1.0, 1.0, 1.0, scale=scale,
                      notes=notes, hls_type=(2, 2, True))


def _fact_bernoulli(q, kind):
    return _grid_fact(kind, q, MODE_01, 1, None, 0.0, 1.0, 1.0,
                      hls_reason="hls4ml has no fixed-point rule for bernoulli types")


_FACTS = {
    "quantized_bits": _fact_bits, "quantized_linear": _fact_bits,
    "quantized_relu": _fact_relu, "quantized_tanh": _fact_tanh,
    "quantized_sigmoid": _fact_sigmoid, "quantized_hswish": _fact_hswish,
    "quantized_ulaw": _fact_ulaw, "quantized_po2": _fact_po2,
    "quantized_relu_po2": _fact_po2, "binary": _fact_binary,
    "stochastic_binary": _fact_binary, "ternary": _fact_ternary,
    "stochastic_ternary": _fact_ternary, "bernoulli": _fact_bernoulli,
}


