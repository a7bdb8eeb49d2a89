"""Parser for PromQL ``.test`` scripts (Prometheus' promqltest format).

A script is a sequence of ``load``/``load_with_nhcb`` blocks, ``clear`` lines and
``eval`` blocks; see ../shared/conformance/promql/FORMAT.md for the format. This
module only turns text into commands; ``promqltest`` runs them. Times are
integer milliseconds since the epoch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import re2

from ..gocompat.durations import parse_duration
from ..model.batch import STALE_NAN
from ..model.labels import Labels
from . import ast
from .errors import ParseError
from .parser import parse, parse_labels
from .testhistogram import HistogramLiteral, HistogramLiteralError, parse_histogram_body

__all__ = [
    "ScriptError", "Value", "LoadCmd", "ClearCmd", "EvalCmd", "Expectation", "Command", "parse_script",
    "parse_series_line", "parse_value_sequence", "parse_number_line", "parse_start_timestamp_sequence",
]

# One slot of a value sequence: None (no sample), a float (possibly the stale NaN) or a histogram.
Value = float | HistogramLiteral | None

_SPACE = re.compile(r"[\t ]+")
_LOAD = re.compile(r"^load(?:_(with_nhcb))?\s+(.+?)$")
_EVAL_INSTANT = re.compile(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(
    r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$")
_EXPECT_RANGE = re.compile(r"^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$")
_NUM = r"(?:[+-]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))"
_UNSIGNED = r"(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)"
_ITEM = re.compile(rf"^({_NUM})(?:([+-])({_UNSIGNED}))?(?:x(\d+))?$", re.IGNORECASE)
_HIST_ITEM = re.compile(r"^\{\{(.*?)\}\}(?:([+-])\{\{(.*?)\}\})?(?:x(\d+))?$", re.DOTALL)
_ST_DURATION = r"([+-]?\d+(?:ms|[smhdwy])?)"
_ST_ITEM = re.compile(rf"^{_ST_DURATION}(?:([+-])(\d+(?:ms|[smhdwy])?))?(?:x(\d+))?$")


class ScriptError(ValueError):
    """The script is malformed; ``line`` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def _duration_ms(text: str) -> int:
    """A non-negative Prometheus duration (``0``, ``5m``, ``1m30s``) in milliseconds."""
    if text.strip() == "0":
        return 0
    try:
        return int(parse_duration(text.strip()))
    except (ParseError, ValueError) as e:
        raise ValueError(f"invalid duration {text!r}: {e}") from None


# --------------------------------------------------------------------------- value sequences


