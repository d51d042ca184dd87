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
    """One model of a batch: its files' bytes by extension, or the line that says why not."""

    path: str
    files: dict | None = None
    error: str | None = None


def build_one(path: str, formats: tuple[str, ...], opts: Options, workers=None) -> Outcome:
    """Analyse one model and render it in every format, in memory (a worker's task)."""
    from .pipeline import analyse_file, render

    try:
        facts, prov = analyse_file(path, opts)
        return Outcome(path, {f: render(facts, prov, f, opts.render, workers) for f in formats})
    except QReportError as exc:
        return Outcome(path, error=str(exc))
    except Exception as exc:  # noqa: BLE001  a bug: still one line, this model only
        msg = " ".join(str(exc).split())[:300]
        return Outcome(path, error=f"{path}: internal error ({type(exc).__name__}: {msg})")


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
        report=None, progress=None, jobs: int | None = None) -> int:
    """Build every model; write its files; report each failure with one line.

    Args:
        paths: the model files.
        out_dir: where ``<stem>.<ext>`` go (made if missing).
        formats: extensions, e.g. ``("json", "pdf")``.
        opts: the options, the same for every model.
        report: told each failure's line (default: ignored).
        progress: told ``"K/N models"`` as models finish.
        jobs: worker processes (default: one per core, at most one per model).

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
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    todo = list(paths)
    while todo:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init) as pool:
            futures = {pool.submit(build_one, p, formats, opts): p for p in todo}
            todo = []
            broken = []
            for fut in as_completed(futures):
                try:
                    finish(fut.result())
                except BrokenProcessPool:
                    broken.append(futures[fut])
        if broken:   # the pool died: the model that killed it is among these
            if len(broken) == 1 or jobs == 1:
                for p in broken:
                    finish(Outcome(p, error=f"{p}: the process building it died "
                                            "(out of memory, or a crash in a library)"))
            else:        # retry them one at a time, so only the culprit fails
                for p in broken:
                    finish(_isolated(p, formats, opts))
    return failed


def _isolated(path: str, formats, opts) -> Outcome:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init) as pool:
        try:
            return pool.submit(build_one, path, formats, opts).result()
        except BrokenProcessPool:
            return Outcome(path, error=f"{path}: the process building it died "
                                       "(out of memory, or a crash in a library)")
