"""Command line: arguments, one handler per subcommand, error lines and exit codes.  Thin.

Exit codes: 0 success, 1 bad input or failed build, 2 usage error,
3 over budget (``qreport check``) or a regression (``qreport diff
--fail-on-regression``).

Every subcommand that reads a model takes the same model flags
(:func:`_model_flags`) and the same run flags (``--quiet``, ``--debug``),
and they mean the same thing everywhere.
"""

from __future__ import annotations

import argparse
import os
import sys

from .errors import QReportError
from .gcpolicy import fewer_collections
from .options import (SPELLINGS, AnalysisOptions, LoadOptions, Options, RenderOptions, command_line,
                      flag)


def _parser() -> argparse.ArgumentParser:
    from .render import help_text

    p = argparse.ArgumentParser(prog="qreport", description=(
        "Hardware datasheets for quantized Keras (QKeras) models: accumulator widths, "
        "operation types, weight/bias/MAC counts, as HTML, PDF, JSON or Markdown."))
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a report (the format follows OUT's extension), or "
                                     "one per model into a directory")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("models", nargs="*", default=[], metavar="MODEL",
                     help="model file(s): .keras, a full-model .h5, or a Keras-2 architecture "
                          ".json; several go with -o DIR/")
    src.add_argument("--example", metavar="NAME", help="use a bundled example model")
    b.add_argument("-o", "--output", required=True, metavar="OUT",
                   help=help_text("report") + "; DIR/ (or several models): DIR/<stem>.<ext> "
                        "for each model, in every --format")
    b.add_argument("--format", metavar="EXT[,EXT…]",
                   help="with -o DIR/: the formats to write, e.g. json,md,pdf (default json)")
    b.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="with -o DIR/: run the analyses on a dask.distributed cluster (pip "
                        "install qreport[dask]); the reports are rendered here")
    _model_flags(b)
    _render_flags(b, sheets=True)
    b.set_defaults(handler=_build)

    s = sub.add_parser("summary", help="print a per-layer table to the terminal")
    s.add_argument("model", help="model file (.keras, .h5, architecture .json), or example:NAME")
    _model_flags(s)
    s.set_defaults(handler=_summary)

    c = sub.add_parser("check", help="check a model against budgets: exit 0 within, 3 over budget")
    c.add_argument("model", help="model file (.keras, .h5, architecture .json), or example:NAME")
    _budget_flags(c)
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: one line per violation (default); json: the verdict as data")
    _model_flags(c)
    c.set_defaults(handler=_check)

    k = sub.add_parser("compare", help="compare a sweep of models: one row each, the Pareto "
                                       "front, the budget; the format follows OUT's extension")
    k.add_argument("models", nargs="+", metavar="MODEL",
                   help="model files (any format build reads), or example:NAME")
    k.add_argument("-o", "--output", required=True, metavar="OUT", help=help_text("compare"))
    k.add_argument("--x", default="weight_memory_bits", metavar="FIGURE",
                   help="the Pareto chart's x figure (default weight_memory_bits)")
    k.add_argument("--y", default="energy_pj", metavar="FIGURE",
                   help="its y figure (default energy_pj); figures: macs, bops, "
                        "weight_memory_bits, widest_accumulator_bits, bits_saved, energy_pj")
    k.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run the analyses on a dask.distributed cluster (pip install "
                        "qreport[dask])")
    _budget_flags(k)
    _model_flags(k)
    _render_flags(k, sheets=False)
    k.set_defaults(handler=_compare)

    d = sub.add_parser("diff", help="compare two models: what changed, layer by layer and in the "
                                    "totals; the format follows OUT's extension")
    d.add_argument("old", help="the old model file (any format build reads), or example:NAME")
    d.add_argument("new", help="the new model file, or example:NAME")
    d.add_argument("-o", "--output", required=True, metavar="OUT", help=help_text("diff"))
    d.add_argument("--fail-on-regression", action="store_true",
                   help="exit 3 when a cost figure grew (accumulator width, MACs, memory, energy)")
    _model_flags(d)
    _render_flags(d, sheets=False)
    d.set_defaults(handler=_diff)

    e = sub.add_parser("examples", help="list the bundled example models")
    _run_flags(e)
    e.set_defaults(handler=_examples)
    return p


def _budget_flags(p) -> None:
    """The limits a model must stay within (``check``; ``compare`` marks the rows within)."""
    p.add_argument("--budget", metavar="FILE.toml",
                   help="budgets from a TOML file (keys as the flags, with _: max_macs = 300000); "
                        "flags override it")
    p.add_argument("--max-accumulator-bits", type=int, metavar="N",
                   help="widest exact accumulator allowed, in bits (an operation without a fixed "
                        "width is over it)")
    p.add_argument("--max-macs", type=int, metavar="N", help="multiply-accumulates per inference")
    p.add_argument("--max-weight-memory", metavar="SIZE",
                   help="weights + bias memory, with a unit: 64KiB, 12000bits, 512B")
    p.add_argument("--max-luts", type=int, metavar="N",
                   help="estimated LUTs of the design (the rule in the README; an estimate, "
                        "not a synthesis result)")
    p.add_argument("--max-dsps", type=int, metavar="N", help="estimated DSPs of the design")
    p.add_argument("--max-bram", type=int, metavar="N",
                   help="BRAM_18K blocks of the design's weights (resource strategy)")
    p.add_argument("--max-latency-cycles", type=int, metavar="N",
                   help="estimated latency of the design in clock cycles")
    p.add_argument("--max-energy-pj", type=float, metavar="X",
                   help="estimated energy per inference in pJ (Horowitz 45 nm, as QTools: "
                        "compares designs, does not sign off power)")
    p.add_argument("--require-input-quantizer", action="store_true", default=None,
                   help="no input type may be assumed (pass --input-quantizer)")


