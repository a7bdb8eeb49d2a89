"""Native histograms in the HTTP API's JSON (``api/jsonfmt``), byte for byte as Prometheus writes them."""

from __future__ import annotations

import json

import numpy as np

from watchkeeper.api.jsonfmt import histogram_json, matrix_json, vector_json
from watchkeeper.model import histogram_ops as H
from watchkeeper.model.batch import SeriesSet
from watchkeeper.model.labels import Labels

# The example of Prometheus' API documentation: a zero bucket of width 0.25 and schema-0 buckets.
DOC_HIST = {"count": 42, "sum": 34593.34, "zero_count": 3, "zero_threshold": 0.25,
            "positive": {-1: 12, 0: 21, 1: 0, 2: 6}}
DOC_JSON = ('{"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],[0,"0.25","0.5","12"],'
            '[0,"0.5","1","21"],[0,"2","4","6"]]}')


def test_histogram_object_matches_prometheus_documentation() -> None:
    h = H.from_python([DOC_HIST, {"count": 0, "sum": 0}])
    assert histogram_json(h, np.array([0, 1])) == [DOC_JSON, '{"count":"0","sum":"0"}']


def test_histogram_bucket_rules_negative_and_custom() -> None:
    h = H.from_python([
        {"count": 3, "sum": -1.5, "negative": {0: 1, 1: 2}},
        {"schema": -53, "count": 6, "sum": 1e21, "custom_values": [0.5, 10], "positive": {0: 1, 1: 2, 2: 3}},
    ])
    neg, custom = histogram_json(h, np.array([0, 1]))
    assert neg == '{"count":"3","sum":"-1.5","buckets":[[1,"-2","-1","2"],[1,"-1","-0.5","1"]]}'
    assert custom == ('{"count":"6","sum":"1000000000000000000000","buckets":[[3,"-Inf","0.5","1"],'
                      '[0,"0.5","10","2"],[0,"10","+Inf","3"]]}')


def _series(labels: list[Labels], offsets: list[int], t: list[int], v: list[float], h_index: list[int],
            h: H.HistogramBatch) -> SeriesSet:
    return SeriesSet(labels, np.array(offsets, np.int64), np.array(t, np.int64), np.array(v),
                     h, np.array(h_index, np.int64))


def test_vector_with_histograms_and_floats() -> None:
    h = H.from_python([DOC_HIST])
    ss = _series([Labels({"a": "1"}), Labels({"a": "2"})], [0, 1, 2], [1500, 2000],
                 [np.nan, 7.0], [0, -1], h)
    out = vector_json(ss)
    assert out == ('[{"metric":{"a":"1"},"histogram":[1.500,' + DOC_JSON + ']},'
                   '{"metric":{"a":"2"},"value":[2,"7"]}]')
    json.loads(out)


def test_matrix_with_histograms_and_floats() -> None:
    h = H.from_python([DOC_HIST, {"count": 1, "sum": 2, "positive": {0: 1}}])
    ss = _series([Labels({"a": "1"}), Labels({"a": "2"})], [0, 3, 4], [0, 1000, 2000, 5],
                 [1.0, np.nan, np.nan, np.nan], [-1, 0, 1, 1], h)
    out = matrix_json(ss)
    assert out == ('[{"metric":{"a":"1"},"values":[[0,"1"]],"histograms":[[1,' + DOC_JSON + '],'
                   '[2,{"count":"1","sum":"2","buckets":[[0,"0.5","1","1"]]}]]},'
                   '{"metric":{"a":"2"},"histograms":[[0.005,{"count":"1","sum":"2","buckets":[[0,"0.5","1","1"]]}]]}]')
    json.loads(out)


def test_float_only_output_unchanged_when_histogram_fields_are_empty() -> None:
    labels = [Labels({"a": "1"})]
    plain = SeriesSet(labels, np.array([0, 2], np.int64), np.array([0, 1000], np.int64), np.array([1.0, 2.5]))
    with_h = _series(labels, [0, 2], [0, 1000], [1.0, 2.5], [-1, -1], H.from_python([DOC_HIST]))
    assert matrix_json(plain) == matrix_json(with_h) == '[{"metric":{"a":"1"},"values":[[0,"1"],[1,"2.5"]]}]'
    assert vector_json(plain) == vector_json(with_h) == '[{"metric":{"a":"1"},"value":[1,"2.5"]}]'
