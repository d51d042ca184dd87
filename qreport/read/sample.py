"""A sample file: one array per model input, for the sampled accumulator methods."""

from __future__ import annotations

import os

from ..errors import QReportError


def load_sample(path: str, input_names: tuple[str, ...]) -> list:
    """Arrays from .npy/.npz, one per model input (by key, else in order)."""
    import numpy as np

    if not os.path.isfile(path):
        raise QReportError(f"{path}: sample file not found")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.files)
                if all(n in keys for n in input_names):
                    return [z[n] for n in input_names]
                positional = [f"arr_{i}" for i in range(len(input_names))]
                if keys == positional:  # np.savez(file, a, b): in input order
                    return [z[k] for k in keys]
                raise QReportError(f"{path}: has arrays {', '.join(keys) or '(none)'}; expected "
                                   f"{', '.join(input_names)} (the model's input names)")
        if path.endswith(".npy"):
            if len(input_names) != 1:
                raise QReportError(f"{path}: the model has {len(input_names)} inputs; use an .npz "
                                   f"with arrays named {', '.join(input_names)}")
            return [np.load(path, allow_pickle=False)]
    except ValueError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    except OSError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    raise QReportError(f"{path}: sample must be .npy or .npz")
