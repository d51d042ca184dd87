"""A flat view of a Keras functional graph, nested models inlined.

Every tensor gets a key (the ``id`` of its KerasTensor in the innermost
graph, aliased across model boundaries), every layer call a node named
``outer/inner`` for layers of nested models.  The same walk serves type
propagation and the sample runs of the accumulator analysis.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..errors import GraphError


@dataclass(frozen=True)
class FlatNode:
    """One layer call in model order."""

    name: str
    layer: object
    node: object
    in_keys: tuple[int, ...]
    out_keys: tuple[int, ...]
    in_shapes: tuple[tuple, ...]
    out_shapes: tuple[tuple, ...]
    inbound: tuple[str, ...]  # names of the nodes (or model inputs) feeding it


@dataclass(frozen=True)
class FlatGraph:
    input_keys: tuple[int, ...]
    input_names: tuple[str, ...]
    input_shapes: tuple[tuple, ...]
    nodes: tuple[FlatNode, ...]
    output_keys: tuple[int, ...]


def _functional(model):
    fn = getattr(model, "_functional", None)  # keras.Sequential keeps one once built
    if fn is not None:
        return fn
    if hasattr(model, "_nodes_by_depth") and getattr(model, "inputs", None):
        return model
    raise GraphError(
        f"model {getattr(model, 'name', '?')!r} is not built as a graph "
        "(subclassed or unbuilt models cannot be analysed; build it on an Input first)")


def _shape(t) -> tuple:
    return tuple(None if d is None else int(d) for d in t.shape)


def input_names(model) -> tuple[str, ...]:
    """Names of the model's inputs, in order (no graph walk)."""
    return tuple(t._keras_history[0].name for t in _functional(model).inputs)


def flatten(model) -> FlatGraph:
    """Walk ``model`` (functional or Sequential) into a FlatGraph."""
    fn = _functional(model)
    alias: dict[int, int] = {}
    producer: dict[int, str] = {}
    nodes: list[FlatNode] = []
    in_keys = tuple(id(t) for t in fn.inputs)
    in_names = tuple(t._keras_history[0].name for t in fn.inputs)
    for k, n in zip(in_keys, in_names):
        producer[k] = n
    out_keys = _walk(fn, "", alias, producer, nodes)
    return FlatGraph(
        input_keys=in_keys, input_names=in_names,
        input_shapes=tuple(_shape(t) for t in fn.inputs),
        nodes=tuple(nodes), output_keys=out_keys,
    )


def _walk(fn, prefix, alias, producer, nodes) -> tuple[int, ...]:
    def key(t):
        k = id(t)
        while k in alias:
            k = alias[k]
        return k

    calls: dict[str, int] = {}
    for depth in sorted(fn._nodes_by_depth, reverse=True):
        for node in fn._nodes_by_depth[depth]:
            op = node.operation
            if type(op).__name__ == "InputLayer":
                continue
            ins = tuple(node.input_tensors)
            outs = tuple(node.output_tensors)
            if hasattr(op, "_nodes_by_depth") or hasattr(op, "_functional"):
                inner = _functional(op)
                for it, ot in zip(inner.inputs, ins):
                    alias[id(it)] = key(ot)
                inner_outs = _walk(inner, f"{prefix}{op.name}/", alias, producer, nodes)
                for ot, ik in zip(outs, inner_outs):
                    alias[id(ot)] = ik
                continue
            n = calls.get(op.name, 0)
            calls[op.name] = n + 1
            name = f"{prefix}{op.name}" + (f"@{n}" if n else "")
            in_k = tuple(key(t) for t in ins)
            fnode = FlatNode(
                name=name, layer=op, node=node, in_keys=in_k,
                out_keys=tuple(id(t) for t in outs),
                in_shapes=tuple(_shape(t) for t in ins),
                out_shapes=tuple(_shape(t) for t in outs),
                inbound=tuple(producer.get(k, "?") for k in in_k),
            )
            for k in fnode.out_keys:
                producer[k] = name
            nodes.append(fnode)
    return tuple(key(t) for t in fn.outputs)


def _quantizer_objects(layer) -> list:
    objs = []
    for name, v in vars(layer).items():
        if name.endswith("_internal") or name in ("activation", "quantizer"):
            if hasattr(v, "get_config") and hasattr(v, "__dict__"):
                objs.append(v)
    return objs


@contextlib.contextmanager
def preserved_quantizers(graph: FlatGraph):
    """Restore every quantizer's attributes after running the model.

    Calling a QKeras layer writes state into its quantizers (``scale`` of an
    alpha quantizer, ``built``); the analysis must leave the model as it
    found it.
    """
    saved = [(q, dict(vars(q))) for n in graph.nodes for q in _quantizer_objects(n.layer)]
    try:
        yield
    finally:
        for q, state in saved:
            q.__dict__.clear()
            q.__dict__.update(state)


def run(graph: FlatGraph, inputs: list, want: set[int], visit=None) -> dict[int, object]:
    """Run the graph eagerly (inference mode) and return the tensors in ``want``.

    With ``visit``, each wanted tensor is handed to ``visit(key, value)`` as
    soon as it exists and is not kept; every tensor is dropped once its last
    consumer has run, so memory holds only the tensors still needed.
    Call it inside :func:`preserved_quantizers`.
    """
    values: dict[int, object] = dict(zip(graph.input_keys, inputs))
    last = {}
    for i, fnode in enumerate(graph.nodes):
        for k in fnode.in_keys:
            last[k] = i
    got: dict[int, object] = {}
    visit = visit or got.__setitem__
    for k in want:
        if k in values:
            visit(k, values[k])
    for i, fnode in enumerate(graph.nodes):
        # Keras's own argument structure, with inner-graph tensors resolved
        # through our keys (the node's tensors are keyed in its own graph).
        tensor_dict = {id(t): values[k] for t, k in zip(fnode.node.input_tensors, fnode.in_keys)}
        args, kwargs = fnode.node.arguments.fill_in(tensor_dict)
        if "training" in _call_params(fnode.layer):
            kwargs["training"] = False
        out = fnode.layer(*args, **kwargs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for k, v in zip(fnode.out_keys, outs):
            values[k] = v
            if k in want:
                visit(k, v)
        for k in fnode.in_keys:
            if last.get(k) == i and k not in graph.output_keys:
                values.pop(k, None)
    return got


def _call_params(layer) -> tuple[str, ...]:
    sig = getattr(layer, "_call_signature", None)
    if sig is None:
        return ()
    return tuple(sig.parameters)
