"""Selector searches: the per-series loop for long series agrees with the vectorised passes."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.promql import selectors


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("evenly", [True, False])
def test_series_loop_search_matches_vectorised_search(monkeypatch, side, evenly):
    rng = np.random.default_rng(7)
    lens = rng.integers(0, 400, 12)
    offsets = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=offsets[1:])
    t = np.concatenate([np.sort(rng.choice(20_000, int(k), replace=False)) for k in lens]).astype(np.int64)
    q = np.arange(-500, 21_000, 700, dtype=np.int64) if evenly else np.sort(rng.integers(-500, 21_000, 40))
    monkeypatch.setattr(selectors, "_LOOP_MIN_SAMPLES", 1)
    looped = selectors.segment_search(offsets, t, q, side)
    monkeypatch.setattr(selectors, "_LOOP_MIN_SAMPLES", 10**9)
    vectorised = selectors.segment_search(offsets, t, q, side)
    assert np.array_equal(looped, vectorised)
    want = np.array([[a + np.searchsorted(t[a:b], x, side=side) for x in q]
                     for a, b in zip(offsets[:-1], offsets[1:], strict=True)])
    assert np.array_equal(looped, want)
