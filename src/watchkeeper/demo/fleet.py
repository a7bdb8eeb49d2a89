"""The simulated fleet: 20 hosts whose metrics follow a working day, computed as arrays over (time, host).

Gauges are functions of time (a daily load curve per role, slow deterministic wobble, a little
random jitter); counters integrate rates over the time between two calls, so the same ``advance``
produces six hours of history in one call (the backfill) or one scrape's worth of values (the live
target). A host that goes down stops counting and, like a rebooted machine, starts its counters
from zero and gets a new boot time when it comes back. Incidents from ``scenarios`` bend the curves:
a CPU spike, a memory leak, a disk filling up, a latency regression with errors, a host down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .scenarios import Schedule

__all__ = ["APP_ROLES", "CPU_MODES", "CPUS", "HTTP_CODES", "LATENCY_BUCKETS", "ROLES", "Fleet", "Snapshot",
           "host_names"]

ROLES = (("web", 6), ("api", 4), ("db", 3), ("cache", 3), ("batch", 4))
APP_ROLES = ("web", "api")  # hosts that also run the HTTP service (job "app")
CPUS = 4
CPU_MODES = ("idle", "iowait", "system", "user")
HTTP_CODES = ("200", "404", "500")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # le; +Inf is the count

GIB = 1 << 30
SWAP = 2 * GIB
GB = 1e9


@dataclass(frozen=True)
class _Role:
    cpu_base: float
    cpu_amp: float
    iowait: float  # share of busy CPU time spent waiting for disk
    mem_gib: int
    mem_base: float
    mem_amp: float
    disk_gb: float
    rx: float  # bytes/s at the daily peak
    tx: float
    rps: float  # HTTP requests/s at the daily peak (app roles)
    night: bool = False  # busiest at night (batch jobs)


_PROFILES = {
    "web": _Role(0.10, 0.45, 0.05, 8, 0.42, 0.12, 50, 3e6, 14e6, 140),
    "api": _Role(0.14, 0.40, 0.05, 16, 0.50, 0.10, 50, 2e6, 5e6, 60),
    "db": _Role(0.18, 0.30, 0.25, 64, 0.58, 0.05, 500, 9e6, 6e6, 0),
    "cache": _Role(0.05, 0.15, 0.02, 32, 0.70, 0.04, 100, 11e6, 15e6, 0),
    "batch": _Role(0.08, 0.60, 0.15, 16, 0.30, 0.30, 200, 1e6, 0.6e6, 0, night=True),
}


def host_names() -> list[str]:
    """``web-01`` … ``batch-04``: 20 hosts named by role."""
    return [f"{role}-{i:02d}" for role, n in ROLES for i in range(1, n + 1)]


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (error below 1.5e-7): enough for bucket shares, no scipy needed."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152073 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


@dataclass
class Snapshot:
    """All metrics of all hosts at ``t`` (seconds, shape (T,)); host axis 1, app instance axis 1 for http."""

    t: np.ndarray
    up: np.ndarray  # (T, H) bool
    boot_time: np.ndarray  # (T, H)
    cpu: np.ndarray  # (T, H, CPUS, MODES) counters, seconds
    load: np.ndarray  # (T, H, 3): load1, load5, load15
    mem_total: np.ndarray  # (H,)
    mem: np.ndarray  # (T, H, 5): MemAvailable, MemFree, Cached, Buffers, SwapFree
    fs_size: np.ndarray  # (H,)
    fs: np.ndarray  # (T, H, 2): avail, free
    net: np.ndarray  # (T, H, 6) counters: receive, transmit bytes; receive, transmit errs; drops
    disk: np.ndarray  # (T, H, 3) counters: read, written bytes, io time seconds
    http: np.ndarray  # (T, A, codes) request counters
    buckets: np.ndarray  # (T, A, len(LATENCY_BUCKETS) + 1) cumulative bucket counters, last is +Inf
    latency_sum: np.ndarray  # (T, A)


class Fleet:
    """The 20 hosts' state; ``advance(t)`` moves it to the times ``t`` and returns their values."""

    def __init__(self, *, t0: float, speed: float = 1.0, seed: int = 7) -> None:
        self.hosts = host_names()
        self.roles = [h.rsplit("-", 1)[0] for h in self.hosts]
        self.app = np.array([i for i, r in enumerate(self.roles) if r in APP_ROLES])
        self.app_hosts = [self.hosts[i] for i in self.app]
        self.schedule = Schedule(self.hosts, t0=t0, speed=speed)
        self._speed = speed
        rng = np.random.default_rng(seed)
        self._rng = rng
        n = len(self.hosts)
        prof = [_PROFILES[r] for r in self.roles]

        def col(name: str) -> np.ndarray:
            return np.array([getattr(p, name) for p in prof], np.float64)

        vary = 1.0 + 0.15 * (rng.random(n) - 0.5)  # no two hosts alike
        self._cpu_base, self._cpu_amp = col("cpu_base") * vary, col("cpu_amp") * vary
        self._iowait = col("iowait")
        self._night = col("night").astype(bool)
        self.mem_total = col("mem_gib") * GIB
        self._mem_base, self._mem_amp = col("mem_base") * vary, col("mem_amp")
        self.fs_size = np.round(col("disk_gb") * GB * 0.98 / 4096) * 4096
        self._fs_used = 0.25 + 0.35 * rng.random(n)
        self._rx, self._tx = col("rx") * vary, col("tx") * vary
        self._rps = col("rps")[self.app] * vary[self.app]
        self._cpu_skew = 1.0 + 0.2 * (rng.random((n, CPUS)) - 0.5)
        # Slow wobble: three sines per (signal, host) with random phases; periods 3 min, 17 min, 1 h.
        self._periods = np.array([173.0, 1031.0, 3607.0])
        self._phases = rng.random((8, n, 3)) * 2 * np.pi
        self._uptime = (2 + 38 * rng.random(n)) * 86400.0
        # Integration state, set by the first advance.
        self._last_t: float | None = None
        self._acc: dict[str, np.ndarray] = {}
        self._down = np.zeros(n, bool)
        self._boot = np.zeros(n)
        self._last: Snapshot | None = None

    # -- shapes of the day --------------------------------------------------------------

    def _daily(self, t: np.ndarray) -> np.ndarray:
        """(T, H) load factor 0..1: low at 04:00 UTC, high at 16:00, a lunch dip; batch hosts inverted."""
        hours = (t[:, None] / 3600.0 + np.where(self._night, 12.0, 0.0)[None, :]) % 24.0
        x = 2 * np.pi * (hours - 4.0) / 24.0
        return np.clip(0.5 - 0.45 * np.cos(x) - 0.08 * np.cos(2 * x), 0.0, 1.0)

    def _wobble(self, t: np.ndarray, k: int) -> np.ndarray:
        """(T, H) smooth deterministic variation in about [-1, 1]."""
        arg = 2 * np.pi * t[:, None, None] / self._periods[None, None, :] + self._phases[k][None, :, :]
        return (np.sin(arg) * np.array([0.25, 0.35, 0.4])).sum(axis=2)

    def _jitter(self, shape: tuple[int, ...], scale: float) -> np.ndarray:
        return self._rng.normal(0.0, scale, shape)

    # -- integration --------------------------------------------------------------------

    def _integrate(self, name: str, rate: np.ndarray, dt: np.ndarray, boot: np.ndarray) -> np.ndarray:
        """Counters from per-step rates: cumulative, restarting from 0 on a host's boot step."""
        extra = rate.ndim - 2
        dt = dt.reshape(dt.shape + (1,) * extra)
        inc = rate * dt
        c = self._acc.get(name, np.zeros(rate.shape[1:])) + np.cumsum(inc, axis=0)
        steps = np.where(boot, np.arange(boot.shape[0])[:, None], -1)
        last = np.maximum.accumulate(steps, axis=0)  # (T, H): the latest boot step so far
        if (last >= 0).any():
            before = c - inc  # the counter just before each step
            idx = np.broadcast_to(np.maximum(last, 0).reshape(last.shape + (1,) * extra), c.shape)
            rebooted = (last >= 0).reshape(last.shape + (1,) * extra)
            c = c - np.where(rebooted, np.take_along_axis(before, idx, axis=0), 0.0)
        self._acc[name] = c[-1].copy()
        return c

    def advance(self, t: np.ndarray) -> Snapshot:
        """Values at the increasing times ``t`` (seconds), continuing from the previous call."""
        t = np.asarray(t, np.float64)
        if self._last is not None and self._last_t is not None and t.shape[0] == 1 and t[0] <= self._last_t:
            return self._last  # two scrapes in the same instant see the same values
        n_t, n = t.shape[0], len(self.hosts)
        prog = self.schedule.progress(t)
        down = prog["host_down"] >= 0
        prev_down = np.vstack([self._down[None, :], down[:-1]])
        boot = prev_down & ~down
        if self._last_t is None:
            dt = np.vstack([self._uptime[None, :], np.repeat(np.diff(t)[:, None], n, axis=1)])
            self._boot = t[0] - self._uptime
        else:
            dt = np.repeat(np.diff(t, prepend=self._last_t)[:, None], n, axis=1)
        dt = np.where(down, 0.0, dt)
        steps = np.where(boot, np.arange(n_t)[:, None], -1)
        last_boot = np.maximum.accumulate(steps, axis=0)
        boot_time = np.where(last_boot >= 0, t[np.maximum(last_boot, 0)], self._boot[None, :])
        day = self._daily(t)

        # CPU: busy share by role and time of day; a spike pins it near 100 %.
        busy = self._cpu_base + self._cpu_amp * day + 0.06 * self._wobble(t, 0)
        busy = busy + self._jitter((n_t, n), 0.012)
        spike = prog["cpu_spike"] >= 0
        busy = np.where(spike, 0.95 + 0.02 * self._wobble(t, 1), busy)
        busy = np.clip(busy, 0.02, 0.985)
        per_cpu = np.clip(busy[:, :, None] * self._cpu_skew[None, :, :], 0.0, 0.995)
        io = self._iowait[None, :, None]
        work = per_cpu * (1 - io)
        cpu_rate = np.stack([1.0 - per_cpu, per_cpu * io, work * 0.25, work * 0.75], axis=3)
        cpu = self._integrate("cpu", cpu_rate, dt, boot)
        load1 = np.maximum(busy * CPUS * (1 + 0.3 * self._wobble(t, 2)), 0.0)
        load5 = busy * CPUS
        load15 = (self._cpu_base + self._cpu_amp * day) * CPUS
        load = np.stack([load1, load5, load15], axis=2)

        # Memory: daily working set; a leak climbs to 97.5 % over two thirds of its window and stays.
        used = self._mem_base + self._mem_amp * day + 0.02 * self._wobble(t, 3)
        leak = prog["memory_leak"]
        used = np.where(leak >= 0, used + (0.975 - used) * np.minimum(1.0, leak / 0.67), used)
        avail = self.mem_total * (1.0 - np.clip(used, 0.05, 0.99))
        swap_free = SWAP * (0.98 - np.where(leak >= 0, 0.6 * np.minimum(1.0, leak), 0.0))
        mem = np.stack([avail, 0.40 * avail, 0.52 * avail, 0.08 * avail, swap_free], axis=2)

        # Root filesystem: slowly drifting; filling up to 97.5 % over 5/6 of the incident, then cleaned.
        fill = prog["disk_fill"]
        fs_used = self._fs_used[None, :] + 0.0005 * self._wobble(t, 4)
        fs_used = np.where(fill >= 0, fs_used + (0.975 - fs_used) * np.minimum(1.0, fill / 0.83), fs_used)
        free = self.fs_size * (1.0 - fs_used)
        fs = np.stack([np.maximum(free - 0.02 * self.fs_size, 0.0), free], axis=2)

        traffic = 0.25 + 0.75 * day
        rx = self._rx * traffic * (1 + 0.15 * self._wobble(t, 5))
        tx = self._tx * traffic * (1 + 0.15 * self._wobble(t, 6))
        # Errors and drops: about one in ten and one in a million packets of 1 KiB.
        net_rate = np.stack([rx, tx, rx * 1e-10, tx * 1e-10, rx * 1e-9, tx * 5e-10], axis=2)
        net = self._integrate("net", np.maximum(net_rate, 0.0), dt, boot)
        filling = (fill >= 0) & (fill < 0.83)
        write = 2e6 * (0.2 + busy) + np.where(filling, 60e6 * self._speed, 0.0)
        io_time = np.clip(0.02 + busy * self._iowait * 3 + np.where(filling, 0.6, 0.0), 0.0, 1.0)
        disk_rate = np.stack([4e6 * (0.2 + busy) * (1 + self._iowait * 4), write, io_time], axis=2)
        disk = self._integrate("disk", disk_rate, dt, boot)

        http, buckets, lat_sum = self._http(t, day, prog, spike, dt, boot)
        snap = Snapshot(t=t, up=~down, boot_time=boot_time, cpu=cpu, load=load, mem_total=self.mem_total,
                        mem=mem, fs_size=self.fs_size, fs=fs, net=net, disk=disk, http=http, buckets=buckets,
                        latency_sum=lat_sum)
        self._last_t = float(t[-1])
        self._down = down[-1].copy()
        self._boot = boot_time[-1].copy()
        self._last = snap
        return snap

    def _http(self, t: np.ndarray, day: np.ndarray, prog: dict[str, np.ndarray], spike: np.ndarray,
              dt: np.ndarray, boot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Requests by code, the latency histogram (log-normal around a daily median) and its sum."""
        a = self.app
        n_t = t.shape[0]
        rps = self._rps * (0.15 + 0.85 * day[:, a]) * (1 + 0.1 * self._wobble(t, 7)[:, a])
        slow = prog["latency"][:, a]
        ramp = np.where(slow >= 0, np.minimum(1.0, slow / 0.15), 0.0)
        errors = 0.002 + 0.001 * np.abs(self._wobble(t, 0)[:, a]) + 0.08 * ramp
        shares = np.stack([1.0 - errors - 0.01, np.full_like(errors, 0.01), errors], axis=2)
        http = self._integrate("http", rps[:, :, None] * shares, dt[:, a], boot[:, a])
        median = 0.035 * (1 + 0.6 * day[:, a]) * (1 + 0.1 * self._wobble(t, 1)[:, a])
        median = median * (1 + 14.0 * ramp) * np.where(spike[:, a], 2.0, 1.0)
        sigma = 0.55
        les = np.log(np.array(LATENCY_BUCKETS))[None, None, :]
        cdf = 0.5 * (1 + _erf((les - np.log(median)[:, :, None]) / (sigma * np.sqrt(2.0))))
        cdf = np.concatenate([cdf, np.ones((n_t, len(a), 1))], axis=2)
        buckets = np.floor(self._integrate("buckets", rps[:, :, None] * cdf, dt[:, a], boot[:, a]))
        lat_sum = self._integrate("latency_sum", (rps * median * np.exp(sigma**2 / 2))[:, :, None],
                                  dt[:, a], boot[:, a])[:, :, 0]
        return np.floor(http), buckets, lat_sum
