"""Command line: argument parsing, error reporting, exit codes.  Thin.

Exit codes: 0 success, 1 bad input or failed build, 2 usage error,
3 over budget (``qreport check``) or a regression (``qreport diff
--fail-on-regression``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import warnings

from .errors import QReportError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="qreport", description=(
        "Hardware datasheets for quantized Keras (QKeras) models: accumulator widths, "
        "operation types, weight/bias/MAC counts, as HTML, PDF or JSON."))
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a report; the format follows OUT's extension")
    src = b.add_mutually_exclusive_group(required=True)
    src.add_argument("model", nargs="?", help="model file: .keras, a full-model .h5, or a Keras-2 architecture .json")
    src.add_argument("--example", metavar="NAME", help="use a bundled example model")
    b.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="report file: .json, .html, .pdf or .md (Markdown for a pull request); .yml/.yaml writes the hls4ml configuration")
    _common(b)
    b.add_argument("--title", help="report title (default: the model's name)")
    b.add_argument("--paper", choices=("a4", "letter"), default="a4", help="PDF paper size")
    b.add_argument("--sheets", choices=("all", "mac", "none"), default="all",
                   help="layer sheets in HTML/PDF: all (default), mac (layers with MACs only), "
                        "none (summary only); JSON always has every layer")
    b.add_argument("--quiet", action="store_true", help="no progress output")

    s = sub.add_parser("summary", help="print a per-layer table to the terminal")
    s.add_argument("model", help="model file (.keras, .h5, architecture .json), or example:NAME")
    _common(s)

    c = sub.add_parser("check", help="check a model against budgets: exit 0 within, 3 over budget")
    c.add_argument("model", help="model file (.keras, .h5, architecture .json), or example:NAME")
    c.add_argument("--budget", metavar="FILE.toml",
                   help="budgets from a TOML file (keys as the flags, with _: max_macs = 300000); "
                        "flags override it")
    c.add_argument("--max-accumulator-bits", type=int, metavar="N",
                   help="widest exact accumulator allowed, in bits (an operation without a fixed "
                        "width is over it)")
    c.add_argument("--max-macs", type=int, metavar="N", help="multiply-accumulates per inference")
    c.add_argument("--max-weight-memory", metavar="SIZE",
                   help="weights + bias memory, with a unit: 64KiB, 12000bits, 512B")
    c.add_argument("--max-energy-pj", type=float, metavar="X",
                   help="estimated energy per inference in pJ (Horowitz 45 nm, as QTools: "
                        "compares designs, does not sign off power)")
    c.add_argument("--require-input-quantizer", action="store_true", default=None,
                   help="no input type may be assumed (pass --input-quantizer)")
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: one line per violation (default); json: the verdict as data")
    _common(c)

    d = sub.add_parser("diff", help="compare two models: what changed, layer by layer and in the "
                                    "totals; the format follows OUT's extension")
    d.add_argument("old", help="the old model file (any format build reads), or example:NAME")
    d.add_argument("new", help="the new model file, or example:NAME")
    d.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="diff report: .json (schema qreport-diff/1), .html, .pdf or .md")
    d.add_argument("--paper", choices=("a4", "letter"), default="a4", help="PDF paper size")
    d.add_argument("--fail-on-regression", action="store_true",
                   help="exit 3 when a cost figure grew (accumulator width, MACs, memory, energy)")
    _common(d)

    sub.add_parser("examples", help="list the bundled example models")
    return p


def _common(p):
    p.add_argument("--input-quantizer", action="append", default=[], metavar="Q",
                   help="quantizer of a model input, e.g. 'quantized_bits(8,0,1)' "
                        "(repeat per input, in order, or NAME=Q); default quantized_relu(8,0)")
    p.add_argument("--sample", metavar="FILE",
                   help=".npy/.npz sample for the conservative and sampled accumulator methods")
    p.add_argument("--unsafe-load", action="store_true",
                   help="allow Lambda layers (runs code from the model file: trusted files only)")
    p.add_argument("--weights", metavar="FILE",
                   help="weights .h5 of an architecture .json (default: <stem>_weights.h5 or "
                        "<stem>.h5 beside it; none found: an architecture-only report)")
    p.add_argument("--custom-objects", metavar="FILE.py",
                   help="Python file whose Keras layer classes the model uses (runs the file: "
                        "needs --unsafe-load)")


def _quiet_tf() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


class _Progress:
    """A status line on stderr for builds that take more than a moment.

    Only on a terminal (never in CI logs or pipes), never with --quiet, and
    only once the build has run for DELAY seconds: fast builds print nothing.
    A background thread redraws the line with the stage and elapsed time.
    """

    DELAY = 1.5
    STAGES = ("loading", "analysing", "charts", "rendering PDF")

    def __init__(self, enabled: bool, stream=None):
        import threading
        import time

        self.stream = stream or sys.stderr
        self.enabled = enabled and self.stream.isatty() and not os.environ.get("CI")
        self._time = time.monotonic
        self.start = self._time()
        self.stage = ""
        self.shown = False
        self._stop = threading.Event()
        self._thread = None
        if self.enabled:
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()

    def __call__(self, stage: str) -> None:
        self.stage = stage

    def _line(self) -> str:
        n = self.STAGES.index(self.stage) + 1 if self.stage in self.STAGES else 0
        bar = "#" * n + "." * (len(self.STAGES) - n)
        return f"\r\033[Kqreport [{bar}] {self.stage}… {self._time() - self.start:4.1f} s"

    def _tick(self) -> None:
        while not self._stop.wait(0.2):
            if self.stage and self._time() - self.start >= self.DELAY:
                self.stream.write(self._line())
                self.stream.flush()
                self.shown = True

    def done(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


#: The flag of each build option an error can be about.
FLAGS = {"input_quantizers": "--input-quantizer", "sample": "--sample"}


@contextlib.contextmanager
def _own_stderr(debug: bool):
    """Only qreport's own lines reach stderr: yields the stream for them.

    Libraries write to stderr behind Python's back (absl and TensorFlow's
    C++ logging, Keras's UserWarnings, qkeras's [WARNING] lines, WeasyPrint),
    so for the run file descriptor 2 points at /dev/null, Python warnings
    are ignored, and qreport's progress line gets a copy of the real
    stderr.  With --debug everything shows.
    """
    if debug:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(2)
    own = os.fdopen(os.dup(saved), "w", buffering=1, encoding="utf-8", errors="replace")
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    python_stderr, sys.stderr = sys.stderr, open(os.devnull, "w")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield own
    finally:
        sys.stderr.close()
        sys.stderr = python_stderr
        os.dup2(saved, 2)
        os.close(saved)
        own.close()


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "check":
        try:
            args.budget_value = _budget(args)
        except ValueError as exc:
            parser.error(str(exc))  # a usage error: exit 2
    _quiet_tf()
    try:
        with _own_stderr(args.debug) as stream:
            return _run(args, stream)
    except QReportError as exc:
        if args.debug:
            raise
        flag = FLAGS.get(exc.option)
        print(f"qreport: error: {flag + ': ' if flag else ''}{exc}", file=sys.stderr)
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


def _run(args, stream=None) -> int:
    from . import build as b

    if args.command == "examples":
        for name, path in b.examples().items():
            print(f"{name:12s} {path}")
        return 0
    opts = b.Options(input_quantizers=args.input_quantizer, sample=args.sample,
                     unsafe_load=args.unsafe_load, weights=args.weights,
                     custom_objects=args.custom_objects)
    if args.command == "check":
        return _check(args, opts)
    if args.command == "diff":
        opts.paper = args.paper
        d = b.diff_files(_model_path(args.old), _model_path(args.new), args.output, opts)
        return 3 if args.fail_on_regression and d.count("regression") else 0
    if args.command == "summary":
        facts, meta = b.analyse_file(_model_path(args.model), opts)
        from .render.summary import summary_text

        sys.stdout.write(summary_text(facts, meta))
        return 0
    path = b.example_path(args.example) if args.example else args.model
    opts.title, opts.paper, opts.sheets = args.title, args.paper, args.sheets
    prog = _Progress(not args.quiet, stream)
    opts.progress = prog
    try:
        b.build(path, args.output, opts)
    finally:
        prog.done()
    return 0


def _budget(args):
    """The Budget of ``qreport check``: the TOML file's, then the flags over it.

    Raises:
        ValueError: a bad file, key or value, or no budget at all (a usage error).
    """
    from .analysis.budget import Budget

    values: dict = {}
    if args.budget:
        import tomllib

        try:
            with open(args.budget, "rb") as f:
                values = {k.replace("-", "_"): v for k, v in tomllib.load(f).items()}
        except OSError as exc:
            raise ValueError(f"--budget: {args.budget}: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"--budget: {args.budget}: not TOML ({exc})") from None
    values.update({k: getattr(args, k) for k in Budget.keys() if getattr(args, k) is not None})
    try:
        return Budget.from_settings(values)
    except ValueError as exc:
        raise ValueError(f"--budget: {args.budget}: {exc}" if args.budget else str(exc)) from None


def _model_path(arg: str) -> str:
    """A model argument: a file, or example:NAME for a bundled example."""
    from . import build as b

    return b.example_path(arg.split(":", 1)[1]) if arg.startswith("example:") else arg


def _check(args, opts) -> int:
    from . import build as b
    from .analysis.budget import check

    facts, meta = b.analyse_file(_model_path(args.model), opts)
    budget = args.budget_value
    violations = check(facts, budget)
    if args.format == "json":
        from .render.jsonreport import dumps

        sys.stdout.write(dumps({
            "schema": "qreport-check/1",
            "model": {k: meta[k] for k in ("name", "file", "sha256")},
            "budget": budget.to_json(), "within_budget": not violations,
            "violations": [v.to_json() for v in violations]}))
    else:
        for v in violations:
            print(v.message)
        n = len(violations)
        print(f"qreport check: {meta['name']}: " + (f"over budget ({n} violation{'s' if n != 1 else ''})"
                                                   if n else "within budget"))
    return 3 if violations else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
