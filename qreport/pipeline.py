"""One model through qreport: read, analyse, render, write atomically.

The CLI calls this; so do batch builds.  Inputs are frozen
(:class:`~qreport.options.Options`), outputs are facts and a
:class:`~qreport.provenance.Provenance`, so the work pickles.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable

from .errors import QReportError
from .gcpolicy import fewer_collections
from .options import Options, RenderOptions, spelling
from .output import check_output_path, write_atomic
from .provenance import Provenance, sha256, versions
from .render import by_extension, extensions

#: Told each stage's name as the build reaches it ("loading", "analysing", …).
Progress = Callable[[str], None]


def _quiet(stage: str) -> None:
    pass


@fewer_collections()
def analyse_file(model_path: str, opts: Options = Options(), progress: Progress = _quiet,
                 extremes=None):
    """Load and analyse a model file.

    Args:
        model_path: a model file (``.keras``, ``.h5``, architecture ``.json``).
        opts: the build options (how to load it, what to assume).
        progress: told each stage.
        extremes: the sample's extremes, already measured over its shards
            (:func:`sample_shard`): the sample is then not run here.

    Returns:
        (ModelFacts, Provenance): the analysis and where it came from.

    Raises:
        QReportError: the file cannot be loaded or analysed; ``option`` names
            the setting at fault, if one is.
    """
    from .read import hgq2_file, load_file

    a = opts.analysis
    design_of(a)
    if hgq2_file(model_path):
        return _analyse_hgq2(model_path, opts, progress)
    progress("loading")
    model, weights = load_file(model_path, opts.load)
    progress("analysing")
    sample = None
    if a.sample:
        from .analysis.graph import input_names
        from .read.sample import load_sample

        sample = load_sample(a.sample, input_names(model))
    from .analysis.model import analyse_internals

    facts = analyse_internals(model, list(a.input_quantizers), sample, weights=weights is not None,
                              progress=progress, extremes=extremes, design=design_of(a),
                              float_type=a.float_type)[0]
    prov = Provenance(name=opts.render.title or model.name, file=os.path.basename(model_path),
                      sha256=sha256(model_path), **versions(),
                      weights=weights, sample=os.path.basename(a.sample) if a.sample else None,
                      architecture=model_path.lower().endswith(".json"))
    return facts, prov


def _analyse_hgq2(model_path: str, opts: Options, progress: Progress):
    """analyse_file for an HGQ2 archive: read directly, without hgq2 or Keras."""
    from .analysis.model import analyse_hgq2
    from .read import load_hgq2

    a = opts.analysis
    for key, given in (("sample", a.sample), ("input_quantizers", a.input_quantizers)):
        if given:
            raise QReportError(f"{model_path}: an HGQ2 model quantizes its own inputs and is not "
                               f"run by qreport; {spelling(key).split()[0]} does not apply",
                               option=key)
    progress("loading")
    raw = load_hgq2(model_path, opts.load)
    progress("analysing")
    facts = analyse_hgq2(raw, design=design_of(a), progress=progress)
    prov = Provenance(name=opts.render.title or raw.name, file=os.path.basename(model_path),
                      sha256=sha256(model_path), **versions())
    return facts, prov


def design_of(a):
    """The :class:`.analysis.hardware.Design` the analysis options ask for (checked early:
    a bad strategy or reuse factor fails before the model is loaded)."""
    from .analysis.floattype import FixedCast
    from .analysis.hardware import Design

    if a.float_type:
        FixedCast(a.float_type)   # a bad type: one line before the model is read
    return Design(a.strategy, a.reuse_factor, a.dsp_min_bits)


def sample_shard(model_path: str, opts: Options, rows: tuple[int, int]):
    """The extremes of the sample's rows ``(start, stop)`` on the model (a worker's shard)."""
    from .analysis.graph import input_names
    from .analysis.model import sample_extremes
    from .read import load_file
    from .read.sample import load_sample

    model, _ = load_file(model_path, opts.load)
    sample = load_sample(opts.analysis.sample, input_names(model))
    return sample_extremes(model, list(opts.analysis.input_quantizers), sample, rows,
                           float_type=opts.analysis.float_type)


def _renderer(out: str, model_paths, kind: str):
    ext = check_output_path(out, model_paths[0], extensions(kind))
    for p in model_paths[1:]:
        check_output_path(out, p, extensions(kind))
    return by_extension(ext, kind)


@contextlib.contextmanager
def _workers(renderer):
    """The PDF workers, forked now if the format lays pages out: before Keras is
    imported, so they carry none of it and import WeasyPrint while the model loads."""
    if not renderer.workers:
        yield None
        return
    from .render.workers import Workers

    w = Workers()
    try:
        yield w
    finally:
        w.close()


@fewer_collections()
def render(facts, prov: Provenance, fmt: str, opts: RenderOptions = RenderOptions(),
           workers=None, progress: Progress = _quiet) -> bytes:
    """A datasheet's bytes in the format ``fmt`` (an extension: ``json``, ``pdf``, …)."""
    r = by_extension(fmt)
    if r is None:
        raise QReportError(f"unknown report format {fmt!r}")
    return _report(r, facts, prov, opts, workers, progress)


