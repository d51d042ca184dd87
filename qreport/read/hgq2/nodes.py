"""One config entry of an HGQ2 model read into :class:`.raw.RawLayer` (an attention: several).

Inputs are parsed from Keras 3's ``inbound_nodes`` (tensors anywhere in the
call's arguments, a slice or a constant kept beside them).  A composite
layer keeps its sub-layers as ``parts`` (a softmax's two tables); an
attention layer is read as the layers it is made of, named
``<layer>/query`` … ``<layer>/attention_output``, so that each internal
einsum and the softmax get their own facts.
"""

from __future__ import annotations

import numpy as np

from . import classes
from .raw import RawLayer, TensorRef, fail, quantizer


def activation_name(v) -> str:
    """A layer's activation as a name: a string, or a serialized function (``{"config": "tanh"}``)."""
    if v is None:
        return "linear"
    if isinstance(v, dict):
        v = v.get("config")
    return str(v) if isinstance(v, str) else "unknown"


def parse_args(node, rename: dict, where: str, path: str):
    """(tensor refs in order, the arguments with each tensor replaced by its ref)."""
    refs, shapes = [], []

    def walk(a):
        if isinstance(a, list):
            return [walk(x) for x in a]
        if isinstance(a, dict):
            if a.get("class_name") == "__keras_tensor__":
                h = (a.get("config") or {}).get("keras_history")
                if not (isinstance(h, list) and len(h) == 3 and isinstance(h[0], str)):
                    raise fail(path, f"{where}: a damaged inbound node")
                r = TensorRef(rename.get(h[0], h[0]), int(h[1]), int(h[2]))
                refs.append(r)
                shapes.append((a.get("config") or {}).get("shape"))
                return r
            if a.get("class_name") == "__slice__":
                c = a.get("config") or {}
                return slice(*(c.get(k) for k in ("start", "stop", "step")))
            if a.get("class_name") == "__ellipsis__":
                return Ellipsis
            return {k: walk(v) for k, v in a.items()}
        return a

    args = walk(node.get("args", []) if isinstance(node, dict) else [])
    kwargs = node.get("kwargs", {}) if isinstance(node, dict) else {}
    for key in ("query", "value", "key"):
        if isinstance(kwargs, dict) and isinstance(kwargs.get(key), dict):
            args.append(walk(kwargs[key]))
    return tuple(refs), tuple(args), shapes


def read_quantizers(vars_, c: dict, roles: list[str], n_inputs: int, where: str, path: str,
                    iq: bool) -> dict:
    """The layer's quantizers by role: ``iq`` (or ``iq0``, ``iq1``…), ``kq``, ``bq``, ``oq``."""
    out = {}
    if iq:
        if "iq_confs" in c:
            confs = c["iq_confs"]
            confs = confs if isinstance(confs, list) else [confs] * n_inputs
            for j, conf in enumerate(confs):
                stored = vars_.quantizer("iq", j) if vars_ is not None else None
                if stored is None:
                    raise fail(path, f"{where}: input quantizer {j} is missing")
                out[f"iq{j}"] = quantizer(conf, stored, f"{where} input {j}", path)
        else:
            stored = vars_.quantizer("iq") if vars_ is not None else None
            if stored is None:
                raise fail(path, f"{where}: its input quantizer is missing")
            out["iq"] = quantizer(c.get("iq_conf"), stored, f"{where} input quantizer", path)
    for role in roles:
        stored = vars_.quantizer(role) if vars_ is not None else None
        conf = c.get(f"{role}_conf")
        if stored is None:
            raise fail(path, f"{where}: its {role} quantizer is missing")
        out[role] = quantizer(conf, stored, f"{where} {role}", path)
    return out


