"""Sweeps beyond one machine: the per-model analyses on a ``dask.distributed`` cluster.

``--scheduler tcp://HOST:PORT`` on ``build`` (several models) and ``compare``
sends each model's analysis to the cluster: the task is a path (as the
workers see it: a shared file system) and the frozen options; the answer is
the facts and their provenance, which pickle.  With ``--sample`` (a
``.npy``) the sample is cut into one row range per worker: each runs its
shard and returns the running minima and maxima, which merge exactly, and
one more task fills the facts from them.  Everything is rendered here,
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


def _shards(opts: Options, workers: int) -> list[tuple[int, int]] | None:
    """Row ranges of the sample, one per worker (None: no sample, or not a .npy to cut)."""
    sample = opts.analysis.sample
    if not sample or not sample.endswith(".npy") or workers < 2:
        return None
    from .read.sample import NpyRows

    try:
        n = len(NpyRows(sample))
    except (OSError, ValueError):
        return None          # the analysis says what is wrong with it
    k = min(workers, n)
    if k < 2:
        return None
    cuts = [n * i // k for i in range(k + 1)]
    return [(a, b) for a, b in zip(cuts, cuts[1:])]


def _submit(client, i: int, path: str, opts: Options, shards):
    """One model's analysis; with a cut sample, its shards first, then the merge."""
    from .batch import analyse_merged, analyse_one, shard_one

    if shards is None:
        return client.submit(analyse_one, path, opts, key=f"qreport-{i}-{path}", pure=False,
                             retries=1)
    parts = [client.submit(shard_one, path, opts, rows, key=f"qreport-{i}-{j}-{path}",
                           pure=False, retries=1) for j, rows in enumerate(shards)]
    return client.submit(analyse_merged, path, opts, parts, key=f"qreport-{i}-merge-{path}",
                         pure=False, retries=1)


def analyse_on_cluster(paths: list[str], opts: Options, scheduler: str,
                       progress=None) -> list:
    """The analysis of every model (a :class:`~qreport.batch.Outcome` each, in the order
    given), on the cluster's workers."""
    from distributed import wait

    from .batch import Outcome

    progress = progress or (lambda stage: None)
    client = _client(scheduler)
    got: dict[str, Outcome] = {}
    try:
        shards = _shards(opts, len(client.scheduler_info().get("workers", {})))
        futures = {_submit(client, i, p, opts, shards): p for i, p in enumerate(paths)}
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