def _split_items(text: str) -> list[str]:
    """Split a value sequence on whitespace, keeping ``{{...}}`` literals (which contain spaces) whole."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        j = i
        while j < n and text[j] not in " \t":
            if text.startswith("{{", j):
                end = text.find("}}", j + 2)
                if end < 0:
                    raise ValueError(f"unterminated histogram literal in {text[i:]!r}")
                j = end + 2
            else:
                j += 1
        items.append(text[i:j])
        i = j
    return items


def _expand_floats(start: float, delta: float, times: int) -> list[float]:
    """``start, start+delta, ...`` (times+1 values) by repeated addition, as Prometheus does.

    ``np.cumsum`` adds sequentially, so it reproduces the rounding of a running sum.
    """
    steps = np.full(times + 1, delta, dtype=np.float64)
    steps[0] = start
    return np.cumsum(steps).tolist()


def _expand_item(item: str) -> list[Value]:
    if item == "_":
        return [None]
    if item.startswith("_x"):
        count = item[2:]
        if not count.isdigit():
            raise ValueError(f"invalid repetition in {item!r}")
        return [None] * int(count)
    if item == "stale":
        return [STALE_NAN]
    if item.startswith("{{"):
        m = _HIST_ITEM.match(item)
        if m is None:
            raise ValueError(f"invalid histogram item {item!r}")
        body, op, inc, times = m.groups()
        hist = parse_histogram_body(body)
        if op is None:
            return [hist] * (int(times) + 1 if times else 1)
        if times is None:
            raise ValueError(f"missing repetition count in {item!r}")
        delta = parse_histogram_body(inc)
        sign = 1.0 if op == "+" else -1.0
        out: list[Value] = [hist]
        current = hist
        for _ in range(int(times)):
            current = current.combine(delta, sign)
            out.append(current)
        return out
    m = _ITEM.match(item)
    if m is None:
        raise ValueError(f"invalid value {item!r}")
    start_text, op, delta_text, times = m.groups()
    start = float(start_text)  # Python reads Inf/NaN case-insensitively, as the lexer does
    if op is not None:
        if times is None:
            raise ValueError(f"missing repetition count in {item!r}")
        delta = float(delta_text) * (1.0 if op == "+" else -1.0)
        return list(_expand_floats(start, delta, int(times)))
    if times is not None:
        return [start] * (int(times) + 1)
    return [start]


def parse_value_sequence(text: str) -> list[Value]:
    """Expand a value sequence (``1 _ 0+10x4 stale {{count:1}}x2``) into one entry per slot."""
    out: list[Value] = []
    for item in _split_items(text):
        try:
            out.extend(_expand_item(item))
        except HistogramLiteralError as e:
            raise ValueError(str(e)) from None
    return out


def _split_descriptor(line: str) -> tuple[str, str]:
    """Split ``name{l="v"} rest`` into descriptor and rest, honouring quotes inside the braces."""
    i, n = 0, len(line)
    while i < n and line[i] not in " \t{@":
        i += 1
    if i < n and line[i] == "{":
        quote = ""
        while i < n:
            c = line[i]
            if quote:
                if c == "\\" and quote != "`":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'`":
                quote = c
            elif c == "}":
                i += 1
                break
            i += 1
        else:
            raise ValueError(f"unterminated label set in {line!r}")
    return line[:i], line[i:]


def _parse_descriptor(text: str) -> Labels:
    try:
        return parse_labels(text)
    except ParseError as e:
        raise ValueError(f"invalid series descriptor {text!r}: {e}") from None


def parse_series_line(line: str) -> tuple[Labels, list[Value]]:
    """Parse ``<series-descriptor> <value-sequence>``."""
    desc, rest = _split_descriptor(line.strip())
    if not desc:
        raise ValueError(f"missing series descriptor in {line!r}")
    return _parse_descriptor(desc), parse_value_sequence(rest)


# --------------------------------------------------------------------------- start timestamps


def _st_duration(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    return sign * _duration_ms(text.lstrip("+-"))


def parse_start_timestamp_sequence(text: str) -> list[int | None]:
    """Expand an ``@st`` sequence: per slot the start-timestamp offset (ms) from the sample, or None."""
    out: list[int | None] = []
    for item in text.split():
        previous = next((v for v in reversed(out) if v is not None), 0)
        if item == "_":
            out.append(None)
        elif item.startswith("_x") and item[2:].isdigit():
            out.extend([None] * int(item[2:]))
        elif item == "*":
            out.append(previous)
        elif item.startswith("*x") and item[2:].isdigit():
            out.extend([previous] * (int(item[2:]) + 1))
        else:
            m = _ST_ITEM.match(item)
            if m is None:
                raise ValueError(f"invalid start-timestamp item {item!r}")
            base_text, op, delta_text, times = m.groups()
            base = _st_duration(base_text)
            if op is None:
                out.extend([base] * (int(times) + 1 if times else 1))
                continue
            if times is None:
                raise ValueError(f"missing repetition count in {item!r}")
            delta = _duration_ms(delta_text) * (1 if op == "+" else -1)
            out.extend(base + k * delta for k in range(int(times) + 1))
    return out


# --------------------------------------------------------------------------- commands


@dataclass
class LoadCmd:
    """Samples to store: series ``labels`` has ``values[i]`` at ``i * step_ms``."""

    line: int
    step_ms: int
    with_nhcb: bool = False
    series: dict[Labels, list[Value]] = field(default_factory=dict)
    # Start-timestamp offsets (ms from each sample's own timestamp) from ``@st`` lines.
    start_timestamps: dict[Labels, list[int | None]] = field(default_factory=dict)


@dataclass
class ClearCmd:
    line: int


@dataclass
class Expectation:
    """One ``expect <type> [msg:|regex:]`` line: exact message, regex search, or (both None) anything."""

    message: str | None = None
    regex: str | None = None

    def matches(self, text: str) -> bool:
        if self.message is not None:
            return text == self.message
        if self.regex is not None:
            return re2.search(self.regex, text) is not None  # Go regexp syntax, unanchored
        return True

    def __str__(self) -> str:
        if self.message is not None:
            return f"msg: {self.message}"
        return f"regex: {self.regex}" if self.regex is not None else "(any)"


@dataclass
class EvalCmd:
    """An instant or range evaluation and what it must produce."""

    line: int
    expr: str
    is_range: bool
    start_ms: int  # instant: evaluation time; range: first step
    end_ms: int = 0
    step_ms: int = 0
    ordered: bool = False
    fail: Expectation | None = None
    warn_expected: bool = False  # ``eval_warn``: at least one warning
    info_expected: bool = False  # ``eval_info``: at least one info
    warns: list[Expectation] = field(default_factory=list)
    infos: list[Expectation] = field(default_factory=list)
    no_warn: bool = False
    no_info: bool = False
    # ``expect range vector from S to E step P``: an instant query returning a matrix.
    range_vector: tuple[int, int, int] | None = None
    expected_string: str | None = None
    expected_scalar: float | None = None
    # Expected series: labels -> (1-based position among series lines, values).
    expected: dict[Labels, tuple[int, list[Value]]] = field(default_factory=dict)

    @property
    def eval_ms(self) -> int:
        """Time of an instant query (``expect range vector`` evaluates at its end time)."""
        return self.range_vector[1] if self.range_vector else self.start_ms

    @property
    def has_histograms(self) -> bool:
        return any(isinstance(v, HistogramLiteral) for _, vals in self.expected.values() for v in vals)


Command = LoadCmd | ClearCmd | EvalCmd


def parse_number_line(text: str) -> float | None:
    """A body line that is entirely a number (Go ParseInt base 0, else ParseFloat), else None."""
    s = text.strip()
    body = s.lstrip("+-")
    neg = s.startswith("-")
    if re.fullmatch(r"0[0-7]+", body):
        return float(-int(body, 8) if neg else int(body, 8))
    if re.fullmatch(r"0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9]+", body):
        v = float(int(body, 0))
        return -v if neg else v
    if re.fullmatch(r"(?i)(inf|infinity|nan|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)", body):
        return float(s)
    if re.fullmatch(r"(?i)0x[0-9a-f]*\.?[0-9a-f]*p[+-]?\d+", body):
        v = float.fromhex(body)
        return -v if neg else v
    return None


def _parse_string_literal(text: str) -> str:
    """Unquote a Go string literal by parsing it as a PromQL string expression (same escapes)."""
    try:
        node = parse(text)
    except ParseError:
        node = None
    if not isinstance(node, ast.StringLiteral):
        raise ValueError(f"expected string literal not valid - check that the string is correctly quoted: "
                         f"{text}")
    return node.val


def _check_regex(pattern: str) -> None:
    try:
        re2.compile(pattern)
    except re2.error as e:
        raise ValueError(f"invalid regexp {pattern!r}: {e}") from None


def _parse_expect(text: str) -> tuple[str, Expectation]:
    m = _EXPECT.match(text)
    if m is None:
        raise ValueError("invalid expect statement, must match `expect <type> <match_type>: <string>` format")
    kind, qualifier, arg = m.groups()
    if qualifier == "msg":
        return kind, Expectation(message=arg.strip())
    if qualifier == "regex":
        pattern = arg.strip()
        _check_regex(pattern)
        return kind, Expectation(regex=pattern)
    return kind, Expectation()


def _apply_expect(cmd: EvalCmd, kind: str, exp: Expectation) -> None:
    if kind == "fail":
        if cmd.fail is not None:
            raise ValueError("invalid expect lines, multiple expect fail lines are not allowed")
        cmd.fail = exp
    elif kind == "ordered":
        cmd.ordered = True
    elif kind == "warn":
        cmd.warns.append(exp)
    elif kind == "info":
        cmd.infos.append(exp)
    elif kind == "no_warn":
        cmd.no_warn = True
    else:
        cmd.no_info = True
    if cmd.warns and cmd.no_warn:
        raise ValueError("invalid expect lines, warn and no_warn cannot be used together")
    if cmd.infos and cmd.no_info:
        raise ValueError("invalid expect lines, info and no_info cannot be used together")


def _parse_eval_header(line: str, lineno: int) -> EvalCmd:
    m = _EVAL_INSTANT.match(line)
    if m is not None:
        mod, at, expr = m.groups()
        if not at:
            raise ValueError("missing evaluation time ('at <time>')")
        cmd = EvalCmd(line=lineno, expr=expr, is_range=False, start_ms=_duration_ms(at))
    else:
        m = _EVAL_RANGE.match(line)
        if m is None:
            raise ValueError("invalid evaluation command. Must be either 'eval[_fail|_warn|_info|_ordered] "
                             "instant at <offset:duration> <query>' or 'eval[_fail|_warn|_info] range from "
                             "<from> to <to> step <step> <query>'")
        mod, start, end, step, expr = m.groups()
        start_ms, end_ms, step_ms = _duration_ms(start), _duration_ms(end), _duration_ms(step)
        if end_ms < start_ms:
            raise ValueError(f"invalid test definition, end timestamp ({end}) is before start timestamp "
                             f"({start})")
        cmd = EvalCmd(line=lineno, expr=expr, is_range=True, start_ms=start_ms, end_ms=end_ms,
                      step_ms=step_ms)
    if mod == "fail":
        cmd.fail = Expectation()
    elif mod == "ordered":
        cmd.ordered = True
    elif mod == "warn":
        cmd.warn_expected = True
    elif mod == "info":
        cmd.info_expected = True
    return cmd


def _parse_eval(lines: list[str], i: int) -> tuple[int, EvalCmd]:
    cmd = _parse_eval_header(lines[i], i + 1)
    deprecated_fail = cmd.fail is not None
    series_pos = 0
    while i + 1 < len(lines) and lines[i + 1]:
        i += 1
        body = lines[i]
        try:
            if deprecated_fail and body.startswith(("expected_fail_message", "expected_fail_regexp")):
                arg = body.split(None, 1)[1].strip() if len(body.split(None, 1)) > 1 else ""
                if body.startswith("expected_fail_message"):
                    cmd.fail = Expectation(message=arg)
                else:
                    _check_regex(arg)
                    cmd.fail = Expectation(regex=arg)
                break
            if body.startswith("expect range vector"):
                m = _EXPECT_RANGE.match(body)
                if m is None:
                    raise ValueError(f"invalid range vector definition {body!r}")
                s, e, p = (_duration_ms(x) for x in m.groups())
                if e < s:
                    raise ValueError("invalid test definition, end timestamp is before start timestamp")
                cmd.range_vector = (s, e, p)
                continue
            if body.startswith("expect string"):
                rest = body[len("expect string"):].strip()
                if not rest:
                    raise ValueError("expected string literal not valid - a quoted string literal is "
                                     "required")
                cmd.expected_string = _parse_string_literal(rest)
                continue
            if body.split(" ")[0] == "expect":
                _apply_expect(cmd, *_parse_expect(body))
                continue
            number = parse_number_line(body)
            if number is not None:
                cmd.expected_scalar = number
                break
            labels, values = parse_series_line(body)
            if len(values) > 1 and not cmd.is_range and cmd.range_vector is None:
                raise ValueError("expecting multiple values in instant evaluation not allowed. consider "
                                 "using 'expect range vector' directive to enable a range vector result")
            series_pos += 1
            cmd.expected[labels] = (series_pos, values)
        except ValueError as e:
            raise ScriptError(i + 1, str(e)) from None
    return i, cmd


def _parse_load(lines: list[str], i: int) -> tuple[int, LoadCmd]:
    m = _LOAD.match(lines[i])
    if m is None:
        raise ScriptError(i + 1, "invalid load command. (load[_with_nhcb] <step:duration>)")
    try:
        cmd = LoadCmd(line=i + 1, step_ms=_duration_ms(m.group(2)), with_nhcb=m.group(1) == "with_nhcb")
    except ValueError as e:
        raise ScriptError(i + 1, str(e)) from None
    pending: tuple[int, Labels | None, list[int | None]] | None = None
    default_st: list[int | None] | None = None
    while i + 1 < len(lines) and lines[i + 1]:
        i += 1
        line = lines[i]
        try:
            desc, rest = _split_descriptor(line)
            if rest.startswith("@st"):
                if pending is not None:
                    raise ScriptError(pending[0], "@st line has no following sample line")
                st_values = parse_start_timestamp_sequence(rest[3:])
                if not desc:
                    default_st = st_values
                    continue
                pending = (i + 1, _parse_descriptor(desc), st_values)
                continue
            labels, values = parse_series_line(line)
        except ValueError as e:
            raise ScriptError(i + 1, str(e)) from None
        cmd.series[labels] = values
        if pending is not None:
            if pending[1] != labels:
                raise ScriptError(pending[0], "@st metric does not match the following sample line metric")
            if len(pending[2]) != len(values):
                raise ScriptError(pending[0], f"@st line has {len(pending[2])} values but sample line has "
                                              f"{len(values)}")
            cmd.start_timestamps[labels] = pending[2]
            pending = None
        elif default_st is not None:
            cmd.start_timestamps[labels] = [default_st[k % len(default_st)] for k in range(len(values))]
    if pending is not None:
        raise ScriptError(pending[0], "@st line has no following sample line")
    return i, cmd


def parse_script(text: str) -> list[Command]:
    """Parse a whole ``.test`` script. Raises ``ScriptError`` on the first malformed command."""
    lines = []
    for raw in text.split("\n"):
        line = raw.strip(" \t\r")
        lines.append("" if line.startswith("#") else line)
    commands: list[Command] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line:
            word = _SPACE.split(line, maxsplit=1)[0].lower()
            if word == "clear":
                commands.append(ClearCmd(line=i + 1))
            elif word.startswith("load"):
                i, load = _parse_load(lines, i)
                commands.append(load)
            elif word.startswith("eval"):
                try:
                    i, ev = _parse_eval(lines, i)
                except ValueError as e:
                    if isinstance(e, ScriptError):
                        raise
                    raise ScriptError(i + 1, str(e)) from None
                commands.append(ev)
            else:
                raise ScriptError(i + 1, f"invalid command {line!r}")
        i += 1
    return commands
