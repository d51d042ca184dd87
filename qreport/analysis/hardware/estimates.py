"""The estimate rules' calibration and their measured error against public synthesis results.

Two data files ship beside this module, both written by ``bench/vivado.py``
(never by hand):

- ``calibration.json``: the coefficients of the resource-strategy model
  (:func:`resource_model`), fitted by non-negative least squares on relative
  error to the 2-layer designs of the public wa-hls4ml benchmark (Vivado
  2023.2 on xcu250, hls4ml ``Resource``, reuse factor 1024–4093);
- ``errors.json``: each estimated figure's measured error per regime
  (median and 90th percentile of |estimate − measured| / measured, the
  number of designs, the source), from data the fit never saw.

A regime no public data covers has no entry, and the figure says
*unvalidated* instead of a number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True)
class ErrorStat:
    """An estimate's measured error: |estimate − measured| / measured over ``n`` designs."""

    median: float
    p90: float
    n: int
    source: str

    def label(self) -> str:
        return f"±{self.median:.0%} median, ±{self.p90:.0%} p90 (n = {self.n})"


def _load(name: str) -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text())


@lru_cache(maxsize=1)
def calibration() -> dict:
    return _load("calibration.json")


@lru_cache(maxsize=1)
def _errors() -> dict:
    return _load("errors.json")


def regime(strategy: str, reuse_factor: int) -> str:
    """The regime an estimate's error was measured in: hls4ml's implementation differs, and
    the resource model is validated only over the reuse factors it was fitted and checked on."""
    if strategy == "resource" and reuse_factor > 1:
        lo, hi = calibration()["resource"].get("reuse_factors", (0, 0))
        return "resource" if lo <= reuse_factor <= hi else "resource outside the measured reuse factors"
    if strategy in ("latency", "resource"):
        # at reuse factor 1 both build constant multipliers and adder trees (the same rules,
        # measured at RF 1 only); latency with shared multipliers is not measured
        return "latency" if reuse_factor == 1 else "latency with reuse factor > 1"
    return strategy


#: figures whose error is another's: da4ml's cost is the DA design's LUT estimate
_SAME_AS = {"da_cost": "lut"}


def error(figure: str, strategy: str, reuse_factor: int) -> ErrorStat | None:
    """The measured error of ``figure`` in this design's regime (None: unvalidated)."""
    e = _errors()["regimes"].get(regime(strategy, reuse_factor), {}).get(_SAME_AS.get(figure, figure))
    return ErrorStat(**e) if e else None


#: The resource model's terms, in the order of the coefficients (README "Estimates").
LUT_TERMS = ("accumulator_bits", "input_bits", "fabric_multiplier_bits", "rom_lutram",
             "output_bits")
FF_TERMS = ("accumulator_bits", "input_bits", "pipeline_bits", "output_bits")


def resource_terms(n_in: int, n_out: int, rf: int, block: int, data_bits: int,
                   weight_bits: int, acc_bits: int, out_bits: int, on_dsp: bool) -> dict:
    """What hls4ml's ``dense_resource`` builds for one layer, as the model's terms.

    Read from ``nnet_dense_resource.h``: ``block`` = ceil(n_in·n_out/RF)
    multipliers each read one weight word per cycle from a ROM of depth RF
    (``rom_lutram``: its bits over 64, a LUT6 holding 64), an input of n_in
    words selected per cycle (``input_bits``), ``n_out`` accumulators
    (``accumulator_bits``), the registered output (``output_bits``), a
    multiplier in fabric where it is not on a DSP (``fabric_multiplier_bits``:
    data × weight / 2), and the pipeline registers behind every multiplier.
    """
    return {
        "accumulator_bits": n_out * acc_bits,
        "input_bits": n_in * data_bits,
        "fabric_multiplier_bits": 0 if on_dsp else block * data_bits * weight_bits / 2,
        "rom_lutram": block * weight_bits * rf / 64,
        "output_bits": n_out * out_bits,
        "pipeline_bits": block * (data_bits + weight_bits + acc_bits),
    }


def resource_model(terms: dict) -> tuple[float, float]:
    """(LUT, FF) of one resource-strategy layer: the fitted coefficients times its terms."""
    c = calibration()["resource"]
    lut = sum(c["lut"][k] * terms[k] for k in LUT_TERMS)
    ff = sum(c["ff"][k] * terms[k] for k in FF_TERMS)
    return lut, ff


def shared_dsp_bits() -> int:
    """The narrowest weight a shared (ROM-fed) multiplier takes a DSP for, as measured."""
    return int(calibration()["resource"]["dsp_min_weight_bits"])


def resource_latency() -> tuple[int, int]:
    """(cycles a resource layer adds beyond its reuse factor, cycles the model adds)."""
    c = calibration()["resource"]["latency"]
    return int(c["per_layer"]), int(c["per_model"])
