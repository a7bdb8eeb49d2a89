"""Silences: validation, states, update-or-replace, expiry, GC and persistence."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from watchkeeper.alerting.matchers import parse_matchers
from watchkeeper.alerting.silences import (
    Silence,
    SilenceError,
    SilenceNotFound,
    Silences,
    SilenceState,
    validate_silence,
)

S = 1_000_000_000
T0 = 1_700_000_000 * S


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def sil(matchers: str = 'alertname="G5"', start: int = T0, end: int = T0 + 3600 * S, **kw: object) -> Silence:
    return Silence(tuple(parse_matchers(matchers)), start, end, created_by="me", comment="c", **kw)


def test_states_inclusive_bounds() -> None:
    s = sil(start=T0, end=T0 + 10)
    assert s.state(T0 - 1) is SilenceState.PENDING
    assert s.state(T0) is SilenceState.ACTIVE and s.state(T0 + 10) is SilenceState.ACTIVE
    assert s.state(T0 + 11) is SilenceState.EXPIRED


@pytest.mark.parametrize(
    ("silence", "message"),
    [
        (sil("{}"), "at least one matcher required"),
        (sil('foo=~".*"'), "at least one matcher must not match the empty string"),
        (sil('foo=~".*",bar=""'), "at least one matcher must not match the empty string"),
        (sil(start=0), "invalid zero start timestamp"),
        (sil(end=0), "invalid zero end timestamp"),
        (sil(end=T0 - 1), "end time must not be before start time"),
    ],
)
def test_validation(silence: Silence, message: str) -> None:
    with pytest.raises(SilenceError, match=message):
        validate_silence(silence)


def test_validation_accepts_one_non_empty_matcher() -> None:
    validate_silence(sil('foo=~".*",bar="x"'))


def test_create_moves_past_start_to_now_and_mutes() -> None:
    clock = Clock()
    store = Silences(clock=clock)
    sid = store.set(sil(start=T0 - 60 * S))
    s = store.get(sid)
    assert s.starts_at == T0 and s.updated_at == T0 and len(sid) == 36
    assert store.mutes({"alertname": "G5", "x": "y"}) == [sid]
    assert store.mutes({"alertname": "G6"}) == []
    clock.now = T0 + 3601 * S
    assert store.mutes({"alertname": "G5"}) == []
    assert [x.id for x in store.list(SilenceState.EXPIRED)] == [sid]


def test_update_in_place_or_replace() -> None:
    clock = Clock()
    store = Silences(clock=clock)
    sid = store.set(sil())
    clock.now = T0 + 10 * S
    same = store.get(sid)
    # active: extending endsAt with unchanged matchers and startsAt updates in place
    assert store.set(dataclasses.replace(same, ends_at=T0 + 7200 * S, comment="longer")) == sid
    assert store.get(sid).comment == "longer"
    # changing matchers expires the old one and creates a new id
    new = store.set(dataclasses.replace(store.get(sid), matchers=tuple(parse_matchers('alertname="X"'))))
    assert new != sid
    assert store.get(sid).ends_at == clock.now  # expired from the next instant on
    assert store.get(sid).state(clock.now + 1) is SilenceState.EXPIRED
    # pending: a start in the future may be changed in place
    pend = store.set(sil(start=T0 + 100 * S, end=T0 + 200 * S))
    assert store.set(dataclasses.replace(store.get(pend), starts_at=T0 + 150 * S)) == pend
    # an expired silence is never updated in place
    clock.now = T0 + 10_000 * S
    again = store.set(dataclasses.replace(store.get(sid), ends_at=T0 + 20_000 * S))
    assert again != sid
    with pytest.raises(SilenceNotFound):
        store.set(sil(id="nope"))


def test_expire() -> None:
    clock = Clock()
    store = Silences(clock=clock)
    active, pending = store.set(sil()), store.set(sil(start=T0 + 60 * S, end=T0 + 120 * S))
    clock.now = T0 + 5 * S
    store.expire(active)
    store.expire(pending)
    assert store.get(active).ends_at == clock.now
    assert (store.get(pending).starts_at, store.get(pending).ends_at) == (clock.now, clock.now)
    before = store.get(active)
    clock.now += S
    store.expire(active)  # already expired: no change
    assert store.get(active) == before
    with pytest.raises(SilenceNotFound):
        store.expire("missing")


def test_gc_and_persistence(tmp_path: Path) -> None:
    clock = Clock()
    store = Silences(directory=tmp_path, clock=clock, retention_ns=3600 * S)
    keep = store.set(sil('a=~"b|c",d!="e",f!~"g"', end=T0 + 10 * 3600 * S))
    drop = store.set(sil(end=T0 + 60 * S))
    reloaded = Silences(directory=tmp_path, clock=clock)
    assert reloaded.get(keep) == store.get(keep)
    assert [str(m) for m in reloaded.get(keep).matchers] == ['a=~"b|c"', 'd!="e"', 'f!~"g"']
    clock.now = T0 + 3661 * S
    assert store.gc() == 1
    assert {s.id for s in Silences(directory=tmp_path, clock=clock).list()} == {keep}
    with pytest.raises(SilenceNotFound):
        store.get(drop)


def test_json_round_trip() -> None:
    s = sil('a="1",b=~"x.*"', id="abc", updated_at=T0 + 123)
    doc = s.to_json()
    assert doc["matchers"] == [
        {"name": "a", "value": "1", "isRegex": False, "isEqual": True},
        {"name": "b", "value": "x.*", "isRegex": True, "isEqual": True},
    ]
    assert doc["updatedAt"] == "2023-11-14T22:13:20.000000123Z"
    assert Silence.from_json(doc) == s
    with pytest.raises(SilenceError, match="invalid regular expression"):
        Silence.from_json({"matchers": [{"name": "a", "value": "(", "isRegex": True}]})
