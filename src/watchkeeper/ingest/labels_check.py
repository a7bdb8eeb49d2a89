"""Label-set validation shared by the push decoders."""

from __future__ import annotations

import operator
import re

from .errors import IngestError

__all__ = ["check_label_pairs", "is_legacy_label_name", "is_legacy_metric_name"]

_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_first = operator.itemgetter(0)


def is_legacy_label_name(name: str) -> bool:
    return _LEGACY_LABEL.fullmatch(name) is not None


def is_legacy_metric_name(name: str) -> bool:
    return _LEGACY_METRIC.fullmatch(name) is not None


def check_label_pairs(pairs: list[tuple[str, str]], *, legacy_names: bool, where: str) -> None:
    """Raise ``IngestError(400)`` unless names are non-empty, valid and strictly sorted.

    With ``legacy_names`` names must match Prometheus' classic charset (as 2.x enforced);
    otherwise any non-empty UTF-8 name is accepted, as in Prometheus 3.
    """
    if not legacy_names:
        names = list(map(_first, pairs))
        if "" not in names and all(map(operator.lt, names, names[1:])):
            return  # the common case, checked without a Python-level loop
    prev = None
    for name, value in pairs:
        if not name:
            raise IngestError(400, f"invalid {where}: empty label name (value {value!r})")
        if legacy_names:
            ok = is_legacy_metric_name(value) if name == "__name__" else is_legacy_label_name(name)
            if not ok:
                what = f"metric name {value!r}" if name == "__name__" else f"label name {name!r}"
                raise IngestError(400, f"invalid {where}: {what} is not a valid Prometheus name")
        if prev is not None and name <= prev:
            why = "duplicate label" if name == prev else f"labels not sorted: {name!r} after {prev!r}"
            raise IngestError(400, f"invalid {where}: {why}")
        prev = name
