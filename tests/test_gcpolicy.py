"""The garbage-collection policy: raised thresholds for the length of a call,
the caller's restored after it, cycles still freed, and PDF workers set for good."""

import gc
import weakref

import pytest

from qreport.errors import QReportError
from qreport.gcpolicy import THRESHOLDS, fewer_collections
from qreport.pipeline import analyse_file, build


@pytest.fixture
def caller_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_a_library_call_runs_raised_and_gives_the_caller_its_thresholds_back(
        caller_thresholds, example_paths):
    seen = []
    analyse_file(example_paths["jet_mlp"], progress=lambda stage: seen.append(gc.get_threshold()))
    assert seen and all(t == THRESHOLDS for t in seen)
    assert gc.get_threshold() == caller_thresholds


def test_the_thresholds_come_back_when_the_call_fails(caller_thresholds, tmp_path):
    with pytest.raises(QReportError):
        build(str(tmp_path / "missing.keras"), str(tmp_path / "out.json"))
    assert gc.get_threshold() == caller_thresholds


class _Node:
    pass


def test_cycles_are_still_freed_without_an_explicit_collect(caller_thresholds):
    with fewer_collections():
        gc.collect()                       # counts at zero: no collection before the del
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None          # a cycle: reference counting alone keeps it
        junk = [[] for _ in range(3 * THRESHOLDS[0])]   # enough new objects for a young collection
        assert gone() is None
        del junk


def _state():
    return gc.get_threshold(), gc.get_freeze_count()


def test_a_pdf_worker_keeps_raised_thresholds_and_its_imports_frozen():
    from qreport.render.workers import Workers

    w = Workers(2)
    try:
        thresholds, frozen = w.pool.submit(_state).result(timeout=120)
    finally:
        w.close()
    assert thresholds == THRESHOLDS
    assert frozen > 10_000      # WeasyPrint's and Matplotlib's objects, never walked again
