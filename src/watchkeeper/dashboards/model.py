"""The dashboard file format (docs/dashboards.md) as validated models, and its auto-layout.

Files are checked strictly (unknown keys are errors) so a typo is reported rather than silently
ignored; ``parse_dashboard`` turns pydantic's errors into one readable message per problem.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from ..gocompat.durations import DurationError, parse_duration

__all__ = [
    "PANEL_TYPES",
    "Dashboard",
    "DashboardError",
    "GridPos",
    "Override",
    "Panel",
    "Row",
    "Target",
    "Threshold",
    "Variable",
    "dump_dashboard",
    "parse_dashboard",
]

GRID_COLUMNS = 24
PANEL_TYPES = ("timeseries", "stat", "gauge", "bargauge", "table", "heatmap", "text", "placeholder")
VARIABLE_TYPES = ("query", "custom", "interval", "constant", "textbox", "datasource")
UID_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TIME_RE = re.compile(r"^now(-\d+[smhdwy])?$")
_REDUCERS = ("last", "last_not_null", "mean", "max", "min", "sum", "first")
# Allowed ``options`` keys per panel type, with the values a key may take (None: any).
_OPTIONS: dict[str, dict[str, tuple[Any, ...] | None]] = {
    "timeseries": {"draw": ("line", "bars", "points"), "fill": None, "stack": (False, True, "percent"),
                   "line_width": None, "legend": None},
    "stat": {"reduce": _REDUCERS, "graph": (True, False), "color_mode": ("value", "background", "none")},
    "gauge": {"reduce": _REDUCERS},
    "bargauge": {"reduce": _REDUCERS, "orientation": ("horizontal", "vertical")},
    "table": {},
    "heatmap": {"scheme": ("oranges", "blues", "greens", "reds", "purples", "spectral")},
    "text": {"content": None},
    "placeholder": {"message": None, "original_type": None},
}


class DashboardError(ValueError):
    """A dashboard that does not validate; ``problems`` lists each as ``where: why``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _check_duration(value: str, what: str) -> str:
    """Durations may also be a variable reference (``$interval``), resolved in the browser."""
    if value and not value.startswith("$"):
        try:
            parse_duration(value)
        except DurationError as e:
            raise ValueError(f"invalid {what} {value!r}: {e}") from None
    return value


class GridPos(_Strict):
    x: int = Field(0, ge=0, lt=GRID_COLUMNS)
    y: int = Field(0, ge=0)
    w: int = Field(12, ge=1, le=GRID_COLUMNS)
    h: int = Field(8, ge=1, le=200)

    @model_validator(mode="after")
    def _fits(self) -> GridPos:
        if self.x + self.w > GRID_COLUMNS:
            raise ValueError(f"x + w = {self.x + self.w} is wider than the {GRID_COLUMNS}-column grid")
        return self


class Threshold(_Strict):
    value: float | None = None
    color: str


class Mapping(_Strict):
    value: str | None = None
    from_: float | None = Field(None, alias="from")
    to: float | None = None
    text: str = ""
    color: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Mapping:
        if self.value is None and self.from_ is None and self.to is None:
            raise ValueError("a mapping needs `value`, or `from`/`to`")
        return self


class Override(_Strict):
    match: str
    color: str | None = None
    negative_y: bool = False
    hidden: bool = False
    unit: str | None = None
    fill: float | None = Field(None, ge=0, le=1)


class Target(_Strict):
    expr: str
    legend: str = ""
    ref: str = ""
    instant: bool = False
    interval: str = ""
    hide: bool = False
    format: Literal["time_series", "table", "heatmap"] = "time_series"

    _interval = field_validator("interval")(lambda v: _check_duration(v, "interval"))