def _run_flags(p) -> None:
    """How a run behaves, on every subcommand (``--debug`` also before it)."""
    p.add_argument("--quiet", action="store_true",
                   help="no progress line (it only appears on a terminal, never in CI logs)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks and the libraries' own messages on errors")


def _model_flags(p) -> None:
    """How a model is read and what the analysis assumes: the same on every subcommand."""
    p.add_argument(flag("input_quantizers"), action="append", default=[], metavar="Q",
                   dest="input_quantizers",
                   help="quantizer of a model input, e.g. 'quantized_bits(8,0,1)' "
                        "(repeat per input, in order, or NAME=Q); default quantized_relu(8,0)")
    p.add_argument(flag("sample"), metavar="FILE",
                   help=".npy/.npz sample for the conservative and sampled accumulator methods")
    p.add_argument(flag("unsafe_load"), action="store_true",
                   help="allow Lambda layers (runs code from the model file: trusted files only)")
    p.add_argument(flag("weights"), metavar="FILE",
                   help="weights .h5 of an architecture .json (default: <stem>_weights.h5 or "
                        "<stem>.h5 beside it; none found: an architecture-only report)")
    p.add_argument(flag("custom_objects"), metavar="FILE.py",
                   help="Python file whose Keras layer classes the model uses (runs the file: "
                        "needs --unsafe-load)")
    p.add_argument(flag("strategy"), choices=("latency", "resource", "distributed_arithmetic"),
                   default=None,
                   help="hls4ml's strategy for every layer, as in its config (default latency); "
                        "the hardware figures and the hls4ml YAML describe this design")
    p.add_argument(flag("reuse_factor"), type=int, default=None, metavar="N",
                   help="hls4ml's ReuseFactor for every layer (default 1)")
    p.add_argument(flag("dsp_min_bits"), type=int, default=None, metavar="N",
                   help="the DSP estimate's rule: a multiplier whose operands are both at least "
                        "N bits wide is one DSP (default 6, fitted to hls4ml's csynth baselines)")
    p.add_argument(flag("float_type"), metavar="TYPE", default=None,
                   help="type float layers as hls4ml's default precision does, e.g. "
                        "'ap_fixed<16,6>': float kernels, biases, outputs and unstated inputs "
                        "(truncated and wrapped, hls4ml's AP_TRN/AP_WRAP)")
    _run_flags(p)


def _render_flags(p, sheets: bool) -> None:
    """How a written report is laid out."""
    p.add_argument("--title", help="report title (default: the model's name)")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4", help="PDF paper size")
    p.add_argument(flag("chart_style"), metavar="FILE.mplstyle", default=None,
                   help="a Matplotlib style for the charts, over qreport's house style "
                        "(README 'Chart style' lists the keys qreport sets itself)")
    if sheets:
        p.add_argument(flag("sheets"), choices=("all", "mac", "none"), default="all",
                       help="layer sheets in HTML/PDF: all (default), mac (layers with MACs only), "
                            "none (summary only); JSON always has every layer")


def _options(args) -> Options:
    """The frozen options of the run, from the parsed arguments."""
    return Options(
        load=LoadOptions(unsafe_load=args.unsafe_load, weights=args.weights,
                         custom_objects=args.custom_objects),
        analysis=AnalysisOptions(input_quantizers=tuple(args.input_quantizers), sample=args.sample,
                                 **_design(args)),
        render=RenderOptions(title=getattr(args, "title", None), paper=getattr(args, "paper", "a4"),
                             sheets=getattr(args, "sheets", "all"), chart_style=_chart_style(args)))


def _chart_style(args) -> tuple:
    """The --chart-style file's pairs (read and checked); a note for each key qreport sets."""
    path = getattr(args, "chart_style", None)
    if not path:
        return ()
    from .render.mpl import overridden, read_style

    pairs = read_style(path)
    for key in overridden(pairs):
        print(f"qreport: note: {path}: {key} is set by qreport itself (README 'Chart style')",
              file=getattr(args, "stream", sys.stderr), flush=True)
    return pairs


