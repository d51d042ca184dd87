"""Where an HGQ2 layer's variables are in the weights file, for both forms of it.

- a ``.keras`` archive's ``model.weights.h5``: ``layers/<class in snake
  case>[_n]/vars/0…`` (numbered in the config's order of each class), a
  quantizer at ``<role>/quantizer/vars``, several input quantizers at
  ``iq/quantizers/quantizer[_j]/quantizer/vars``, a sub-layer in its own group;
- a legacy Keras-3 ``.h5``: ``model_weights/<layer>/`` with the attribute
  ``weight_names``, e.g. ``dense_1/dense_1_kq/fixed_point_quantizer_kbi_3/b``
  (the quantizer's counter differs from file to file: matched by layer, role
  and variable name, never by the counter).

Both give a layer's own variables in the order the layer made them (trainable
first), quantizers by role (a list for the archive, by name for the legacy
file), and sub-layers by name.
"""

from __future__ import annotations

import re

import numpy as np

from .raw import fail

_FPQ = re.compile(r"fixed_point_quantizer(_k[bi][if])?(_\d+)?$")


def snake(name: str) -> str:
    """Keras's group name for a class (``QConv2D`` -> ``q_conv2d``)."""
    s = re.sub(r"\W+", "", name)
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", s)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def _array(ds, what: str, path: str) -> np.ndarray:
    try:
        return np.asarray(ds[()])
    except Exception as exc:  # noqa: BLE001  h5py raises several types on damaged data
        raise fail(path, f"{what}: unreadable ({type(exc).__name__})") from None


class KerasVars:
    """One layer's (or sub-layer's) group in a ``.keras`` archive's weights."""

    def __init__(self, group, what: str, path: str):
        self.g, self.what, self.path = group, what, path

    def own(self) -> list[np.ndarray]:
        try:
            vs = self.g["vars"]
        except (KeyError, TypeError):
            return []
        try:
            return [_array(vs[str(n)], self.what, self.path) for n in range(len(vs))]
        except KeyError:
            raise fail(self.path, f"{self.what}: its variables are not numbered 0…n") from None

    def _child(self, name: str):
        for key in (name, f"_{name}"):
            try:
                return self.g[key]
            except (KeyError, TypeError):
                continue
        return None

    def quantizer(self, role: str, index: int | None = None):
        """A quantizer's ``vars/0…`` as a list (None: no such quantizer stored)."""
        if role == "":
            grp = self.g
        else:
            grp = self._child(role)
            if grp is None:
                return None
            if index is not None:
                try:
                    grp = grp["quantizers"]["quantizer" if index == 0 else f"quantizer_{index}"]
                except (KeyError, TypeError):
                    return None
        try:
            vs = grp["quantizer"]["vars"]
            return [_array(vs[str(n)], self.what, self.path) for n in range(len(vs))]
        except (KeyError, TypeError):
            return None

    def part(self, *names: str) -> KerasVars | None:
        for n in names:
            g = self._child(n)
            if g is not None:
                return KerasVars(g, f"{self.what}/{n}", self.path)
        return None


class LegacyVars:
    """One layer's (or sub-layer's) variables in a legacy ``.h5`` file, by their names."""

    def __init__(self, own: list, quants: dict, parts: dict, what: str, path: str):
        self._own, self._quants, self._parts = own, quants, parts
        self.what, self.path = what, path

    def own(self) -> list[np.ndarray]:
        return list(self._own)

    def quantizer(self, role: str, index: int | None = None):
        key = (role,) if index is None else (role, index)
        return self._quants.get(key if role else ())

    def part(self, *names: str) -> LegacyVars | None:
        for n in names:
            if n in self._parts:
                return self._parts[n]
        return None


def _legacy_tree(names: list[str], arrays: list[np.ndarray], layer: str, what: str, path: str):
    """Group a legacy layer's weight names into own variables, quantizers and sub-layers."""
    entries = []
    for full, arr in zip(names, arrays):
        segs = full.split("/")
        if layer in segs:
            segs = segs[segs.index(layer) + 1:]
        route, prefix, quant, j = [], layer, False, 0
        while j < len(segs) - 1:
            s = segs[j]
            if _FPQ.match(s):
                quant = True
            elif s == "multiple_quantizers" and j + 1 < len(segs) - 1:
                q = segs[j + 1]
                route += ["iq", 0 if q == "quantizer" else int(q.rsplit("_", 1)[-1])]
                quant = True
                j += 1
            elif s.startswith(prefix + "_"):
                route.append(s[len(prefix) + 1:])
                prefix = s
            else:
                route.append(s)
                prefix = s
            j += 1
        entries.append((tuple(route), quant, segs[-1], arr))
    return _legacy_node((), entries, what, path)


def _legacy_node(at: tuple, entries, what: str, path: str) -> LegacyVars:
    own, quants, subs = [], {}, {}
    for route, quant, var, arr in entries:
        if route[: len(at)] != at:
            continue
        rest = route[len(at):]
        if not quant and not rest:
            own.append(arr)
        elif quant and (not rest or rest[0] in ("iq", "kq", "bq", "oq")) and len(rest) <= 2:
            quants.setdefault(rest, {})[var] = arr
        elif rest:
            subs.setdefault(rest[0], None)
    parts = {s: _legacy_node(at + (s,), entries, f"{what}/{s}", path) for s in subs}
    return LegacyVars(own, quants, parts, what, path)


class Store:
    """A model's weights file: the variables of each layer in the config."""

    def __init__(self, h5, form: str, path: str):
        self.h5, self.form, self.path = h5, form, path
        self._seen: dict[str, int] = {}

    def layer(self, name: str, cls: str):
        """The layer's variables (a layer is numbered among its class in the archive)."""
        what = f"layer {name!r}"
        if self.form == "keras":
            key = snake(cls)
            n = self._seen.get(key, 0)
            self._seen[key] = n + 1
            gname = key if n == 0 else f"{key}_{n}"
            try:
                return KerasVars(self.h5["layers"][gname], what, self.path)
            except (KeyError, TypeError):
                return None
        try:
            g = self.h5["model_weights"][name]
        except (KeyError, TypeError):
            return None
        raw = g.attrs.get("weight_names", [])
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in np.asarray(raw).ravel()]
        arrays = []
        for n in names:
            try:
                arrays.append(_array(g[n], what, self.path))
            except (KeyError, TypeError):
                raise fail(self.path, f"{what}: its weight {n!r} is missing") from None
        return _legacy_tree(names, arrays, name, what, self.path)