class Panel(_Strict):
    type: Literal[PANEL_TYPES]  # type: ignore[valid-type]
    title: str = ""
    description: str = ""
    grid: GridPos | None = None
    targets: list[Target] = Field(default_factory=list)
    unit: str = ""
    decimals: int | None = Field(None, ge=0, le=20)
    min: float | None = None
    max: float | None = None
    thresholds: list[Threshold] = Field(default_factory=list)
    thresholds_mode: Literal["absolute", "percentage"] = "absolute"
    mappings: list[Mapping] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    interval: str = ""
    max_data_points: int | None = Field(None, ge=1, le=11_000)
    options: dict[str, Any] = Field(default_factory=dict)

    _interval = field_validator("interval")(lambda v: _check_duration(v, "interval"))

    @field_validator("thresholds", mode="before")
    @classmethod
    def _grafana_thresholds(cls, v: Any) -> Any:
        # Grafana's {mode, steps} form; the mode moves to ``thresholds_mode`` in _split_mode.
        return v["steps"] if isinstance(v, dict) and "steps" in v else v

    @model_validator(mode="before")
    @classmethod
    def _split_mode(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("thresholds"), dict):
            data = dict(data)
            data.setdefault("thresholds_mode", data["thresholds"].get("mode", "absolute"))
        return data

    @model_validator(mode="after")
    def _check(self) -> Panel:
        allowed = _OPTIONS[self.type]
        for key, value in self.options.items():
            if key not in allowed:
                known = ", ".join(allowed) or "none"
                raise ValueError(f"unknown option {key!r} for a {self.type} panel (known: {known})")
            choices = allowed[key]
            if choices is not None and value not in choices:
                raise ValueError(f"option {key}: {value!r} is not one of {', '.join(map(str, choices))}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        values = [t.value for t in self.thresholds if t.value is not None]
        if values != sorted(values):
            raise ValueError("thresholds must be sorted by value")
        for t in self.targets:
            if not t.expr.strip() and not t.hide:
                raise ValueError("a target has an empty expr")
        return self


class Row(_Strict):
    type: Literal["row"]
    title: str = ""
    collapsed: bool = False
    panels: list[Panel] = Field(default_factory=list)


class VariableOption(_Strict):
    text: str
    value: str


class Variable(_Strict):
    name: str
    type: Literal[VARIABLE_TYPES]  # type: ignore[valid-type]
    label: str = ""
    hide: bool = False
    query: str = ""
    regex: str = ""
    sort: Literal["none", "alpha", "alpha-desc", "numeric", "numeric-desc"] = "none"
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    current: str | list[str] | None = None
    options: list[str | VariableOption] | str = Field(default_factory=list)
    auto: bool = False
    auto_count: int = Field(100, ge=1)
    auto_min: str = "10s"
    value: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v) or v.startswith("__"):
            raise ValueError(f"invalid variable name {v!r}: letters, digits and _, "
                             "not starting with a digit or __")
        return v

    @model_validator(mode="after")
    def _check(self) -> Variable:
        if self.type == "query" and not self.query.strip():
            raise ValueError(f"query variable {self.name!r} has no query")
        if self.type in ("custom", "interval") and not self.options:
            raise ValueError(f"{self.type} variable {self.name!r} has no options")
        if self.type == "interval":
            opts = self.options.split(",") if isinstance(self.options, str) else self.options
            for o in opts:
                _check_duration((o.value if isinstance(o, VariableOption) else o).strip(), "interval option")
            _check_duration(self.auto_min, "auto_min")
        if self.regex:
            _check_regex(self.regex)
        return self


def _check_regex(text: str) -> None:
    """Grafana's variable regex is JavaScript's ``/pattern/flags``; Python's re is a close enough check."""
    m = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    pattern = m.group(1) if m else text
    try:
        re.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", pattern))
    except re.error as e:
        raise ValueError(f"invalid regex {text!r}: {e}") from None


class TimeRange(_Strict):
    from_: str = Field("now-1h", alias="from")
    to: str = "now"

    @field_validator("from_", "to")
    @classmethod
    def _relative(cls, v: str) -> str:
        if not TIME_RE.match(v):
            raise ValueError(f"invalid time {v!r}: expected now or now-<n><unit> (s, m, h, d, w, y)")
        return v


