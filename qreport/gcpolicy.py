"""Fewer garbage collections while qreport works (README, "How the PDF is made", item 7).

CPython collects its youngest generation after every 700 new container
objects, and every tenth of those collections walks the middle one, every
hundredth the whole heap: TensorFlow's and Keras's objects, or WeasyPrint's
boxes.  Loading a Keras model and laying out a page allocate millions of
short-lived dicts, lists and boxes, almost none of them in cycles, so most
of those walks find nothing: measured on the 300-layer bench model, they
were ~12% of loading it and 18-25% of a PDF worker's CPU.

:func:`fewer_collections` raises the thresholds for the length of a call and
puts the caller's back afterwards (a library caller's process keeps its
own policy); :func:`for_worker` sets them for good in a process qreport owns
(a PDF worker), after moving what start-up imported out of the collector's
sight.  Nothing is switched off: cycles are still found, only less often,
and a PDF worker collects after each part, so peak memory stays as it
was (bench: peak PSS 1.13x the floor for mlp300).
"""

from __future__ import annotations

import contextlib
import gc

#: (youngest, middle, oldest): a young collection per 50,000 new objects
#: instead of 700; the older generations as rarely, relative to it.
THRESHOLDS = (50_000, 20, 100)


@contextlib.contextmanager
def fewer_collections():
    """Within it, the collector runs with :data:`THRESHOLDS`; the caller's are restored after."""
    before = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def for_worker() -> None:
    """In a process qreport owns, after its imports: those objects are never
    walked again (``gc.freeze``), and the thresholds stay raised."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
