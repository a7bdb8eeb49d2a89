"""Notification log: the dedup table of BEHAVIOR.md section 6, expiry, and persistence across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from watchkeeper.alerting.nflog import LogEntry, NotificationLog, dedup_reason, hash_alert

S = 1_000_000_000
REPEAT = 10 * S
NOW = 1_000 * S


def entry(firing: set[int], resolved: frozenset[int] = frozenset(), at: int = NOW - S) -> LogEntry:
    return LogEntry(at, frozenset(firing), frozenset(resolved), at + 2 * REPEAT)


@pytest.mark.parametrize(
    ("e", "firing", "resolved", "send_resolved", "reason"),
    [
        (None, {1}, set(), True, "first notification"),
        (None, set(), {1}, True, None),  # flapped inside group_wait: nothing to say
        (entry({1}), {1, 2}, set(), False, "new alerts added"),
        (entry(set(), {1}), {1}, set(), False, "first notification"),  # firing again after a resolve
        (entry({1, 2}), set(), {1, 2}, False, "all alerts resolved"),  # even without send_resolved
        (entry(set(), {1}), set(), {1, 2}, True, None),
        (entry({1, 2}), {2}, {1}, True, "some alerts resolved"),
        (entry({1, 2}), {2}, {1}, False, None),  # a firing alert disappearing alone is not news
        (entry({1, 2}, {1}), {2}, {1}, True, None),
        (entry({1}), {1}, set(), True, None),
        (
            entry({1}, at=NOW - REPEAT),
            {1},
            set(),
            True,
            None,
        ),  # strict: exactly repeat_interval is not enough
        (entry({1}, at=NOW - REPEAT - 1), {1}, set(), True, "repeat interval elapsed"),
    ],
)
def test_dedup_table(
    e: LogEntry | None, firing: set[int], resolved: set[int], send_resolved: bool, reason: str | None
) -> None:
    got = dedup_reason(e, firing, resolved, send_resolved=send_resolved, repeat_interval_ns=REPEAT, now=NOW)
    assert got == reason


def test_hash_alert_is_label_set_only() -> None:
    assert hash_alert({"a": "1", "b": "2"}) == hash_alert({"b": "2", "a": "1"})
    assert hash_alert({"a": "1"}) != hash_alert({"a": "2"})
    assert hash_alert({"ab": ""}) != hash_alert({"a": "b"})
    assert hash_alert({}) == 17241709254077376921  # XXH64 of the empty input, seed 0


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


def test_log_query_expiry_and_restart(tmp_path: Path) -> None:
    clock = Clock()
    log = NotificationLog(directory=tmp_path, clock=clock)
    log.log("{}:{}", "hook", "webhook", 0, firing={1, 2}, resolved=set(), expiry_ns=2 * REPEAT)
    log.log("{}:{}", "hook", "email", 0, firing={1}, resolved={3}, expiry_ns=2 * REPEAT)
    got = log.query("{}:{}", "hook", "webhook", 0)
    assert got is not None and got.firing == {1, 2} and got.timestamp == NOW
    assert log.query("{}:{}", "hook", "webhook", 1) is None
    clock.now += S
    log.log("{}:{}", "hook", "webhook", 0, firing={2}, resolved={1}, expiry_ns=2 * REPEAT)
    # a restart replays the file: later lines win
    again = NotificationLog(directory=tmp_path, clock=clock)
    assert again.query("{}:{}", "hook", "webhook", 0) == log.query("{}:{}", "hook", "webhook", 0)
    assert again.query("{}:{}", "hook", "email", 0).resolved == {3}
    assert len((tmp_path / "nflog.jsonl").read_text().splitlines()) == 2  # compacted on open
    clock.now = NOW + 2 * REPEAT
    assert again.query("{}:{}", "hook", "email", 0) is None  # expired
    assert again.gc() == 1 and len(again) == 1


def test_torn_tail_and_retention_cap(tmp_path: Path) -> None:
    clock = Clock()
    log = NotificationLog(directory=tmp_path, clock=clock, retention_ns=5 * S)
    log.log("k", "r", "webhook", 0, firing={1}, resolved=set(), expiry_ns=100 * S)
    assert log.query("k", "r", "webhook", 0).expires_at == NOW + 5 * S
    with open(tmp_path / "nflog.jsonl", "a") as fh:
        fh.write('{"g":"k","r":"r","i":"web')  # crash mid-write
    assert NotificationLog(directory=tmp_path, clock=clock).query("k", "r", "webhook", 0) is not None


def test_file_stays_bounded(tmp_path: Path) -> None:
    clock = Clock()
    log = NotificationLog(directory=tmp_path, clock=clock)
    for i in range(500):
        clock.now += 1
        log.log("k", "r", "webhook", 0, firing={i}, resolved=set(), expiry_ns=REPEAT)
    assert len((tmp_path / "nflog.jsonl").read_text().splitlines()) <= 2 * len(log) + 65
    assert NotificationLog(directory=tmp_path, clock=clock).query("k", "r", "webhook", 0).firing == {499}