def _design(args) -> dict:
    """Strategy, reuse factor and the DSP rule: the flags, else the budget file's, else defaults."""
    from_file = getattr(args, "design_value", {})
    out = {}
    for k in ("strategy", "reuse_factor", "dsp_min_bits", "float_type"):
        v = getattr(args, k, None)
        v = from_file.get(k) if v is None else v
        if v is not None:
            out[k] = v
    return out


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in ("check", "compare"):
        try:
            args.budget_value = _budget(args, required=args.command == "check")
        except ValueError as exc:
            parser.error(str(exc))  # a usage error: exit 2
    _quiet_tf()
    from .console import Progress, own_stderr

    try:
        with command_line(), fewer_collections(), own_stderr(args.debug) as stream:
            progress = Progress(not args.quiet, stream)
            args.stream = stream   # for notes that are not progress (a chart style's overrides)
            try:
                return args.handler(args, progress)
            finally:
                progress.done()
    except QReportError as exc:
        if args.debug:
            raise
        named = flag(exc.option) if exc.option in SPELLINGS else None
        print(f"qreport: error: {named + ': ' if named else ''}{exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("qreport: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, traceback with --debug
        if args.debug:
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"qreport: error: internal error ({type(exc).__name__}: {msg}); "
              "rerun with --debug for the traceback", file=sys.stderr)
        return 1


# ------------------------------------------------------------------ handlers

def _examples(args, progress) -> int:
    from .read import examples

    for name, path in examples().items():
        print(f"{name:12s} {path}")
    return 0


def _build(args, progress) -> int:
    from .pipeline import build
    from .read import example_path

    paths = [example_path(args.example)] if args.example else args.models
    out = args.output
    if len(paths) > 1 or out.endswith(("/", os.sep)) or os.path.isdir(out):
        return _batch(paths, args, progress)
    if args.format or args.scheduler:
        raise QReportError(f"--format and --scheduler go with several models or -o DIR/; {out} "
                           "is one file, whose extension is its format")
    build(paths[0], out, _options(args), progress)
    return 0


def _batch(paths, args, progress) -> int:
    """``build`` of several models into a directory: exit 1 if any failed, after all ran."""
    from .batch import run

    def report(line: str) -> None:
        progress.clear()
        print(f"qreport: error: {line}", file=progress.stream, flush=True)

    formats = tuple(f.strip().lstrip(".") for f in (args.format or "json").split(",") if f.strip())
    return 1 if run(paths, args.output, formats, _options(args), report, progress,
                    scheduler=args.scheduler) else 0


def _summary(args, progress) -> int:
    from .pipeline import analyse_file
    from .read import model_path
    from .render.summary import summary_text

    facts, prov = analyse_file(model_path(args.model), _options(args), progress)
    progress.done()
    sys.stdout.write(summary_text(facts, prov))
    return 0


def _compare(args, progress) -> int:
    from .pipeline import compare_files
    from .read import model_path

    def report(line: str) -> None:
        progress.clear()
        print(f"qreport: error: {line}", file=progress.stream, flush=True)

    failed = compare_files([model_path(m) for m in args.models], args.output, _options(args),
                           args.x, args.y, args.budget_value, report, progress, args.scheduler)
    return 1 if failed else 0


def _diff(args, progress) -> int:
    from .pipeline import diff_files
    from .read import model_path

    d = diff_files(model_path(args.old), model_path(args.new), args.output, _options(args), progress)
    return 3 if args.fail_on_regression and d.count("regression") else 0


def _check(args, progress) -> int:
    from . import contract
    from .pipeline import analyse_file
    from .read import model_path
    from .review.budget import check

    facts, prov = analyse_file(model_path(args.model), _options(args), progress)
    progress.done()
    budget = args.budget_value
    violations = check(facts, budget)
    if args.format == "json":
        sys.stdout.write(contract.dumps(contract.check(prov, budget, violations)))
    else:
        for v in violations:
            print(v.message)
        n = len(violations)
        print(f"qreport check: {prov.name}: " + (f"over budget ({n} violation{'s' if n != 1 else ''})"
                                                   if n else "within budget"))
    return 3 if violations else 0


def _budget(args, required: bool = True):
    """The Budget of ``check`` or ``compare``: the TOML file's, then the flags over it
    (None for ``compare`` without one).

    Raises:
        ValueError: a bad file, key or value, or no budget at all where one is
            required (a usage error).
    """
    from .review.budget import Budget

    values: dict = {}
    if args.budget:
        import tomllib

        try:
            with open(args.budget, "rb") as f:
                values = {k.replace("-", "_"): v for k, v in tomllib.load(f).items()}
            # the design the budget is for: flags override it
            args.design_value = {k: values.pop(k) for k in ("strategy", "reuse_factor",
                                                            "dsp_min_bits") if k in values}
        except OSError as exc:
            raise ValueError(f"--budget: {args.budget}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"--budget: {args.budget}: not TOML ({exc})") from None
    values.update({k: getattr(args, k) for k in Budget.keys() if getattr(args, k) is not None})
    if not values and not required:
        return None
    if not values:
        raise ValueError("check: no budget given (" + ", ".join(
            "--" + k.replace("_", "-") for k in Budget.keys()) + " or --budget FILE)")
    try:
        return Budget.from_settings(values)
    except ValueError as exc:
        raise ValueError(f"--budget: {args.budget}: {exc}" if args.budget else str(exc)) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
