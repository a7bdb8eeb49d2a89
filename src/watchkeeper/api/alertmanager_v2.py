"""Alertmanager's HTTP API v2 (``/api/v2/...``) over an ``AlertmanagerService``: the same paths, JSON
shapes, query parameters and status codes, so ``amtool``, Prometheus and vmalert talk to it unchanged.

Errors follow go-swagger's conventions as Alertmanager emits them: validation failures are a JSON
string body with 400; a body that is not valid JSON is ``{"code": 400, "message": ...}``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
import re2
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import __version__
from ..alerting.alert import Alert, parse_postable_alert
from ..alerting.config import dump_config
from ..alerting.matchers import MatcherParseError, is_label_name, parse_matcher
from ..alerting.service import AlertmanagerService
from ..alerting.silences import Silence, SilenceError, SilenceNotFound, SilenceState
from ..alerting.timefmt import ZERO_TIME, format_rfc3339_ns, parse_rfc3339_ns
from ..model.matchers import Matcher

__all__ = ["alertmanager_v2_routes", "EVENTS_PATH"]

def _time(ns: int | None) -> str:
    """RFC 3339 with nanoseconds in UTC, as Go prints it (``format_rfc3339_ns``), via ``time.gmtime``
    which is several times faster than ``datetime.strftime``; listing alerts formats three per alert."""
    if ns is None:
        return ZERO_TIME
    sec, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(sec)
    out = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    if frac:
        out += "." + f"{frac:09d}".rstrip("0")
    return out + "Z"


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def _swagger_error(status: int, message: str) -> Response:
    return _json({"code": status, "message": message}, status)


class _BadRequest(Exception):
    pass


def _bool_param(request: Request, name: str, default: bool = True) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise _BadRequest(f"{name} in query must be of type boolean: \"{raw}\"")


def _filters(request: Request) -> list[Matcher]:
    out = []
    for text in request.query_params.getlist("filter"):
        try:
            out.append(parse_matcher(text))
        except (MatcherParseError, ValueError) as exc:
            raise _BadRequest(f"bad matcher format: {text}: {exc}") from None
    return out


def _receiver_filter(request: Request) -> Callable[[str], bool]:
    raw = request.query_params.get("receiver")
    if not raw:
        return lambda _name: True
    try:
        rx = re2.compile(f"^(?:{raw})$")
    except re2.error as exc:
        raise _BadRequest(f"failed to parse receiver param: {exc}") from None
    return lambda name: rx.match(name) is not None


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _BadRequest(f"parsing body from \"\" failed, because {exc}") from None


_ACTIVE = b'"status":{"inhibitedBy":[],"silencedBy":[],"state":"active"}}'
_MEMO_MAX = 1 << 16

# What filters look at: the alert, the ids of the silences muting it, the alert inhibiting it, and its
# receivers.
_Keep = Callable[[Alert, tuple[str, ...], "str | None", list[str]], bool]


def _json_list(items: list[bytes]) -> bytes:
    """``[item,item,...]`` with a single copy of the (possibly megabytes of) items."""
    if not items:
        return b"[]"
    items[0] = b"[" + items[0]
    items[-1] = items[-1] + b"]"
    return b",".join(items)


class _Fixed:
    """The JSON of one fingerprint's fields that change rarely: those fixed by its label set under one
    config (fingerprint, receivers, labels) and its annotations and generator URL as last seen."""

    __slots__ = ("config", "receivers", "labels_json", "annotations", "url", "head")

    def __init__(self, config: Any, receivers: list[str], labels: dict[str, str]) -> None:
        self.config, self.receivers = config, receivers
        self.labels_json = orjson.dumps(labels)
        self.annotations: Any = None
        self.url = ""
        self.head = b""


class _Api:
    def __init__(self, service: AlertmanagerService) -> None:
        self.svc = service
        # Rendering caches, so that listing 10,000 alerts right after Prometheus re-sent them all only
        # joins three pre-encoded parts per alert, and listing them again before anything changes is one
        # lookup. An alert is written as its rarely changing fields (``_Fixed.head``), its three times
        # (shared by every alert of a Prometheus batch) and its status; per fingerprint the fixed parts
        # and the last rendering (alert object, status, JSON), the time and status parts, and the last
        # few list bodies.
        self._fixed: dict[str, _Fixed] = {}
        self._rendered: dict[str, tuple[Alert, bytes, bytes]] = {}
        self._statuses: dict[tuple[tuple[str, ...], str | None], bytes] = {}
        self._times: dict[tuple[int, int | None, int], bytes] = {}
        self._bodies: dict[str, tuple[tuple[Any, ...], int | None, bytes]] = {}

    # -- alerts -------------------------------------------------------------------------------

    def _status_json(self, silenced: tuple[str, ...], inhibitor: str | None) -> bytes:
        """``"status":{...}}``: the alert's last field and its closing brace."""
        if not silenced and inhibitor is None:
            return _ACTIVE
        key = (silenced, inhibitor)
        out = self._statuses.get(key)
        if out is None:
            if len(self._statuses) >= _MEMO_MAX:
                self._statuses.clear()
            out = self._statuses[key] = b'"status":' + orjson.dumps({
                "inhibitedBy": [inhibitor] if inhibitor else [],
                "silencedBy": list(silenced),
                "state": "suppressed",
            }) + b"}"
        return out

    def _fixed_of(self, a: Alert) -> _Fixed:
        """The alert's ``_Fixed``, brought up to date with the config, its annotations and URL."""
        fp = a.fingerprint
        fixed = self._fixed.get(fp)
        if fixed is None or fixed.config is not self.svc.config:
            config = self.svc.config
            fixed = self._fixed[fp] = _Fixed(config, self.svc.receivers_of(a.labels), dict(a.labels))
        if fixed.annotations != a.annotations or fixed.url != a.generator_url:
            fixed.annotations, fixed.url = a.annotations, a.generator_url
            fixed.head = b"".join((
                b'{"annotations":', orjson.dumps(a.annotations),
                b',"fingerprint":"', fp.encode(),
                b'","receivers":', orjson.dumps([{"name": r} for r in fixed.receivers]),
                b',"generatorURL":', orjson.dumps(a.generator_url),
                b',"labels":', fixed.labels_json, b",",
            ))
        return fixed

    def _times_json(self, key: tuple[int, int | None, int]) -> bytes:
        """``"startsAt":...,"endsAt":...,"updatedAt":...,`` for (starts, ends, updated)."""
        if len(self._times) >= _MEMO_MAX:
            self._times.clear()
        starts, ends, updated = key
        out = self._times[key] = (
            f'"startsAt":"{_time(starts)}","endsAt":"{_time(ends)}","updatedAt":"{_time(updated)}",'
        ).encode()
        return out

    def _prune(self) -> None:
        """Forget renderings of alerts the store dropped (run after a listing)."""
        store = self.svc.dispatcher.alerts
        if len(self._rendered) > 2 * len(store) + 1000:
            self._rendered = {k: v for k, v in self._rendered.items() if store.get(k) is not None}
            self._fixed = {k: v for k, v in self._fixed.items() if k in self._rendered}

    def _alert_filter(self, request: Request) -> _Keep | None:
        """The query's filters as a predicate; ``None`` when it keeps every alert."""
        active = _bool_param(request, "active")
        silenced = _bool_param(request, "silenced")
        inhibited = _bool_param(request, "inhibited")
        _bool_param(request, "unprocessed")  # validated; every alert here has been processed
        matchers = _filters(request)
        receiver_ok = _receiver_filter(request) if request.query_params.get("receiver") else None
        if active and silenced and inhibited and not matchers and receiver_ok is None:
            return None

        def keep(a: Alert, silenced_by: tuple[str, ...], inhibitor: str | None,
                 receivers: list[str]) -> bool:
            if not active and not silenced_by and inhibitor is None:
                return False
            if not silenced and silenced_by:
                return False
            if not inhibited and inhibitor is not None:
                return False
            if receiver_ok is not None and not any(receiver_ok(name) for name in receivers):
                return False
            labels = a.labels
            return all(m.matches(labels.get(m.name, "")) for m in matchers)

        return keep

    def _rendered_list(self, alerts: list[Alert], now: int, keep: _Keep | None,
                       statuses: tuple[Mapping[str, tuple[str, ...]], Mapping[str, str]]) -> list[bytes]:
        silenced, inhibited = statuses
        stored = self.svc.dispatcher.alerts.index.labels
        config = self.svc.config
        # One tight loop: after Prometheus re-sent every alert this runs for all of them, and only the
        # three-part join per alert is left of rendering.
        rendered, fixed_get, times_get = self._rendered, self._fixed.get, self._times.get
        fallback = None
        out = []
        for a in alerts:
            fp = a.fingerprint
            if fp in stored:
                silenced_by, inhibitor = silenced.get(fp, ()), inhibited.get(fp)
            else:  # a resolved alert only its group still holds
                fallback = fallback or self.svc.status_at(now)
                st = fallback(a)
                silenced_by, inhibitor = tuple(st["silencedBy"]), (st["inhibitedBy"] or [None])[0]
            status = _ACTIVE if not silenced_by and inhibitor is None else \
                self._status_json(silenced_by, inhibitor)
            hit = rendered.get(fp)
            if hit is None or hit[0] is not a or hit[1] != status:
                fixed = fixed_get(fp)
                if (fixed is None or fixed.config is not config or fixed.annotations != a.annotations
                        or fixed.url != a.generator_url):
                    fixed = self._fixed_of(a)
                key = (a.starts_at, a.ends_at, a.updated_at)
                times = times_get(key) or self._times_json(key)
                hit = rendered[fp] = (a, status, b"".join((fixed.head, times, status)))
            if keep is None or keep(a, silenced_by, inhibitor, self._fixed[fp].receivers):
                out.append(hit[2])
        self._prune()
        return out

    async def get_alerts(self, request: Request) -> Response:
        keep = self._alert_filter(request)
        now = self.svc.clock()
        store = self.svc.dispatcher.alerts
        statuses = self.svc.statuses(now)
        # The same list is served again until an alert, a status or the config changes or a listed
        # alert resolves. The key holds the objects themselves (compared by identity first).
        query = str(request.query_params)
        key = (store, store.version, *statuses, self.svc.config)
        hit = self._bodies.get(query)
        if hit is not None and hit[0] == key and (hit[1] is None or now < hit[1]):
            return Response(hit[2], media_type="application/json")
        # Alert.resolved inlined: this runs for every alert.
        alerts = [a for a in store.by_fingerprint() if a.ends_at is None or a.ends_at > now]
        body = _json_list(self._rendered_list(alerts, now, keep, statuses))
        if len(self._bodies) >= 4:  # a few queries (e.g. the UI's and amtool's), bounded memory
            self._bodies.clear()
        ends = [a.ends_at for a in alerts if a.ends_at is not None]
        self._bodies[query] = (key, min(ends, default=None), body)
        return Response(body, media_type="application/json")

    async def get_groups(self, request: Request) -> Response:
        keep = self._alert_filter(request)
        now = self.svc.clock()
        statuses = self.svc.statuses(now)
        parts = []
        for _, route, alerts in self.svc.dispatcher.groups():
            receiver = route.opts.receiver
            docs = self._rendered_list([a for a in alerts if not a.resolved(now)], now, keep, statuses)
            if docs:
                labels = route.group_labels(alerts[0].labels)
                parts.append(b"".join((b'{"alerts":[', b",".join(docs), b'],"labels":', orjson.dumps(labels),
                                       b',"receiver":', orjson.dumps({"name": receiver}), b"}")))
        return Response(_json_list(parts), media_type="application/json")

    async def post_alerts(self, request: Request) -> Response:
        docs = await _body(request)
        if not isinstance(docs, list):
            raise _BadRequest("parsing alerts body from \"\" failed, because expected a JSON array")
        alerts: list[Alert] = []
        errors: list[str] = []
        for doc in docs:
            try:
                alerts.append(parse_postable_alert(doc))
            except ValueError as exc:
                errors.append(str(exc))
        self.svc.put_alerts(alerts)
        if errors:
            return _json("; ".join(errors), 400)
        return Response(status_code=200)

    # -- silences -----------------------------------------------------------------------------

    def _silence_json(self, s: Silence, now: int) -> dict[str, Any]:
        doc = s.to_json()
        doc["status"] = {"state": s.state(now).value}
        return doc

    async def get_silences(self, request: Request) -> Response:
        matchers = _filters(request)
        now = self.svc.clock()
        out = []
        for s in self.svc.silences.list():
            if matchers:
                by_name = {m.name: m.value for m in s.matchers}
                if not all(m.name in by_name and m.matches(by_name[m.name]) for m in matchers):
                    continue
            out.append(s)

        def order(s: Silence) -> tuple[int, int]:
            state = s.state(now)
            if state is SilenceState.ACTIVE:
                return (0, s.ends_at)
            if state is SilenceState.PENDING:
                return (1, s.starts_at)
            return (2, -s.ends_at)

        out.sort(key=order)
        return _json([self._silence_json(s, now) for s in out])

    async def post_silence(self, request: Request) -> Response:
        doc = await _body(request)
        if not isinstance(doc, dict):
            raise _BadRequest("parsing silence body from \"\" failed, because expected a JSON object")
        try:
            silence = Silence.from_json(doc)
            for i, m in enumerate(silence.matchers):
                if not is_label_name(m.name):
                    raise SilenceError(f'invalid label matcher {i}: invalid label name "{m.name}"')
            if silence.ends_at and silence.ends_at < self.svc.clock():
                raise SilenceError("end time can't be in the past")
            sid = self.svc.set_silence(silence)
        except SilenceNotFound:
            return _json("silence not found", 404)
        except SilenceError as exc:
            return _json(str(exc), 400)
        return _json({"silenceID": sid})

    async def get_silence(self, request: Request) -> Response:
        try:
            s = self.svc.silences.get(request.path_params["id"])
        except SilenceNotFound:
            return Response(status_code=404)
        return _json(self._silence_json(s, self.svc.clock()))

    async def delete_silence(self, request: Request) -> Response:
        sid = request.path_params["id"]
        try:
            s = self.svc.silences.get(sid)
        except SilenceNotFound:
            return Response(status_code=404)
        if s.state(self.svc.clock()) is SilenceState.EXPIRED:
            return _json(f"silence {sid} already expired", 500)
        self.svc.expire_silence(sid)
        return Response(status_code=200)

    # -- the audit trail (watchkeeper extension) ---------------------------------------------------

    async def get_events(self, request: Request) -> Response:
        """``start``/``end`` (RFC 3339 or Unix seconds), ``kind`` (repeatable: alert, silence,
        notification), ``receiver``, ``outcome`` (success, retry, failed, dropped), ``filter`` (label
        matchers on the alerts involved), ``limit`` (latest N)."""
        q = request.query_params
        limit = q.get("limit", "0")
        if not limit.isdigit():
            raise _BadRequest(f"limit must be a non-negative integer: \"{limit}\"")
        events = self.svc.events.query(
            start=_time_param(q.get("start"), "start"),
            end=_time_param(q.get("end"), "end"),
            kinds=q.getlist("kind"),
            receiver=q.get("receiver"),
            outcome=q.get("outcome"),
            matchers=_filters(request),
            limit=int(limit),
        )
        return _json([{**e, "time": _time(e["time"])} for e in events])

    # -- receivers and status ------------------------------------------------------------------

    async def get_receivers(self, request: Request) -> Response:
        return _json([{"name": name} for name in self.svc.config.receivers])

    async def get_status(self, request: Request) -> Response:
        uptime = format_rfc3339_ns(self.svc.started_at)
        return _json(
            {
                "cluster": {"name": "", "peers": [], "status": "disabled"},
                # Secrets masked as <secret>, as Alertmanager shows its config here.
                "config": {"original": dump_config(self.svc.config)},
                "uptime": uptime,
                "versionInfo": {
                    "branch": "",
                    "buildDate": "",
                    "buildUser": "",
                    "goVersion": "",
                    "revision": "",
                    "version": f"watchkeeper-{__version__}",
                },
            }
        )


