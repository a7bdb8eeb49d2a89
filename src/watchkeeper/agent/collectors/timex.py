"""Kernel clock discipline state via adjtimex(2) (node_exporter's ``timex`` collector)."""

from __future__ import annotations

import ctypes

from .base import HostPaths, MetricFamily

__all__ = ["TimexCollector"]

_TIME_ERROR = 5  # adjtimex return value: clock not synchronised
_STA_NANO = 0x2000  # offsets are in ns rather than us
_PPM16 = 1_000_000.0 * 65536.0  # frequencies are ppm with a 16-bit fraction


class _Timeval(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """``struct timex`` from <sys/timex.h>; natural alignment gives the kernel's padding."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
    ]


class TimexCollector:
    name = "timex"

    def collect(self, paths: HostPaths) -> list[MetricFamily]:
        # dlopen(NULL): the running interpreter's symbols, libc's adjtimex among them (no
        # ctypes.util.find_library, which would run ldconfig on every scrape).
        libc = ctypes.CDLL(None, use_errno=True)
        tx = _Timex()  # modes = 0: read only
        state = libc.adjtimex(ctypes.byref(tx))
        if state < 0:
            raise OSError(ctypes.get_errno(), "adjtimex failed")
        divisor = 1e9 if tx.status & _STA_NANO else 1e6

        def g(name: str, help_text: str, value: float, type_: str = "gauge") -> MetricFamily:
            return MetricFamily(f"node_timex_{name}", help_text, type_).add(value)

        return [
            g("sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
              0.0 if state == _TIME_ERROR else 1.0),
            g("offset_seconds", "Time offset in between local system and reference clock.",
              tx.offset / divisor),
            g("frequency_adjustment_ratio", "Local clock frequency adjustment.", 1 + tx.freq / _PPM16),
            g("maxerror_seconds", "Maximum error in seconds.", tx.maxerror / 1e6),
            g("estimated_error_seconds", "Estimated error in seconds.", tx.esterror / 1e6),
            g("status", "Value of the status array bits.", tx.status),
            g("loop_time_constant", "Phase-locked loop time constant.", tx.constant),
            g("tick_seconds", "Seconds between clock ticks.", tx.tick / 1e6),
            g("pps_frequency_hertz", "Pulse per second frequency.", tx.ppsfreq / _PPM16),
            g("pps_jitter_seconds", "Pulse per second jitter.", tx.jitter / divisor),
            g("pps_shift_seconds", "Pulse per second interval duration.", tx.shift),
            g("pps_stability_hertz", "Pulse per second stability, average of recent frequency changes.",
              tx.stabil / _PPM16),
            g("pps_jitter_total", "Pulse per second count of jitter limit exceeded events.",
              tx.jitcnt, "counter"),
            g("pps_calibration_total", "Pulse per second count of calibration intervals.",
              tx.calcnt, "counter"),
            g("pps_error_total", "Pulse per second count of calibration errors.", tx.errcnt, "counter"),
            g("pps_stability_exceeded_total", "Pulse per second count of stability limit exceeded events.",
              tx.stbcnt, "counter"),
            g("tai_offset_seconds", "International Atomic Time (TAI) offset.", tx.tai),
        ]  # fmt: skip
