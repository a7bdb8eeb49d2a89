"""Prometheus text exposition format (0.0.4) output, for ``/federate`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..model.labels import format_label_value

__all__ = ["go_float", "MetricFamily", "render_families", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def go_float(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` as the text format writes values."""
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "+Inf"
    if v == float("-inf"):
        return "-Inf"
    r = repr(float(v))
    mantissa, _, exp_text = r.partition("e")
    # Digits and decimal exponent of the shortest round-trip representation.
    sign = "-" if mantissa.startswith("-") else ""
    mantissa = mantissa.lstrip("-")
    int_part, _, frac = mantissa.partition(".")
    digits = (int_part + frac).lstrip("0")
    exp10 = int(exp_text or 0) + len(int_part) - 1
    if int_part.strip("0") == "":
        # 0.000123 -> leading zeros of the fraction lower the exponent.
        stripped = frac.lstrip("0")
        exp10 = int(exp_text or 0) - (len(frac) - len(stripped)) - 1
    digits = digits.rstrip("0") or "0"
    if digits == "0":
        return sign + "0"
    if exp10 < -4 or exp10 >= 6:  # Go: shortest "g" switches to exponents at 1e6
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    if exp10 < 0:
        return sign + "0." + "0" * (-exp10 - 1) + digits
    if len(digits) <= exp10 + 1:
        return sign + digits + "0" * (exp10 + 1 - len(digits))
    return sign + digits[: exp10 + 1] + "." + digits[exp10 + 1:]


@dataclass
class MetricFamily:
    """One metric's samples: (label pairs, value[, timestamp ms])."""

    name: str
    type: str = "untyped"
    help: str = ""
    samples: list[tuple[Sequence[tuple[str, str]], float, int | None]] = field(default_factory=list)

    def add(self, labels: Sequence[tuple[str, str]], value: float, t_ms: int | None = None) -> None:
        self.samples.append((labels, value, t_ms))


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render_families(families: Iterable[MetricFamily]) -> bytes:
    out: list[str] = []
    for fam in families:
        if fam.help:
            out.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        out.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value, t in fam.samples:
            lbl = ",".join(f"{k}={format_label_value(v)}" for k, v in labels)
            line = f"{fam.name}{{{lbl}}} {go_float(value)}" if lbl else f"{fam.name} {go_float(value)}"
            out.append(line if t is None else f"{line} {t}")
    return ("\n".join(out) + "\n").encode() if out else b""
