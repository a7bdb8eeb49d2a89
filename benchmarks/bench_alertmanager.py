"""Notification-engine benchmark: ``watchkeeper alertmanager`` vs a real Alertmanager 0.25.

Both run side by side in this run with the same configuration (``config``: a routing tree of team
routes, 100 inhibition rules, a webhook receiver for delivery probes) and receive the same alerts:
``alerts`` active alerts shaped like a Prometheus fleet's (``fleet``), some of them sources that
inhibit others, and ten silences. Figures, each the median of ``runs`` runs, interleaved between the
two systems so outside load hits both alike:

- ``GET /api/v2/alerts``: time from sending the request until the whole JSON body is read;
- ``intake``: alerts per second when all alerts are re-sent, as Prometheus re-sends its firing
  alerts, in POSTs of ``BATCH`` alerts one after another (one sender, as Prometheus' notifier);
- ``delivery after group_wait``: a new alert opens its own group (``group_wait`` ``GROUP_WAIT_S``); the
  webhook's receipt time minus (the time the POST was sent + group_wait).

See docs/benchmarks.md (section alertmanager) for the method.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from . import peers
from .results import Row, progress

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
BATCH = 64  # Prometheus 2.42's notifier sends at most 64 alerts per POST (3.x: 256)
GROUP_WAIT_S = 1.0
SERVICES = 100  # one inhibition rule per service
CLUSTERS = 10
TEAMS = 10
SILENCES = 10
_ALERTNAMES = ("HighLatency", "HighErrorRate", "DiskFillingUp", "CPUThrottling", "PodCrashLooping",
               "MemoryPressure", "CertificateExpiry", "QueueBacklog")
_SEVERITIES = ("warning", "info", "warning", "critical")


def config(webhook_url: str) -> str:
    """``alertmanager.yml``: team routes without integrations (the alerts are only held), a delivery
    route to ``webhook_url``, and one inhibition rule per service (half with regex targets)."""
    lines = [
        "route:",
        "  receiver: default",
        "  group_by: [alertname, cluster, service]",
        "  group_wait: 1h",
        "  group_interval: 1h",
        "  repeat_interval: 4h",
        "  routes:",
        "  - matchers: ['bench=\"delivery\"']",
        "    receiver: hook",
        "    group_by: [probe]",
        f"    group_wait: {GROUP_WAIT_S:g}s",
    ]
    for t in range(TEAMS):
        lines += [f"  - matchers: ['team=\"team{t}\"']", f"    receiver: team{t}"]
    lines += ["receivers:", "- name: default", "- name: hook", "  webhook_configs:",
              f"  - url: '{webhook_url}'", "    send_resolved: false"]
    lines += [f"- name: team{t}" for t in range(TEAMS)]
    lines.append("inhibit_rules:")
    for r in range(SERVICES):
        svc = f"svc{r:02d}"
        lines += ["- source_matchers:", '  - alertname="ServiceDown"', f'  - service="{svc}"']
        if r % 2:
            lines += ["  target_matchers:", f'  - service=~"{svc}|{svc}-canary"',
                      '  - alertname!="ServiceDown"', '  - severity!="critical"']
        else:
            lines += ["  target_matchers:", f'  - service="{svc}"', '  - severity=~"warning|info"']
        lines.append("  equal: [cluster]")
    return "\n".join(lines) + "\n"


def _rfc3339(t: float) -> str:
    whole = datetime.fromtimestamp(int(t), tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{round((t % 1) * 1e9):09d}Z"


def fleet(n: int, starts: float) -> list[dict[str, Any]]:
    """``n`` alerts as Prometheus posts them: 7 labels, 2 annotations, startsAt, endsAt, generatorURL.

    ``ServiceDown`` fires for every even service in one cluster (``c{service % 10}``); through the
    inhibition rules it mutes that service's non-critical alerts in that cluster."""
    out = []
    sources = [(r, f"c{r % CLUSTERS}") for r in range(0, SERVICES, 2)]
    for r, cluster in sources[: max(1, n // 100)]:
        out.append(_alert("ServiceDown", cluster, f"svc{r:02d}", f"lb-{r}:443", "critical", r % TEAMS,
                          starts))
    for i in range(n - len(out)):
        svc = i % SERVICES
        out.append(_alert(_ALERTNAMES[i % len(_ALERTNAMES)], f"c{(i // SERVICES) % CLUSTERS}",
                          f"svc{svc:02d}", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}:9100",
                          _SEVERITIES[i % len(_SEVERITIES)], svc % TEAMS, starts))
    return out


def _alert(name: str, cluster: str, service: str, instance: str, severity: str, team: int,
           starts: float) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "cluster": cluster, "service": service, "instance": instance,
                   "job": "node", "severity": severity, "team": f"team{team}"},
        "annotations": {"summary": f"{name} on {instance}",
                        "description": f"{service} in {cluster}: {name} for more than 5 minutes."},
        "startsAt": _rfc3339(starts),
        "generatorURL": f"http://prometheus.example:9090/graph?g0.expr={name}&g0.tab=1",
    }


