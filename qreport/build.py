"""The build pipeline: load, analyse, render, write.  The CLI calls this."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib import resources

from .errors import QReportError
from .output import check_output_path, write_atomic

FORMATS = ("json", "html", "pdf", "md", "yml", "yaml")


def examples() -> dict[str, str]:
    """Bundled example models: name -> path inside the installed package."""
    root = resources.files("qreport.bundled")
    return {p.name[:-6]: str(p) for p in sorted(root.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".keras")}


def example_path(name: str) -> str:
    ex = examples()
    if name not in ex:
        raise QReportError(f"unknown example {name!r}; available: {', '.join(ex)}")
    return ex[name]


@dataclass
class Options:
    input_quantizers: list = field(default_factory=list)
    sample: str | None = None
    title: str | None = None
    unsafe_load: bool = False
    paper: str = "a4"
    sheets: str = "all"  # all | mac | none (HTML and PDF; JSON has every layer)
    weights: str | None = None          # weights file of an architecture .json
    custom_objects: str | None = None   # Python file of custom layer classes (runs it)
    progress: object = None  # callable(stage) or None


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"keras": v("keras"), "qkeras": v("qkeras-v3"), "qreport": v("qreport")}


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_sample(path: str, input_names: tuple[str, ...]) -> list:
    """Arrays from .npy/.npz, one per model input (by key, else in order)."""
    import numpy as np

    if not os.path.isfile(path):
        raise QReportError(f"{path}: sample file not found")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.files)
                if all(n in keys for n in input_names):
                    return [z[n] for n in input_names]
                positional = [f"arr_{i}" for i in range(len(input_names))]
                if keys == positional:  # np.savez(file, a, b): in input order
                    return [z[k] for k in keys]
                raise QReportError(f"{path}: has arrays {', '.join(keys) or '(none)'}; expected "
                                   f"{', '.join(input_names)} (the model's input names)")
        if path.endswith(".npy"):
            if len(input_names) != 1:
                raise QReportError(f"{path}: the model has {len(input_names)} inputs; use an .npz "
                                   f"with arrays named {', '.join(input_names)}")
            return [np.load(path, allow_pickle=False)]
    except ValueError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    except OSError as exc:
        raise QReportError(f"{path}: cannot read sample: {exc}") from None
    raise QReportError(f"{path}: sample must be .npy or .npz")


def analyse_file(model_path: str, opts: Options):
    """Load and analyse a model file.

    Args:
        model_path: a ``.keras`` (or ``.h5``) file.
        opts: the build options (input quantizers, sample, title, unsafe load).

    Returns:
        (ModelFacts, meta): the analysis and the model block of the report
        (name, file, sha256, tool versions, sample).

    Raises:
        QReportError: the file cannot be loaded or analysed; ``option`` names
            the option at fault, if one is.
    """
    from .analysis.errors import AnalysisError
    from .analysis.model import analyse
    from .loader import load, user_objects

    stage = opts.progress or (lambda s: None)
    stage("loading")
    custom = None
    if opts.custom_objects:
        if not opts.unsafe_load:
            raise QReportError(f"{opts.custom_objects}: --custom-objects runs that Python file; "
                               "pass --unsafe-load too if you trust it")
        custom = user_objects(opts.custom_objects)
    model, weights = load(model_path, unsafe=opts.unsafe_load, weights=opts.weights, custom=custom)
    architecture = model_path.lower().endswith(".json")
    stage("analysing")
    try:
        sample = None
        if opts.sample:
            from .analysis.graph import input_names

            sample = load_sample(opts.sample, input_names(model))
        facts = analyse(model, opts.input_quantizers, sample, weights=weights is not None)
    except AnalysisError as exc:
        raise QReportError(str(exc), option=exc.option) from None
    meta = {"name": opts.title or model.name, "file": os.path.basename(model_path),
            "sha256": sha256(model_path), **versions()}
    if architecture:
        meta["weights"] = weights
    if opts.sample:
        meta["sample"] = os.path.basename(opts.sample)
    return facts, meta


def render(facts, meta, fmt: str, opts: Options, workers=None) -> bytes:
    """The report's bytes.

    Args:
        facts, meta: as :func:`analyse_file` returns them.
        fmt: ``json``, ``html``, ``pdf``, ``md`` (Markdown for a pull request), or
            ``yml``/``yaml`` (the hls4ml configuration).
        opts: the build options (paper, sheets, progress).
        workers: started PDF workers (``render.pdf.Workers``), or None to start them here.

    Returns:
        The bytes of the report, the same for the same model on any machine.
    """
    from .render.jsonreport import dumps, report_dict

    if fmt == "json":
        return dumps(report_dict(facts, meta)).encode()
    if fmt == "md":
        from .render.markdown import markdown

        return markdown(facts, meta).encode()
    if fmt in ("yml", "yaml"):
        from .render.hls4ml import hls4ml_yaml

        return hls4ml_yaml(facts, meta).encode()
    stage = opts.progress or (lambda s: None)
    from .render.html import render_document

    stage("charts")
    if fmt == "html":  # the HTML embeds the JSON report; the PDF does not
        html, _ = render_document(facts, meta, report_dict(facts, meta), media="screen",
                                  sheets=opts.sheets)
        return html.encode()
    from .render.html import render_parts

    parts, assets = render_parts(facts, meta, paper=opts.paper, sheets=opts.sheets)
    stage("rendering PDF")
    from .render.pdf import render_pdf

    return render_pdf(parts, meta, assets=assets, paper=opts.paper, workers=workers)


def build(model_path: str, out: str, opts: Options) -> None:
    """Build one report and write it atomically.

    Args:
        model_path: the model file.
        out: the report's path; its suffix (.json, .html, .pdf, .md, .yml/.yaml) picks the format.
        opts: the build options.

    Raises:
        QReportError: bad input or a failed build; the previous file at
            ``out`` survives any failure, and nothing half-written is left.
    """
    fmt = check_output_path(out, model_path, FORMATS)
    workers = None
    if fmt == "pdf":
        # Forked now, before TensorFlow is imported: the PDF workers import
        # WeasyPrint while the model loads, and carry no TensorFlow.
        from .render.pdf import Workers

        workers = Workers()
    try:
        facts, meta = analyse_file(model_path, opts)
        data = render(facts, meta, fmt, opts, workers)
    finally:
        if workers is not None:
            workers.close()
    write_atomic(out, data)


DIFF_FORMATS = ("json", "html", "pdf", "md")


def render_diff(d, old_meta: dict, new_meta: dict, fmt: str, opts: Options, workers=None) -> bytes:
    """The bytes of a diff report (``json``, ``html``, ``pdf`` or ``md``)."""
    from .render.diffjson import diff_dict
    from .render.jsonreport import dumps

    if fmt == "json":
        return dumps(diff_dict(d, old_meta, new_meta)).encode()
    if fmt == "md":
        from .render.markdown import diff_markdown

        return diff_markdown(d, old_meta, new_meta).encode()
    from .render import diffhtml

    if fmt == "html":
        return diffhtml.render_diff_html(d, old_meta, new_meta,
                                         diff_dict(d, old_meta, new_meta)).encode()
    from .render.pdf import render_pdf

    parts, assets = diffhtml.render_diff_parts(d, old_meta, new_meta, paper=opts.paper)
    meta = {**new_meta, "name": f"{old_meta['name']} → {new_meta['name']}",
            "subject": f"Diff of {old_meta['file']} (sha256 {old_meta['sha256']}) and "
                       f"{new_meta['file']} (sha256 {new_meta['sha256']})"}
    return render_pdf(parts, meta, assets=assets, paper=opts.paper, workers=workers)


def diff_files(old_path: str, new_path: str, out: str, opts: Options):
    """Compare two model files and write the diff report atomically.

    Returns:
        The :class:`.analysis.diff.ModelDiff` (for the exit code).

    Raises:
        QReportError: bad input or a failed build; nothing is written then.
    """
    from .analysis.diff import diff

    fmt = check_output_path(out, old_path, DIFF_FORMATS)
    check_output_path(out, new_path, DIFF_FORMATS)
    workers = None
    if fmt == "pdf":
        from .render.pdf import Workers

        workers = Workers()
    try:
        old, old_meta = analyse_file(old_path, opts)
        new, new_meta = analyse_file(new_path, opts)
        d = diff(old, new)
        data = render_diff(d, old_meta, new_meta, fmt, opts, workers)
    finally:
        if workers is not None:
            workers.close()
    write_atomic(out, data)
    return d
