"""The hls4ml configuration (``-o config.yml``): the ``hls_config`` dictionary, as YAML.

``yaml.safe_load`` of the file is what
``hls4ml.converters.convert_from_keras_model(model, hls_config=...)`` takes:
``Model`` (hls4ml's own defaults) and ``LayerName`` (one entry per node, in
graph order).  The YAML is written by hand, not by a YAML library, so that
each ``auto`` carries its reason as a comment and the bytes never depend on
a library's version.
"""

from __future__ import annotations

import json
import re

from ..analysis.facts import ModelFacts
from ..provenance import Provenance
from ..analysis.hls4ml import DEFAULT_PRECISION, hls4ml_nodes
from .text import one_line

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "none"}


def _key(name: str) -> str:
    """A mapping key: plain when YAML reads it back as the same string, else quoted."""
    if _PLAIN.match(name) and name.lower() not in _RESERVED:
        return name
    return json.dumps(name, ensure_ascii=True)  # a JSON string is a YAML double-quoted scalar


_comment = one_line  # text from a model, safe for one comment line


#: qreport's strategy names as hls4ml's config spells them
STRATEGY_NAMES = {"latency": "Latency", "resource": "Resource",
                  "distributed_arithmetic": "distributed_arithmetic"}


def _design(facts: ModelFacts) -> tuple[str, int]:
    """(Strategy, ReuseFactor) of the design the datasheet describes."""
    hw = facts.totals.hardware
    if hw is None:
        return "Latency", 1
    return STRATEGY_NAMES[hw.strategy], hw.reuse_factor


def hls4ml_yaml(facts: ModelFacts, prov: Provenance) -> str:
    """The hls4ml configuration of a model.

    Args:
        facts: the analysis.
        prov: where the facts came from (name, file, sha256, versions).

    Returns:
        YAML text, the same bytes for the same model on any machine.
    """
    if facts.library == "hgq2":
        return _hgq2_yaml(facts, prov)
    nodes = hls4ml_nodes(facts)
    out = [
        f"# hls4ml configuration for {_comment(prov.name)}, written by qreport "
        f"{_comment(prov.qreport or '?')}",
        f"# model: {_comment(prov.file)}  sha256 {prov.sha256}",
        "# hls_config for hls4ml.converters.convert_from_keras_model (hls4ml 1.3.0),",
        "# one LayerName entry per node hls4ml makes of the model:",
        "#   accum   the exact bound: the node's sum can never leave it",
        "#   result  the type the node really outputs",
        "#   weight, bias  the quantizers' types",
        "#   auto    hls4ml's own choice, where qreport has no exact type (the comment says why)",
        "Model:",
        "  Precision:",
        f"    default: {DEFAULT_PRECISION}",
        f"  ReuseFactor: {_design(facts)[1]}",
        f"  Strategy: {_design(facts)[0]}",
        "  BramFactor: 1000000000",
        "  TraceOutput: false",
        "LayerName:",
    ]
    for n in nodes:
        out.append(f"  {_key(n.name)}:")
        out += [f"    # {_comment(t)}" for t in n.notes]
        out.append("    Precision:")
        for s in n.precision:
            line = f"      {s.key}: {s.value}"
            if s.value == "auto" and s.why:
                line += f"  # {_comment(s.why)}"
            out.append(line)
    return "\n".join(out) + "\n"


def _hgq2_yaml(facts: ModelFacts, prov: Provenance) -> str:
    """An HGQ2 model's configuration: the design only, no precision overrides.

    hls4ml derives an HGQ2 model's types itself (its BitExact pass, from the
    trained formats and the weights); HGQ2 warns against overriding them.  The
    comments give, per layer, what it derives beside qreport's exact bound.
    """
    out = [
        f"# hls4ml configuration for {_comment(prov.name)} (HGQ2), written by qreport "
        f"{_comment(prov.qreport or '?')}",
        f"# model: {_comment(prov.file)}  sha256 {prov.sha256}",
        "# hls_config for hls4ml.converters.convert_from_keras_model (hls4ml 1.3.0).",
        "# No precision overrides: hls4ml's BitExact pass derives every type of an HGQ2",
        "# model from its trained formats and weights. What it derives for each",
        "# accumulator, beside qreport's exact bound:",
    ]
    for l in facts.layers:
        a = l.accumulator
        if a is not None and l.hls4ml_type:
            b = a.bound.fixed if a.bound is not None and a.bound.fixed else "none"
            same = "the same" if b.replace("ap_", "") == l.hls4ml_type else "differs"
            out.append(f"#   {_comment(l.name)}: accum_t {l.hls4ml_type}; exact bound {b} ({same})")
    out += ["Model:",
            f"  ReuseFactor: {_design(facts)[1]}",
            f"  Strategy: {_design(facts)[0]}",
            "  BramFactor: 1000000000",
            "  TraceOutput: false"]
    return "\n".join(out) + "\n"