def silences(now: float) -> list[dict[str, Any]]:
    """Ten silences on the non-critical alerts of ten services, active for two hours."""
    return [{
        "matchers": [{"name": "service", "value": f"svc{10 * k + 5:02d}", "isRegex": False, "isEqual": True},
                     {"name": "severity", "value": "warning|info", "isRegex": True, "isEqual": True}],
        "startsAt": _rfc3339(now - 60), "endsAt": _rfc3339(now + 7200),
        "createdBy": "bench", "comment": f"maintenance {k}",
    } for k in range(SILENCES)]


class _Hook:
    """The local webhook receiver: remembers when each probe's notification arrived (``perf_counter``)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        self._cond = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a real webhook endpoint would

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                t = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                probes = [a["labels"].get("probe", "") for a in json.loads(body)["alerts"]]
                with hook._cond:
                    hook.count += 1
                    for p in probes:
                        hook.arrived.setdefault(p, t)
                    hook._cond.notify_all()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def wait(self, probe: str, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while probe not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self.arrived[probe]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Sender:
    """POSTs pre-encoded bodies over one kept-alive connection (as Prometheus' notifier does)."""

    def __init__(self, peer: peers.Peer) -> None:
        self.peer = peer
        self.conn = http.client.HTTPConnection("127.0.0.1", peer.port, timeout=600)

    def post(self, path: str, body: bytes) -> bytes:
        try:
            self.conn.request("POST", path, body, {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
        except (ConnectionError, http.client.RemoteDisconnected):  # the server closed an idle connection
            self.conn.close()
            self.conn.request("POST", path, body, {"Content-Type": "application/json"})
            resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{self.peer.name}: POST {path} answered {resp.status}: {data[:500]!r}")
        return data

    def close(self) -> None:
        self.conn.close()


def _start(work: Path, cfg: Path) -> tuple[peers.Peer, peers.Peer]:
    am_port, wk_port = peers.free_port(), peers.free_port()
    am_dir, wk_dir = work / "am-data", work / "wk-data"
    am = peers.Peer("alertmanager", [
        ALERTMANAGER, f"--config.file={cfg}", f"--storage.path={am_dir}",
        f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=", "--log.level=warn",
    ], am_port, work / "alertmanager.log", "/-/ready")
    try:
        wk = peers.Peer("watchkeeper", [
            sys.executable, "-m", "watchkeeper.cli.main", "alertmanager", "--config", str(cfg),
            "--data-dir", str(wk_dir), "--listen", f"127.0.0.1:{wk_port}",
        ], wk_port, work / "watchkeeper.log", "/-/ready")
    except BaseException:
        am.stop()
        raise
    return am, wk


def _bodies(alerts: list[dict[str, Any]], ends: float) -> list[bytes]:
    stamped = [{**a, "endsAt": _rfc3339(ends)} for a in alerts]
    return [json.dumps(stamped[i:i + BATCH]).encode() for i in range(0, len(stamped), BATCH)]


def _send_all(sender: _Sender, bodies: list[bytes]) -> float:
    """Seconds to POST every body, one after another."""
    t0 = time.perf_counter()
    for body in bodies:
        sender.post("/api/v2/alerts", body)
    return time.perf_counter() - t0


def _summary(body: bytes) -> dict[str, tuple[str, bool, bool, tuple[str, ...]]]:
    """fingerprint -> (state, inhibited, silenced, receivers): what both systems must agree on."""
    return {a["fingerprint"]: (a["status"]["state"], bool(a["status"]["inhibitedBy"]),
                               bool(a["status"]["silencedBy"]),
                               tuple(sorted(r["name"] for r in a["receivers"])))
            for a in json.loads(body)}


def _median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1000


def run(work: Path, *, alerts: int, runs: int) -> list[Row]:
    if not Path(ALERTMANAGER).exists():
        raise RuntimeError(f"missing {ALERTMANAGER}: install the prometheus-alertmanager package")
    hook = _Hook()
    cfg = work / "alertmanager.yml"
    cfg.write_text(config(hook.url))
    now = time.time()
    data = fleet(alerts, now - 600)
    progress(f"alertmanager: {len(data)} alerts, {SERVICES} inhibition rules, {SILENCES} silences")
    am, wk = _start(work, cfg)
    systems = (am, wk)
    senders = {p.name: _Sender(p) for p in systems}
    try:
        # First intake (every alert new) and the silences.
        first: dict[str, float] = {}
        for p in systems:
            first[p.name] = len(data) / _send_all(senders[p.name], _bodies(data, time.time() + 3600))
            for s in silences(time.time()):
                senders[p.name].post("/api/v2/silences", json.dumps(s).encode())
        # Re-sent alerts, interleaved: runs x all alerts per system, each followed by one listing
        # (the first after a change: nothing derived from the old alerts can be reused).
        intake: dict[str, list[float]] = {p.name: [] for p in systems}
        get_changed: dict[str, list[float]] = {p.name: [] for p in systems}
        for _ in range(runs):
            for p in systems:
                bodies = _bodies(data, time.time() + 3600)
                intake[p.name].append(len(data) / _send_all(senders[p.name], bodies))
                t0 = time.perf_counter()
                p.get("/api/v2/alerts", {})
                get_changed[p.name].append(time.perf_counter() - t0)
        # GET /api/v2/alerts: one untimed warm-up, then the timed runs.
        lists: dict[str, bytes] = {}
        get_s: dict[str, list[float]] = {p.name: [] for p in systems}
        for p in systems:
            lists[p.name] = p.get("/api/v2/alerts", {})
        for _ in range(runs):
            for p in systems:
                t0 = time.perf_counter()
                p.get("/api/v2/alerts", {})
                get_s[p.name].append(time.perf_counter() - t0)
        # A filtered list (what amtool and the UI ask for).
        flt = {"filter": 'severity="warning"', "silenced": "false", "inhibited": "false"}
        get_f: dict[str, list[float]] = {p.name: [] for p in systems}
        filtered: dict[str, bytes] = {p.name: p.get("/api/v2/alerts", flt) for p in systems}
        for _ in range(runs):
            for p in systems:
                t0 = time.perf_counter()
                p.get("/api/v2/alerts", flt)
                get_f[p.name].append(time.perf_counter() - t0)
        delivery = _delivery(systems, senders, hook, runs)
    finally:
        for s in senders.values():
            s.close()
        for p in systems:
            p.stop()
        hook.close()

    want, got = _summary(lists["alertmanager"]), _summary(lists["watchkeeper"])
    check = _compare(want, got, alerts)
    fcheck = _compare(_summary(filtered["alertmanager"]), _summary(filtered["watchkeeper"]), None)
    suppressed = sum(1 for v in want.values() if v[0] == "suppressed")
    progress(f"alertmanager: GET {_median_ms(get_s['alertmanager']):.1f} ms vs watchkeeper "
             f"{_median_ms(get_s['watchkeeper']):.1f} ms; {suppressed} suppressed")
    dcheck = "ok" if all(len(v) == runs for v in delivery.values()) else \
        f"DIFF delivered {', '.join(f'{k} {len(v)}/{runs}' for k, v in delivery.items())}"
    shape = (f"{alerts:,} active alerts (7 labels, 2 annotations), {SERVICES} inhibition rules, {SILENCES} "
             f"silences; {suppressed:,} suppressed")
    rows = [
        Row("alertmanager", "GET /api/v2/alerts", "ms", _median_ms(get_s["watchkeeper"]),
            _median_ms(get_s["alertmanager"]), check,
            f"{shape}; the whole list, repeated with no change in between"),
        Row("alertmanager", "GET /api/v2/alerts after a re-send", "ms",
            _median_ms(get_changed["watchkeeper"]), _median_ms(get_changed["alertmanager"]), check,
            "the whole list, right after every alert was re-sent (updatedAt and endsAt changed)"),
        Row("alertmanager", "GET /api/v2/alerts filtered", "ms", _median_ms(get_f["watchkeeper"]),
            _median_ms(get_f["alertmanager"]), fcheck,
            "filter=severity=\"warning\", silenced=false, inhibited=false"),
        Row("alertmanager", "intake (new alerts)", "alerts/s", first["watchkeeper"], first["alertmanager"],
            check, f"all {alerts:,} alerts posted once, {BATCH} per POST, one sender (one measurement)"),
        Row("alertmanager", "intake (re-sent alerts)", "alerts/s", statistics.median(intake["watchkeeper"]),
            statistics.median(intake["alertmanager"]), check,
            f"all {alerts:,} alerts re-sent with a new endsAt, {BATCH} per POST, one sender"),
        Row("alertmanager", "delivery after group_wait", "ms",
            _median_ms(delivery["watchkeeper"]) if delivery["watchkeeper"] else None,
            _median_ms(delivery["alertmanager"]) if delivery["alertmanager"] else None, dcheck,
            f"webhook receipt - (POST sent + group_wait {GROUP_WAIT_S:g}s), a new group each run, "
            f"{alerts:,} alerts held"),
    ]
    return rows


def _compare(want: dict, got: dict, expect: int | None) -> str:
    if expect is not None and len(want) != expect:
        return f"DIFF alertmanager lists {len(want)} of {expect} alerts"
    if set(want) != set(got):
        return f"DIFF fingerprints: {len(set(want) - set(got))} only in alertmanager, " \
               f"{len(set(got) - set(want))} only in watchkeeper"
    bad = [fp for fp in want if want[fp] != got[fp]]
    if bad:
        return f"DIFF status of {len(bad)} alerts, e.g. {bad[0]}: {want[bad[0]]} vs {got[bad[0]]}"
    return "ok"


def _delivery(systems: tuple[peers.Peer, ...], senders: dict[str, _Sender], hook: _Hook,
              runs: int) -> dict[str, list[float]]:
    """Per system, ``runs`` probes: seconds from (POST sent + group_wait) to the webhook's receipt."""
    out: dict[str, list[float]] = {p.name: [] for p in systems}
    for k in range(runs):
        for p in systems:
            probe = f"{p.name}-{k}"
            now = time.time()
            body = json.dumps([{"labels": {"alertname": "DeliveryProbe", "bench": "delivery", "probe": probe},
                                "startsAt": _rfc3339(now), "endsAt": _rfc3339(now + 3600)}]).encode()
            t0 = time.perf_counter()
            senders[p.name].post("/api/v2/alerts", body)
            arrived = hook.wait(probe, GROUP_WAIT_S + 10)
            if arrived is not None:
                out[p.name].append(arrived - t0 - GROUP_WAIT_S)
    return out