def own_weights(vars_, cls: str, c: dict, where: str, path: str) -> tuple[dict, int | None]:
    """The layer's own variables by name, and HGQ2's stored EBOPs (None: not stored)."""
    stored = vars_.own() if vars_ is not None else []
    ebops = c.get("enable_ebops", True) is not False
    order = classes.own_order(cls, c, ebops)
    if len(stored) != len(order):
        alt = classes.own_order(cls, c, not ebops)
        if len(stored) != len(alt):
            raise fail(path, f"{where} ({cls}) stores {len(stored)} variables, its config "
                             f"gives {len(order)} ({', '.join(order) or 'none'})")
        order = alt
    out, ebops_value = {}, None
    for n, v in zip(order, stored):
        if n == "ebops":
            if v.shape != () or v.dtype.kind not in "ui":
                raise fail(path, f"{where}: its ebops is not a stored count")
            ebops_value = int(v)
            continue
        if n == "beta":
            continue
        v = np.asarray(v)
        if v.dtype.kind != "f":
            raise fail(path, f"{where}: {n} is not a float array ({v.dtype})")
        v = v.astype(np.float32)
        if not np.all(np.isfinite(v)):
            raise fail(path, f"{where}: {n} holds NaN or Inf values (a damaged weights file?)")
        out[n] = v
    return out, ebops_value


def layer(entry: dict, vars_, rename: dict, path: str) -> list[RawLayer]:
    """The RawLayer(s) of one config entry (checked: class, variables, quantizers)."""
    cls, prefix = classes.class_of(entry)
    c = entry.get("config") or {}
    name = str(entry.get("name") or c.get("name"))
    module = str(entry.get("module") or "")
    if not module and cls in classes.OP_KINDS and entry.get("registered_name") == cls:
        module = "keras.src.ops"
    why = classes.refusal(cls, prefix, module)
    if why is not None:
        raise fail(path, f"layer {name!r}: {why}")
    kind = classes.kind_of(cls, prefix, module)
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise fail(path, f"layer {name!r} is called {len(nodes)} times: a shared layer is not read")
    refs, args, shapes = parse_args(nodes[0], rename, f"layer {name!r}", path) if nodes \
        else ((), (), [])
    where = f"layer {name!r}"
    if kind == "attention":
        rank = len(shapes[0]) if shapes and isinstance(shapes[0], list) else 3
        return attention(name, cls, dict(c, _query_rank=rank), refs, vars_, rename, path)
    if module.startswith("keras.src.ops") or prefix not in ("hgq", "hgq2") and cls != "Quantizer":
        return [RawLayer(name, cls, dict(c, _kind=kind), refs, args)]
    weights, ebops = own_weights(vars_, cls, c, where, path)
    quants = read_quantizers(vars_, c, classes.roles(cls, kind, c), len(refs), where, path,
                             iq=kind != "quantizer" and c.get("enable_iq", True) is not False)
    if kind == "quantizer":
        stored = vars_.quantizer("") if vars_ is not None else None
        if stored is None:
            raise fail(path, f"{where}: its quantizer's variables are missing")
        conf = c.get("config", c)
        quants["q"] = quantizer(conf, stored, where, path)
    parts = {}
    if kind == "softmax":
        parts = softmax_parts(c, vars_, where, path)
        ebops = _with_parts(ebops, parts)
    return [RawLayer(name, cls, dict(c, _kind=kind), refs, args, weights, quants, parts, ebops)]


def _with_parts(ebops, parts: dict):
    """A layer's stored EBOPs with its parts' (HGQ2's ``ebops`` of a softmax sums its tables)."""
    got = [p.ebops for p in parts.values() if p.ebops is not None]
    if ebops is None and not got:
        return None
    return (ebops or 0) + sum(got)


def softmax_parts(c: dict, vars_, where: str, path: str, prefix: str = "") -> dict:
    """A QSoftmax's two tables: ``exp_table`` and ``inv_table``, each with its quantizers."""
    parts = {}
    for t in ("exp", "inv"):
        sub = vars_.part(f"{t}_table") if vars_ is not None else None
        if sub is None:
            raise fail(path, f"{where}: its {t} table is missing")
        qs = {}
        for role in ("iq", "oq"):
            stored = sub.quantizer(role)
            conf = c.get(f"{prefix}{t}_{role}_conf")
            if stored is None:
                if role == "iq" and t == "exp":
                    continue          # an unstable softmax's exp table reads its input as it is
                raise fail(path, f"{where}: its {t} table's {role} quantizer is missing")
            if conf is None:
                raise fail(path, f"{where}: its {t} table's {role} config is missing")
            qs[role] = quantizer(conf, stored, f"{where} {t} table {role}", path)
        ebops = None
        for v in sub.own():
            if np.asarray(v).dtype.kind in "ui" and np.asarray(v).shape == ():
                ebops = int(v)
        parts[f"{t}_table"] = RawLayer(f"{t}_table", "QUnaryFunctionLUT", {}, (), (), {}, qs, {},
                                       ebops)
    return parts


