"""Type signatures of PromQL functions, as in Prometheus' ``promql/parser/functions.go``.

The parser uses them to type-check calls; the engine uses ``return_type``.
``variadic``: 0 = exactly ``len(arg_types)`` arguments; n > 0 = the last
argument type may be omitted and up to n arguments of it given; -1 = the last
argument is optional and may repeat without limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ast import ValueType

__all__ = ["FunctionSignature", "FUNCTIONS", "DURATION_FUNCTIONS"]


@dataclass(frozen=True)
class FunctionSignature:
    name: str
    arg_types: tuple[ValueType, ...]
    variadic: int
    return_type: ValueType
    experimental: bool = False


_V: ValueType = "vector"
_M: ValueType = "matrix"
_S: ValueType = "scalar"
_STR: ValueType = "string"


def _sig(name: str, args: tuple[ValueType, ...], ret: ValueType = _V, *, variadic: int = 0,
         experimental: bool = False) -> FunctionSignature:
    return FunctionSignature(name, args, variadic, ret, experimental)


_TABLE = [
    *(_sig(n, (_V,)) for n in (
        "abs", "absent", "acos", "acosh", "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg",
        "exp", "floor", "histogram_avg", "histogram_count", "histogram_sum", "histogram_stddev",
        "histogram_stdvar", "ln", "log10", "log2", "rad", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt",
        "tan", "tanh", "timestamp")),
    *(_sig(n, (_M,)) for n in (
        "absent_over_time", "avg_over_time", "changes", "count_over_time", "delta", "deriv", "idelta",
        "increase", "irate", "last_over_time", "max_over_time", "min_over_time", "present_over_time", "rate",
        "resets", "stddev_over_time", "stdvar_over_time", "sum_over_time")),
    *(_sig(n, (_M,), experimental=True) for n in (
        "first_over_time", "mad_over_time", "ts_of_first_over_time", "ts_of_max_over_time",
        "ts_of_min_over_time", "ts_of_last_over_time")),
    *(_sig(n, (_V,), variadic=1) for n in (
        "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute", "month", "year")),
    *(_sig(n, (), _S, experimental=True) for n in ("start", "end", "range", "step")),
    _sig("clamp", (_V, _S, _S)),
    _sig("clamp_max", (_V, _S)),
    _sig("clamp_min", (_V, _S)),
    _sig("histogram_fraction", (_S, _S, _V)),
    _sig("histogram_quantile", (_S, _V)),
    _sig("histogram_quantiles", (_V, _STR, _S, _S), variadic=9, experimental=True),
    _sig("double_exponential_smoothing", (_M, _S, _S), experimental=True),
    _sig("info", (_V, _V), variadic=1, experimental=True),
    _sig("integral", (_M, _S), variadic=1, experimental=True),
    _sig("min_of", (_S, _S), _S, experimental=True),
    _sig("max_of", (_S, _S), _S, experimental=True),
    _sig("start_timestamp", (_V,), experimental=True),
    _sig("label_replace", (_V, _STR, _STR, _STR, _STR)),
    _sig("label_join", (_V, _STR, _STR, _STR), variadic=-1),
    _sig("pi", (), _S),
    _sig("predict_linear", (_M, _S)),
    _sig("quantile_over_time", (_S, _M)),
    _sig("round", (_V, _S), variadic=1),
    _sig("scalar", (_V,), _S),
    _sig("sort_by_label", (_V, _STR), variadic=-1, experimental=True),
    _sig("sort_by_label_desc", (_V, _STR), variadic=-1, experimental=True),
    _sig("time", (), _S),
    _sig("vector", (_S,)),
]

FUNCTIONS: dict[str, FunctionSignature] = {s.name: s for s in _TABLE}

# Functions allowed inside duration expressions (``[min_of(step(), 5m)]``), with their arity.
DURATION_FUNCTIONS: dict[str, int] = {"step": 0, "range": 0, "min_of": 2, "max_of": 2}
