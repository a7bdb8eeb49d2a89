"""PromQL function implementations, vectorized over all series and steps.

``FUNCTIONS`` maps a function name to its implementation; the engine builds a
``FuncCall`` with the evaluated arguments and calls it once per query node.
"""

from __future__ import annotations

from . import dates, elementwise, histogram, info, misc, native, over_time, rate, relabel
from .base import FuncCall, FunctionImpl

__all__ = ["FUNCTIONS", "NATIVE_FUNCTIONS", "FuncCall", "FunctionImpl"]

FUNCTIONS: dict[str, FunctionImpl] = {
    **rate.FUNCTIONS,
    **over_time.FUNCTIONS,
    **elementwise.FUNCTIONS,
    **dates.FUNCTIONS,
    **relabel.FUNCTIONS,
    **misc.FUNCTIONS,
    **histogram.FUNCTIONS,
    **info.FUNCTIONS,
}

# Histogram-aware implementations, used when an argument carries native-histogram samples.
NATIVE_FUNCTIONS: dict[str, FunctionImpl] = native.native_functions(FUNCTIONS,
                                                                    histogram.format_openmetrics_float)
