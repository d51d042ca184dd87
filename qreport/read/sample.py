"""A sample file: one array per model input, for the sampled accumulator methods.

A ``.npy`` is read row range by row range (:class:`NpyRows`), never whole,
so a calibration set of any size streams through the analysis in the
memory of one batch.  An ``.npz`` member is read whole when used.
"""

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
            return [NpyRows(path)]
    except ValueError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    except OSError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    raise QReportError(f"{path}: sample must be .npy or .npz")


class NpyRows:
    """An ``.npy`` file's array, read by row ranges with plain reads (no memory map,
    whose pages would stay resident as the file is read).

    It has ``shape``, ``dtype`` and ``ndim``; ``rows[a:b]`` reads rows a … b-1;
    ``numpy.asarray(rows)`` reads it all.
    """

    def __init__(self, path: str):
        import numpy as np

        self.path = path
        with open(path, "rb") as f:
            fmt = np.lib.format
            version = fmt.read_magic(f)
            read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read(f, max_header_size=1 << 16)
            self.offset = f.tell()
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed (allow_pickle=False)")
        if fortran and len(shape) > 1:
            raise ValueError("Fortran-ordered arrays are not supported; save it C-ordered")
        self.shape, self.dtype, self.ndim = tuple(shape), dtype, len(shape)
        self._row = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize if shape else 0
        if shape and os.path.getsize(path) < self.offset + shape[0] * self._row:
            raise ValueError("the file is shorter than its header says")

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 0

    def __getitem__(self, index):
        import numpy as np

        if not isinstance(index, slice) or not self.shape:
            return np.asarray(self)[index]
        start, stop, step = index.indices(self.shape[0])
        if step != 1:
            return np.asarray(self)[index]
        n = max(stop - start, 0)
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * self._row)
            data = f.read(n * self._row)
        if len(data) != n * self._row:
            raise ValueError(f"{self.path}: file is shorter than its header says")
        return np.frombuffer(data, dtype=self.dtype).reshape((n, *self.shape[1:]))

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        with open(self.path, "rb") as f:
            a = np.load(f, allow_pickle=False)
        return a.astype(dtype) if dtype is not None else a