def _report(r, facts, prov: Provenance, opts: RenderOptions, workers, progress: Progress) -> bytes:
    progress("rendering PDF" if r.workers else "rendering")
    return r.report(facts, prov, opts, workers)


@fewer_collections()
def render_diff(d, old: Provenance, new: Provenance, fmt: str,
                opts: RenderOptions = RenderOptions(), workers=None) -> bytes:
    """A diff's bytes in the format ``fmt`` (``json``, ``html``, ``pdf`` or ``md``)."""
    r = by_extension(fmt, "diff")
    if r is None:
        raise QReportError(f"unknown diff format {fmt!r}")
    return r.diff(d, old, new, opts, workers)


@fewer_collections()
def build(model_path: str, out: str, opts: Options = Options(),
          progress: Progress = _quiet) -> None:
    """Build one report and write it atomically.

    Args:
        model_path: the model file.
        out: the report's path; its extension picks the renderer.
        opts: the build options.
        progress: told each stage.

    Raises:
        QReportError: bad input or a failed build; the previous file at
            ``out`` survives any failure, and nothing half-written is left.
    """
    r = _renderer(out, [model_path], "report")
    with _workers(r) as workers:
        facts, prov = analyse_file(model_path, opts, progress)
        data = _report(r, facts, prov, opts.render, workers, progress)
    write_atomic(out, data)


@fewer_collections()
def diff_files(old_path: str, new_path: str, out: str, opts: Options = Options(),
               progress: Progress = _quiet):
    """Compare two model files and write the diff report atomically.

    Returns:
        The :class:`~qreport.review.diff.ModelDiff` (for the exit code).

    Raises:
        QReportError: bad input or a failed build; nothing is written then.
    """
    from .review.diff import diff

    r = _renderer(out, [old_path, new_path], "diff")
    with _workers(r) as workers:
        old, old_prov = analyse_file(old_path, opts, progress)
        new, new_prov = analyse_file(new_path, opts, progress)
        d = diff(old, new)
        progress("rendering PDF" if r.workers else "rendering")
        data = r.diff(d, old_prov, new_prov, opts.render, workers)
    write_atomic(out, data)
    return d


@fewer_collections()
def compare_files(paths: list[str], out: str, opts: Options = Options(), x: str = "weight_memory_bits",
                  y: str = "energy_pj", budget=None, report=None, progress: Progress = _quiet,
                  scheduler: str | None = None) -> int:
    """Analyse every model (on every core, or on a Dask cluster) and write their comparison.

    Returns:
        The number of models that could not be analysed (each told to ``report``); the
        comparison of the others is written.

    Raises:
        QReportError: a bad output path, or no model could be analysed.
    """
    from .review.compare import compare

    r = _renderer(out, paths, "compare")
    if scheduler:
        from .sweep import analyse_on_cluster

        outcomes = analyse_on_cluster(paths, opts, scheduler, progress)
    else:
        from .batch import analyse_many

        outcomes = analyse_many(paths, opts, progress)
    failed = [o.error for o in outcomes if o.error is not None]
    for line in failed:
        (report or (lambda s: None))(line)
    models = [o.analysis for o in outcomes if o.error is None]
    if not models:
        raise QReportError("no model could be analysed; nothing to compare")
    try:
        c = compare(models, x, y, budget)
    except ValueError as exc:
        raise QReportError(str(exc)) from None
    with _workers(r) as workers:
        progress("rendering PDF" if r.workers else "rendering")
        data = r.compare(c, opts.render, workers)
    write_atomic(out, data)
    return len(failed)
