"""sum/avg: the numpy replay and the compiled kernel give bit-identical Prometheus results."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.promql.aggregations import _exact_sum_avg
from watchkeeper.promql.kernels import group_sum_avg
from watchkeeper.promql.labelsets import sorted_groups


@pytest.mark.parametrize("avg", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_numpy_replay_and_compiled_kernel_agree_bitwise(avg, seed):
    rng = np.random.default_rng(seed)
    n, steps, ngroups = 40, 30, 6
    vals = rng.normal(0, 1, (n, steps)) * 10.0 ** rng.integers(-5, 5, (n, steps))
    vals[rng.random((n, steps)) < 0.05] = 1.7e308  # sums that overflow: avg turns incremental
    vals[rng.random((n, steps)) < 0.02] = np.nan
    vals[rng.random((n, steps)) < 0.02] = -np.inf
    present = rng.random((n, steps)) < 0.8
    gid = rng.integers(0, ngroups, n)
    replay = _exact_sum_avg(vals, present, gid, ngroups, avg)
    order, starts, sizes = sorted_groups(gid, ngroups)
    compiled = group_sum_avg(vals, present, order, starts, sizes, avg)
    number = ~np.isnan(replay)
    assert np.array_equal(np.isnan(replay), np.isnan(compiled))
    assert np.array_equal(replay.view(np.uint64)[number], compiled.view(np.uint64)[number])