def _item_kind(v: Any) -> str:
    kind = v.get("type") if isinstance(v, dict) else getattr(v, "type", None)
    return "row" if kind == "row" else "panel"


Item = Annotated[Annotated[Row, Tag("row")] | Annotated[Panel, Tag("panel")], Discriminator(_item_kind)]


class Dashboard(_Strict):
    title: str = Field(min_length=1)
    uid: str = ""
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    time: TimeRange = Field(default_factory=TimeRange)
    refresh: str = "off"
    variables: list[Variable] = Field(default_factory=list)
    panels: list[Item] = Field(default_factory=list)

    @field_validator("uid")
    @classmethod
    def _uid(cls, v: str) -> str:
        if v and not UID_RE.match(v):
            raise ValueError(f"invalid uid {v!r}: 1-40 characters of A-Z, a-z, 0-9, _ and -")
        return v

    @field_validator("refresh")
    @classmethod
    def _refresh(cls, v: str) -> str:
        return v if v in ("off", "") else _check_duration(v, "refresh")

    @model_validator(mode="after")
    def _unique_variables(self) -> Dashboard:
        seen: set[str] = set()
        for var in self.variables:
            if var.name in seen:
                raise ValueError(f"variable {var.name!r} is defined twice")
            seen.add(var.name)
        return self


def _where(loc: tuple[int | str, ...]) -> str:
    parts = [p for p in loc if p not in ("row", "panel") and not str(p).startswith("function-")]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "dashboard"


def parse_dashboard(data: Any, *, default_uid: str = "") -> Dashboard:
    """Validate a decoded file; fill ``uid`` from ``default_uid`` and place panels without ``grid``."""
    if not isinstance(data, dict):
        raise DashboardError([f"dashboard: expected a mapping at the top level, got {type(data).__name__}"])
    try:
        dash = Dashboard.model_validate(data)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{_where(tuple(err['loc']))}: {msg}")
        raise DashboardError(problems) from None
    if not dash.uid:
        if not UID_RE.match(default_uid):
            raise DashboardError([f"uid: none given and the file name {default_uid!r} is not a valid uid"])
        dash.uid = default_uid
    _layout(dash)
    return dash


def _layout(dash: Dashboard) -> None:
    """Give every panel a grid position: a section's panels flow left to right where none is given."""
    loose: list[Panel] = []
    for item in dash.panels:
        if isinstance(item, Row):
            _flow(item.panels)
        else:
            loose.append(item)
    _flow(loose)


def _flow(panels: list[Panel]) -> None:
    x = y = line_h = 0
    for p in panels:
        if p.grid is not None and "x" in p.grid.model_fields_set:
            x, y, line_h = p.grid.x + p.grid.w, p.grid.y, p.grid.h
            continue
        w = p.grid.w if p.grid else 12
        h = p.grid.h if p.grid else 8
        if x + w > GRID_COLUMNS:
            x, y, line_h = 0, y + line_h, 0
        p.grid = GridPos(x=x, y=y, w=w, h=h)
        x += w
        line_h = max(line_h, h)


def dump_dashboard(dash: Dashboard, *, compact: bool = False) -> dict[str, Any]:
    """The dashboard as plain data: every field for the API, or ``compact`` (defaults left out) for a file.

    Grid positions are always written in full, so a saved file keeps its layout explicit.
    """
    data = dash.model_dump(mode="json", by_alias=True, exclude_defaults=compact)
    if compact:
        for src, out in zip(dash.panels, data.get("panels", []), strict=True):
            if isinstance(src, Row):
                for p, po in zip(src.panels, out.get("panels", []), strict=True):
                    if p.grid is not None:
                        po["grid"] = p.grid.model_dump()
            elif src.grid is not None:
                out["grid"] = src.grid.model_dump()
    return data
