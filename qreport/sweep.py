"""Sweeps beyond one machine: the per-model analyses on a ``dask.distributed`` cluster.

``--scheduler tcp://HOST:PORT`` on ``build`` (several models) and ``compare``
sends each model's analysis to the cluster: the task is a path (as the
workers see it: a shared file system) and the frozen options; the answer is
the facts and their provenance, which pickle; everything is rendered here,
on the client, so the output is byte-identical to a local run.  A worker
that dies mid-model has its model retried on another (Dask's own rule);
a model that kills every worker it meets fails with its one line; with no
worker left for :data:`ORPHANED` seconds the rest fail, never hang.  An
unreachable scheduler is one line within :data:`CONNECT` seconds.
Needs the extra: ``pip install qreport[dask]``.
"""

from __future__ import annotations

import time

from .errors import QReportError
from .options import Options

CONNECT = 10.0     # seconds to reach the scheduler
ORPHANED = 60.0    # seconds with no worker before the models left fail


def _client(scheduler: str):
    try:
        from distributed import Client
    except ImportError:
        raise QReportError("--scheduler needs dask.distributed: pip install 'qreport[dask]'") \
            from None
    try:
        return Client(scheduler, timeout=CONNECT)
    except (OSError, TimeoutError) as exc:
        raise QReportError(f"{scheduler}: cannot reach the Dask scheduler within {CONNECT:.0f} s "
                           f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None


def analyse_on_cluster(paths: list[str], opts: Options, scheduler: str,
                       progress=None) -> list:
    """The analysis of every model (a :class:`~qreport.batch.Outcome` each, in the order
    given), on the cluster's workers."""
    from distributed import wait

    from .batch import Outcome, analyse_one

    progress = progress or (lambda stage: None)
    client = _client(scheduler)
    got: dict[str, Outcome] = {}
    try:
        futures = {client.submit(analyse_one, p, opts, key=f"qreport-{i}-{p}", pure=False,
                                 retries=1): p for i, p in enumerate(paths)}
        pending, alone_since = set(futures), None
        progress(f"0/{len(paths)} models")
        while pending:
            try:
                done, pending = wait(pending, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:   # nothing finished within the second
                done = set()
            for fut in done:
                path = futures[fut]
                try:
                    o = fut.result()
                except Exception as exc:  # noqa: BLE001  KilledWorker and the like
                    o = Outcome(path, error=f"{path}: the Dask workers analysing it died "
                                            f"({type(exc).__name__})")
                got[path] = o
                progress(f"{len(got)}/{len(paths)} models")
            if pending and not client.scheduler_info().get("workers"):
                alone_since = alone_since or time.monotonic()
                if time.monotonic() - alone_since > ORPHANED:
                    for fut in pending:
                        got[futures[fut]] = Outcome(futures[fut], error=f"{futures[fut]}: no "
                                                    f"Dask worker left for {ORPHANED:.0f} s")
                    pending = set()
            else:
                alone_since = None
    finally:
        client.close()
    return [got[p] for p in paths]