# ------------------------------------------------------------------ attention

def _letters(n: int, start: int = 0) -> str:
    return "".join("abcdefghijklmnopqrstuvwxyz"[start + i] for i in range(n))


def proj_equation(free: int, bound: int, out: int) -> tuple[str, str]:
    """Keras's projection einsum inside attention (``_build_proj_equation``): (equation, bias axes)."""
    a, b, o = _letters(free), _letters(bound, free), _letters(out, free + bound)
    return f"{a}{b},{b}{o}->{a}{o}", o


def attention_equations(rank: int, attn_axes: tuple[int, ...]) -> tuple[str, str]:
    """Keras's (dot product, combine) einsums over the projected tensors (``_build_attention_equation``)."""
    target = _letters(rank)
    batch = [i for i in range(rank) if i not in attn_axes and i != rank - 1]
    source, off = "", rank
    for i in range(rank):
        if i in batch or i == rank - 1:
            source += target[i]
        else:
            source += _letters(1, off)
            off += 1
    product = "".join([target[i] for i in batch] + [target[i] for i in attn_axes]
                      + [source[i] for i in attn_axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}"


def attention(name, cls, c, refs, vars_, rename, path) -> list[RawLayer]:
    """An attention layer as the layers it computes, each named ``<name>/<part>``."""
    where = f"layer {name!r}"
    if str(c.get("fuse", "none")).lower() != "none":
        raise fail(path, f"{where}: fused projections (fuse={c.get('fuse')!r}) are not read")
    if not refs:
        raise fail(path, f"{where}: the attention has no input")
    q_ref = refs[0]
    v_ref = refs[1] if len(refs) > 1 else q_ref
    k_ref = refs[2] if len(refs) > 2 else v_ref
    kd = int(c.get("key_dim", 1))
    iq = c.get("enable_iq", True) is not False
    base = {"parallelization_factor": c.get("parallelization_factor", -1)}
    out: list[RawLayer] = []

    def dense(part: str, aliases, src: TensorRef, eq: str, bias, oq: bool, iq_on: bool):
        sub = vars_.part(*aliases) if vars_ is not None else None
        if sub is None:
            raise fail(path, f"{where}: its {part} projection is missing")
        conf = dict(base, equation=eq, bias_axes=bias, enable_iq=iq_on, enable_oq=oq,
                    iq_conf=c.get("qkvo_iq_conf"), kq_conf=c.get("qkvo_kq_conf"),
                    bq_conf=c.get("qkvo_bq_conf") if bias else None,
                    oq_conf=c.get("qkvo_oq_conf"), activation="linear", _kind="einsum",
                    enable_ebops=c.get("enable_ebops", True))
        lname = f"{name}/{part}"
        weights, ebops = own_weights(sub, "QEinsumDense", conf, f"layer {lname!r}", path)
        roles = ["kq"] + (["bq"] if bias else []) + (["oq"] if oq else [])
        qs = read_quantizers(sub, conf, roles, 1, f"layer {lname!r}", path,
                             iq=iq_on and sub.quantizer("iq") is not None)
        out.append(RawLayer(lname, "QEinsumDense", conf, (src,), (), weights, qs, {}, ebops))
        return TensorRef(lname)

    rank = int(c.get("_query_rank", 3))
    bias_on = c.get("use_bias", True) is not False
    axes = c.get("attention_axes")
    axes = tuple(axes) if isinstance(axes, list) else ((axes,) if isinstance(axes, int) else None)
    if cls == "QLinformerAttention":
        if c.get("lin_kv_proj_mode", "dense") != "dense":
            raise fail(path, f"{where}: table projections (lin_kv_proj_mode="
                             f"{c.get('lin_kv_proj_mode')!r}) are HGQ-LUT layers, not read")
        dims = c.get("lin_kv_proj_dim")
        dims = tuple(dims) if isinstance(dims, list) else (int(dims),)
        attn = axes or tuple(range(1, rank - 1))
        letters = _letters(rank)
        new = _letters(len(dims), rank)
        ker = "".join(letters[a] for a in attn) + new
        o = list(letters)
        for i, a in enumerate(attn):
            o[a] = new[i]
        eq = f"{letters},{ker}->{''.join(o)}"
        k_ref = dense("lin_k_proj", ("lin_k_proj", "_lin_k_proj"), k_ref, eq, None, False, iq)
        v_alias = ("lin_k_proj", "_lin_k_proj") if c.get("share_kv_proj") else \
            ("lin_v_proj", "_lin_v_proj")
        v_ref = dense("lin_v_proj", v_alias, v_ref, eq, None, False, iq)
    eq, b = proj_equation(rank - 1, 1, 2)
    qt = dense("query", ("query_dense", "query"), q_ref, eq, b if bias_on else None, True, iq)
    kt = dense("key", ("key_dense", "key"), k_ref, eq, None, True, iq)
    vt = dense("value", ("value_dense", "value"), v_ref, eq, b if bias_on else None, True, iq)
    attn = axes or tuple(range(1, rank - 1))
    dot, combine = attention_equations(rank + 1, attn)
    out.append(RawLayer(f"{name}/scores", "QEinsum", {"equation": dot, "_kind": "einsum2",
                                                      "enable_iq": False}, (kt, qt)))
    sm = vars_.part("_softmax", "softmax") if vars_ is not None else None
    if sm is None:
        raise fail(path, f"{where}: its softmax is missing")
    n = len(attn)
    sconf = {"axes": list(range(-n, 0)), "stable": c.get("stable_softmax", True),
             "input_scaler": 1.0 / float(np.sqrt(kd)), "enable_oq": True, "_kind": "softmax",
             "iq_conf": c.get("softmax_iq_conf"), "oq_conf": c.get("softmax_oq_conf")}
    for t in ("exp", "inv"):
        for r in ("iq", "oq"):
            sconf[f"{t}_{r}_conf"] = c.get(f"softmax_{t}_{r}_conf")
    s_where = f"layer {name + '/softmax'!r}"
    _, s_ebops = own_weights(sm, "QSoftmax", {"enable_ebops": True}, s_where, path)
    sq = read_quantizers(sm, sconf, ["oq"], 1, s_where, path, iq=sm.quantizer("iq") is not None)
    s_parts = softmax_parts(sconf, sm, s_where, path)
    out.append(RawLayer(f"{name}/softmax", "QSoftmax", sconf, (TensorRef(f"{name}/scores"),), (),
                        {}, sq, s_parts, _with_parts(s_ebops, s_parts)))
    out.append(RawLayer(f"{name}/combine", "QEinsum", {"equation": combine, "_kind": "einsum2",
                                                      "enable_iq": False},
                        (TensorRef(f"{name}/softmax"), vt)))
    eq, b = proj_equation(rank - 1, 2, 1)
    last = dense("attention_output", ("output_dense", "attention_output"),
                 TensorRef(f"{name}/combine"), eq, b if bias_on else None,
                 c.get("enable_oq", False) is True, True)
    if c.get("enable_oq", False) is True:
        stored = vars_.quantizer("oq")
        if stored is None:
            raise fail(path, f"{where}: its output quantizer is missing")
        q = quantizer(c.get("oq_conf"), stored, f"{where} oq", path)
        out.append(RawLayer(f"{name}/oq", "Quantizer", {"_kind": "quantizer"}, (last,), (), {},
                            {"q": q}))
        last = TensorRef(f"{name}/oq")
    own, ebops = own_weights(vars_, "QMultiHeadAttention", c, where, path)
    scores = next(i for i, l in enumerate(out) if l.name == f"{name}/scores")
    s = out[scores]
    out[scores] = RawLayer(s.name, s.class_name, s.config, s.inbound, (), {}, {}, {}, ebops)
    rename[name] = last.layer
    return out
