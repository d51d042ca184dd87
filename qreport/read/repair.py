"""QKeras layers that qkeras-v3 1.2.1 saves but cannot load again, repaired on load.

Each repair is a subclass with the same class name (so the analysis's
registry sees the QKeras class it knows), used only while qreport loads a
model; the user's file is never touched.

- ``QDenseBatchnorm``: its config carries the batch norm's
  ``synchronized``/``renorm*`` keys, which its constructor refuses.
- ``QDenseBatchnorm``, ``QDepthwiseConv2DBatchnorm``: they save their step
  counter twice (as a tracked variable and under ``iteration``), and
  Keras then finds one variable too many.
- ``QAdaptiveActivation``: ``quantization_delay``, ``ema_freeze_delay``
  and ``ema_decay`` are saved as tensors, which come back as dicts its
  constructor cannot compare with numbers.
"""

from __future__ import annotations

import contextlib
import functools

#: keys of the batch norm's config the BN-folded layers' constructors refuse
_BN_EXTRA = ("synchronized", "renorm", "renorm_clipping", "renorm_momentum")
_TENSOR_KEYS = ("quantization_delay", "ema_freeze_delay", "ema_decay", "current_step")


def _load_folded(layer, store) -> None:
    """Load a BN-folded layer's own variables, with or without its step counter among them.

    The numbered entries are the layer's own variables in order; the step
    counter (``_iteration``) is among them or not, depending on whether it
    was tracked when the file was saved, and is also stored as ``iteration``.
    """
    own = list(layer._trainable_variables) + list(layer._non_trainable_variables)
    numbered = [store[k] for k in sorted((k for k in store.keys() if str(k).isdigit()), key=int)]
    others = [v for v in own if v is not layer._iteration]
    if len(numbered) == len(own):
        pairs = zip(own, numbered)
    elif len(numbered) == len(others):
        pairs = zip(others, numbered)
    else:
        raise ValueError(f"layer {layer.name!r} has {len(others)} variables besides its step "
                         f"counter; the file holds {len(numbered)}")
    for v, x in pairs:
        v.assign(x)
    if "iteration" in store.keys():
        layer._iteration.assign(store["iteration"])


def _plain(v):
    """A config value saved as a tensor, back to a number."""
    if isinstance(v, dict) and v.get("class_name") == "__tensor__":
        return v.get("config", {}).get("value")
    return v


def _folded(base):
    """A BN-folded QKeras layer class, named as its base, that loads what qkeras-v3 saves."""
    def from_config(cls, config):
        return super(repaired, cls).from_config({k: v for k, v in config.items()
                                                 if k not in _BN_EXTRA})

    repaired = type(base.__name__, (base,), {
        "from_config": classmethod(from_config),
        "load_own_variables": lambda self, store: _load_folded(self, store),
    })
    return repaired


@functools.lru_cache(maxsize=1)
def classes() -> dict:
    """{name: repaired class} for every name Keras may look the classes up by."""
    import qkeras

    QDenseBatchnorm = _folded(qkeras.QDenseBatchnorm)
    QDepthwiseConv2DBatchnorm = _folded(qkeras.QDepthwiseConv2DBatchnorm)

    class QAdaptiveActivation(qkeras.QAdaptiveActivation):
        @classmethod
        def from_config(cls, config):
            return super().from_config({k: _plain(v) if k in _TENSOR_KEYS else v
                                        for k, v in config.items()})

    out = {}
    for c in (QDenseBatchnorm, QDepthwiseConv2DBatchnorm, QAdaptiveActivation):
        c.__module__ = "qkeras.repaired"
        out[c.__name__] = c
        out[f"qkeras>{c.__name__}"] = c
    return out


@contextlib.contextmanager
def registered(repaired: dict):
    """Let the repaired classes win over qkeras's own registrations while loading.

    Keras merges its global registry over the objects a caller passes, and
    qkeras registers some of these classes there under ``qkeras>Name``; the
    entries are swapped for the duration of the load and put back after.
    """
    from keras.src.saving import object_registration

    table = object_registration.GLOBAL_CUSTOM_OBJECTS
    saved = {k: table[k] for k in repaired if k in table}
    table.update({k: repaired[k] for k in saved})
    try:
        yield
    finally:
        table.update(saved)
