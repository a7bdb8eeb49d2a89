"""Rules over native histograms: recording rules store histogram results, alert values follow Prometheus."""

from __future__ import annotations

import numpy as np

from watchkeeper.model.batch import SampleBatch, is_stale
from watchkeeper.model.histogram_ops import from_python, to_python
from watchkeeper.model.labels import Labels
from watchkeeper.model.matchers import Matcher, MatchType
from watchkeeper.promql.engine import Engine
from watchkeeper.rules.alerting_rule import AlertingRule
from watchkeeper.rules.group import Group, GroupOptions
from watchkeeper.rules.recording_rule import RecordingRule
from watchkeeper.storage.db import TSDB

M = 60_000


def templater(text: str, **kw: object) -> str:
    return f"{text}|{kw['value']}"


class Env:
    def __init__(self) -> None:
        self.db = TSDB(None)
        self.engine = Engine()
        self.opts = GroupOptions(
            query=lambda e, t: self.engine.instant_query(self.db, e, t),
            appendable=self.db.append,
            notify=lambda a, e: None,
        )

    def put_histograms(self, name: str, pods: int, minutes: int) -> None:
        """Counter histograms: pod ``p`` observes ``p + 1`` values into bucket 1 per minute."""
        labels = [Labels({"__name__": name, "pod": str(p)}) for p in range(pods)]
        hs, series, ts = [], [], []
        for m in range(minutes + 1):
            for p in range(pods):
                n = float(m * (p + 1))
                hs.append({"schema": 0, "count": n, "sum": 2 * n, "positive": {1: n}})
                series.append(p)
                ts.append(m * M)
        k = len(hs)
        self.db.append(SampleBatch(labels, np.array(series, np.int64), np.array(ts, np.int64),
                                   np.full(k, np.nan), from_python(hs), np.arange(k, dtype=np.int64)))

    def group(self, *rules: AlertingRule | RecordingRule) -> Group:
        return Group("g", "rules.yml", M, list(rules), opts=self.opts)


def test_recording_rule_stores_histogram_results() -> None:
    env = Env()
    env.put_histograms("hist", pods=2, minutes=10)
    g = env.group(RecordingRule("job:hist:rate5m", "sum(rate(hist[5m]))"),
                  RecordingRule("job:hist:count", "histogram_count(job:hist:rate5m)"))
    g.evaluate(10 * M)
    ss = env.db.select([Matcher(MatchType.EQUAL, "__name__", "job:hist:rate5m")], 0, 10 * M)
    assert len(ss) == 1 and ss.h is not None and ss.h_index is not None and ss.h_index[0] >= 0
    stored = to_python(ss.h)[int(ss.h_index[0])]
    # (1 + 2) observations per minute, all in bucket 1: 0.05/s.
    assert np.isclose(stored["count"], 0.05) and np.isclose(stored["sum"], 0.1)
    assert np.isclose(stored["positive"][1], 0.05)
    # The stored histogram is queryable like any other, by later rules of the group too.
    res = env.engine.instant_query(env.db, "histogram_count(job:hist:rate5m)", 10 * M).series
    assert np.isclose(res.v[0], 0.05)
    rec = env.engine.instant_query(env.db, "job:hist:count", 10 * M).series
    assert np.isclose(rec.v[0], 0.05) and rec.h is None


def test_recording_rule_histogram_series_go_stale_as_floats() -> None:
    env = Env()
    env.put_histograms("hist", pods=1, minutes=3)
    g = env.group(RecordingRule("copy", "hist"))
    g.evaluate(3 * M)
    g.evaluate(10 * M)  # the input is beyond the lookback now: the copy goes stale
    ss = env.db.select([Matcher(MatchType.EQUAL, "__name__", "copy")], 0, 10 * M)
    assert ss.t.tolist() == [3 * M, 10 * M]
    assert ss.h_index is not None and ss.h_index.tolist()[0] >= 0 and ss.h_index.tolist()[1] == -1
    assert is_stale(ss.v[1:])[0]


def test_alert_over_histograms_has_value_zero_as_in_prometheus() -> None:
    env = Env()
    env.put_histograms("hist", pods=1, minutes=3)
    rule = AlertingRule("HistPresent", "hist", templater=templater)  # type: ignore[arg-type]
    g = env.group(rule)
    g.evaluate(3 * M)
    (alert,) = list(rule.active.values())
    # Prometheus' Alert.Value is the sample's float field, 0 for a histogram sample.
    assert alert.value == 0.0
