"""Where a report's facts came from: the model file, its hash, the tools, the date.

A :class:`Provenance` is frozen and travels with the facts from the
pipeline to every renderer (and back from a Dask worker); the JSON
contract writes it as the report's ``model`` block.
"""

from __future__ import annotations

import datetime
import hashlib
import os
from dataclasses import dataclass

@dataclass(frozen=True)
class Provenance:
    """The model block of a report.

    ``architecture`` is True for an architecture ``.json``, whose weights
    file the report states: ``weights`` is the one read, or None when there
    was none (an architecture-only report).  A file that holds its own
    weights states none.  ``sample`` is the sample file's name, when one was
    used.
    """

    name: str
    file: str
    sha256: str
    keras: str | None
    qkeras: str | None
    qreport: str | None
    weights: str | None = None
    sample: str | None = None
    architecture: bool = False


def versions() -> dict:
    """The versions of the tools that shape the numbers and the layout."""
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"keras": v("keras"), "qkeras": v("qkeras-v3"), "qreport": v("qreport")}


def sha256(path: str) -> str:
    """The file's SHA-256, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def source_datetime() -> datetime.datetime | None:
    """SOURCE_DATE_EPOCH as a UTC datetime, or None: reports carry a date only
    when it asks for one (the HTML cover and the PDF metadata read this)."""
    sde = os.environ.get("SOURCE_DATE_EPOCH")
    if sde and sde.isdigit():
        return datetime.datetime.fromtimestamp(int(sde), datetime.timezone.utc)
    return None


#: The ``file`` of facts analysed from a model in memory (no file was read).
IN_MEMORY = "in memory"


def in_memory(name: str) -> Provenance:
    """The provenance of facts that came from a model in memory, not a file.

    There is no file to hash: ``sha256`` is left empty here, and the JSON
    report puts in it the hash of its own layers and totals
    (:func:`qreport.contract.content_sha256`).
    """
    return Provenance(name=name, file=IN_MEMORY, sha256="", **versions())