def _time_param(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    try:
        return round(float(raw) * 1e9)
    except ValueError:
        pass
    try:
        return parse_rfc3339_ns(raw)
    except ValueError as exc:
        raise _BadRequest(f"{name}: {exc}") from None


def _wrap(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            return await fn(request)
        except _BadRequest as exc:
            return _swagger_error(400, str(exc))

    return endpoint


EVENTS_PATH = "/api/watchkeeper/v1/alertmanager/events"


def alertmanager_v2_routes(service: AlertmanagerService, prefix: str = "/api/v2") -> list[Route]:
    """Starlette routes for the v2 API plus the event log (``EVENTS_PATH``); mount them in any app
    (standalone or ``watchkeeper server``)."""
    api = _Api(service)
    return [
        Route(f"{prefix}/alerts", _wrap(api.get_alerts), methods=["GET"]),
        Route(f"{prefix}/alerts", _wrap(api.post_alerts), methods=["POST"]),
        Route(f"{prefix}/alerts/groups", _wrap(api.get_groups), methods=["GET"]),
        Route(f"{prefix}/silences", _wrap(api.get_silences), methods=["GET"]),
        Route(f"{prefix}/silences", _wrap(api.post_silence), methods=["POST"]),
        Route(f"{prefix}/silence/{{id}}", _wrap(api.get_silence), methods=["GET"]),
        Route(f"{prefix}/silence/{{id}}", _wrap(api.delete_silence), methods=["DELETE"]),
        Route(f"{prefix}/receivers", _wrap(api.get_receivers), methods=["GET"]),
        Route(f"{prefix}/status", _wrap(api.get_status), methods=["GET"]),
        Route(EVENTS_PATH, _wrap(api.get_events), methods=["GET"]),
    ]
