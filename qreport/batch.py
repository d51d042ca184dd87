"""Many models in one command: ``qreport build A.keras B.h5 … -o DIR/ --format json,pdf``.

One process pays the start once per core: the models are spread over
worker processes (spawned, so each imports Keras once on its own backend,
and none inherits another's threads), each renders every format of its
model in memory, and the parent writes ``DIR/<stem>.<ext>`` atomically.  A
model that fails gets its one line and the others still build; a worker
that dies fails the models it held, with a line each, and the rest go on
in a new pool.  The work sent is paths and frozen options, so the same
function serves a Dask worker (:mod:`.sweep`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import QReportError
from .options import Options
from .output import write_atomic


@dataclass(frozen=True)
class Outcome:
    """One model of a batch: what its task gave (files' bytes by extension, or
    (facts, provenance)), or the line that says why not."""

    path: str
    files: dict | None = None
    error: str | None = None
    analysis: tuple | None = None


def _guarded(task, path: str, *args) -> Outcome:
    """task(path, *args) as an Outcome: an error is its one line, never an exception."""
    try:
        return task(path, *args)
    except QReportError as exc:
        return Outcome(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001  a bug: still one line, this model only
        msg = " ".join(str(exc).split())[:300]
        return Outcome(path, error=f"{path}: internal error ({type(exc).__name__}: {msg})")


def analyse_one(path: str, opts: Options) -> Outcome:
    """Analyse one model: (facts, provenance), which pickle (a worker's task)."""
    from .pipeline import analyse_file

    return _guarded(lambda p: Outcome(p, analysis=analyse_file(p, opts)), path)


def shard_one(path: str, opts: Options, rows: tuple[int, int]):
    """The sample's extremes over rows on one model (a Dask worker's shard), or the error line."""
    from .pipeline import sample_shard

    try:
        return sample_shard(path, opts, rows)
    except QReportError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001
        return f"{path}: internal error ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})"


def analyse_merged(path: str, opts: Options, shards: list) -> Outcome:
    """Analyse one model with the extremes of every shard of its sample, merged exactly."""
    from .pipeline import analyse_file

    errors = [e for e in shards if isinstance(e, str)]
    if errors:
        return Outcome(path, error=errors[0])
    merged = shards[0]
    for e in shards[1:]:
        merged = merged.merge(e)
    return _guarded(lambda p: Outcome(p, analysis=analyse_file(p, opts, extremes=merged)), path)


def build_one(path: str, formats: tuple[str, ...], opts: Options, workers=None) -> Outcome:
    """Analyse one model and render it in every format, in memory (a worker's task)."""
    from .pipeline import analyse_file, render

    def task(p):
        facts, prov = analyse_file(p, opts)
        return Outcome(p, {f: render(facts, prov, f, opts.render, workers) for f in formats})

    return _guarded(task, path)


def plan(paths: list[str], out_dir: str, formats: tuple[str, ...]) -> dict[str, str]:
    """{model path: output stem path}, checked before any work.

    Raises:
        QReportError: two models with the same stem, an unknown format, or an
            output directory that cannot be made.
    """
    from .render import extensions

    bad = [f for f in formats if f not in extensions("report")]
    if bad or not formats:
        raise QReportError(f"--format: unknown format {', '.join(bad) or '(none)'} "
                           f"(use {', '.join(extensions('report'))})")
    stems: dict[str, str] = {}
    for p in paths:
        stem = os.path.splitext(os.path.basename(p))[0]
        if stem in stems:
            raise QReportError(f"{p} and {stems[stem]} have the same name {stem!r}: their "
                               f"reports would overwrite each other in {out_dir}")
        stems[stem] = p
    parent = os.path.dirname(os.path.abspath(out_dir.rstrip("/")))
    if not os.path.isdir(parent):
        raise QReportError(f"{out_dir}: its parent directory {parent} does not exist")
    os.makedirs(out_dir, exist_ok=True)
    return {p: os.path.join(out_dir, s) for s, p in stems.items()}


def _init() -> None:
    os.environ["QREPORT_JOBS"] = "1"   # one model per core: a PDF lays out serially
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent stops the pool


def workers_for(n: int) -> int:
    from .render.workers import cores

    return max(1, min(cores(), n))


def run(paths: list[str], out_dir: str, formats: tuple[str, ...], opts: Options,
        report=None, progress=None, jobs: int | None = None, scheduler: str | None = None) -> int:
    """Build every model; write its files; report each failure with one line.

    Args:
        paths: the model files.
        out_dir: where ``<stem>.<ext>`` go (made if missing).
        formats: extensions, e.g. ``("json", "pdf")``.
        opts: the options, the same for every model.
        report: told each failure's line (default: ignored).
        progress: told ``"K/N models"`` as models finish.
        jobs: worker processes (default: one per core, at most one per model).
        scheduler: a dask.distributed scheduler's address: the analyses run there,
            the rendering here (:mod:`.sweep`).

    Returns:
        The number of models that failed.

    Raises:
        QReportError: the batch cannot start (:func:`plan`).
    """
    targets = plan(paths, out_dir, formats)
    report = report or (lambda line: None)
    progress = progress or (lambda stage: None)
    jobs = jobs or workers_for(len(paths))
    failed = 0
    done = 0

    def finish(o: Outcome) -> None:
        nonlocal failed, done
        done += 1
        if o.error is None:
            try:
                for ext, data in o.files.items():
                    write_atomic(f"{targets[o.path]}.{ext}", data)
            except QReportError as exc:
                o = Outcome(o.path, error=str(exc))
        if o.error is not None:
            failed += 1
            report(o.error)
        progress(f"{done}/{len(paths)} models")

    if scheduler:
        _on_cluster(paths, formats, opts, scheduler, finish, lambda stage: None)
        return failed
    progress(f"0/{len(paths)} models")
    if jobs == 1:
        workers = None
        if "pdf" in formats:   # forked once, before Keras is imported, for every PDF
            from .render.workers import Workers

            workers = Workers()
        try:
            for p in paths:
                finish(build_one(p, formats, opts, workers))
        finally:
            if workers is not None:
                workers.close()
        return failed
    pool_map(build_one, paths, (formats, opts), jobs, finish)
    return failed


def _on_cluster(paths, formats, opts, scheduler, finish, progress) -> None:
    """Analyses on the cluster, every format rendered here (the output a local run writes)."""
    from .pipeline import render
    from .sweep import analyse_on_cluster

    for o in analyse_on_cluster(paths, opts, scheduler, progress):
        if o.error is None:
            facts, prov = o.analysis
            o = _guarded(lambda p: Outcome(p, {f: render(facts, prov, f, opts.render)
                                               for f in formats}), o.path)
        finish(o)


def pool_map(task, paths: list[str], args: tuple, jobs: int, finish) -> None:
    """finish(task(path, *args)) for every path, in spawned worker processes, as each ends.

    A worker that dies breaks the pool: the models it had not finished are
    run again one at a time, so only the one that kills its process fails
    (with a line saying so).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    broken = []
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init) as pool:
        futures = {pool.submit(task, p, *args): p for p in paths}
        for fut in as_completed(futures):
            try:
                finish(fut.result())
            except BrokenProcessPool:
                broken.append(futures[fut])
    for p in broken:
        finish(_isolated(task, p, args) if len(broken) > 1 else _died(p))


def _died(path: str) -> Outcome:
    return Outcome(path, error=f"{path}: the process building it died "
                               "(out of memory, or a crash in a library)")


def _isolated(task, path: str, args: tuple) -> Outcome:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init) as pool:
        try:
            return pool.submit(task, path, *args).result()
        except BrokenProcessPool:
            return _died(path)


def analyse_many(paths: list[str], opts: Options, progress=None,
                 jobs: int | None = None) -> list[Outcome]:
    """The analysis of every model (an Outcome each, in the order given), on every core."""
    progress = progress or (lambda stage: None)
    jobs = jobs or workers_for(len(paths))
    got: dict[str, Outcome] = {}

    def finish(o: Outcome) -> None:
        got[o.path] = o
        progress(f"{len(got)}/{len(paths)} models")

    progress(f"0/{len(paths)} models")
    if jobs == 1:
        for p in paths:
            finish(analyse_one(p, opts))
    else:
        pool_map(analyse_one, paths, (opts,), jobs, finish)
    return [got[p] for p in paths]
