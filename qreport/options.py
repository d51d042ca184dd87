"""The settings of a build, as frozen (picklable) values, and how each is spelt.

A build reads a model (:class:`LoadOptions`), analyses it
(:class:`AnalysisOptions`) and formats the facts (:class:`RenderOptions`);
:class:`Options` holds the three.  They are frozen and hold only strings,
numbers and tuples, so a batch or a Dask worker gets exactly what the
command line asked for.

Every setting has one name (the field's) and two spellings: its flag on the
command line and its argument in Python.  Messages name a setting through
:func:`spelling`, which gives the command line's flags while the CLI runs
(:func:`command_line`) and the Python names otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass, field

#: name -> (command-line flag, Python spelling)
SPELLINGS = {
    "input_quantizers": ("--input-quantizer", "input_quantizers=[...]"),
    "sample": ("--sample", "sample="),
    "unsafe_load": ("--unsafe-load", "unsafe_load=True"),
    "weights": ("--weights", "weights="),
    "custom_objects": ("--custom-objects FILE.py", "custom_objects="),
    "sheets": ("--sheets", "sheets="),
    "strategy": ("--strategy", "strategy="),
    "reuse_factor": ("--reuse-factor", "reuse_factor="),
    "dsp_min_bits": ("--dsp-min-bits", "dsp_min_bits="),
    "float_type": ("--float-type", "float_type="),
    "chart_style": ("--chart-style FILE.mplstyle", "chart_style="),
}

_CLI = contextvars.ContextVar("qreport_cli", default=False)


def spelling(name: str, cli: bool | None = None) -> str:
    """How the user states the setting ``name``: its flag under the CLI, else its Python name."""
    flag, python = SPELLINGS[name]
    return flag if (_CLI.get() if cli is None else cli) else python


def flag(name: str) -> str:
    """The command-line flag of the setting ``name`` (without a metavar)."""
    return SPELLINGS[name][0].split(" ")[0]


@contextlib.contextmanager
def command_line():
    """Within it, messages name the command line's flags."""
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


@dataclass(frozen=True)
class LoadOptions:
    """How a model file is read.

    ``unsafe_load`` allows Lambda layers (code from the file); ``weights`` is
    the weights file of an architecture ``.json``; ``custom_objects`` a
    Python file of layer classes (it runs, so it needs ``unsafe_load``).
    """

    unsafe_load: bool = False
    weights: str | None = None
    custom_objects: str | None = None


@dataclass(frozen=True)
class AnalysisOptions:
    """What the analysis assumes: the inputs' types, an optional sample file, and the
    design hls4ml is to make of the model (strategy, reuse factor; the DSP rule's width)."""

    input_quantizers: tuple[str, ...] = ()
    sample: str | None = None
    strategy: str = "latency"          # latency | resource | distributed_arithmetic
    reuse_factor: int = 1
    dsp_min_bits: int = 6
    float_type: str | None = None      # e.g. "ap_fixed<16,6>": float layers as hls4ml types them


@dataclass(frozen=True)
class RenderOptions:
    """How the facts are laid out: the title, PDF paper, which layer sheets, and a team's
    chart style.

    ``chart_style`` is the (key, value) pairs of a ``.mplstyle`` file; given a path,
    the file is read (and checked) here, so the options carry its content to any
    worker, not a path it may not have.
    """

    title: str | None = None
    paper: str = "a4"
    sheets: str = "all"  # all | mac | none (HTML and PDF; JSON has every layer)
    chart_style: tuple = ()

    def __post_init__(self):
        if isinstance(self.chart_style, (str, os.PathLike)):
            from .render.mpl import read_style

            object.__setattr__(self, "chart_style", read_style(self.chart_style))


@dataclass(frozen=True)
class Options:
    """Every setting of one build."""

    load: LoadOptions = field(default_factory=LoadOptions)
    analysis: AnalysisOptions = field(default_factory=AnalysisOptions)
    render: RenderOptions = field(default_factory=RenderOptions)

    @classmethod
    def of(cls, **settings) -> Options:
        """Options from flat settings (``paper="letter", sample="x.npy"``), each in its group."""
        groups = {"load": LoadOptions, "analysis": AnalysisOptions, "render": RenderOptions}
        parts: dict[str, dict] = {g: {} for g in groups}
        for k, v in settings.items():
            g = next((g for g, c in groups.items() if k in c.__dataclass_fields__), None)
            if g is None:
                raise TypeError(f"unknown setting {k!r}")
            parts[g][k] = tuple(v) if k == "input_quantizers" else v
        return cls(**{g: groups[g](**parts[g]) for g in groups})
