"""``/federate``: the latest sample of every matching series, in the text format."""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..model.batch import is_stale
from ..model.labels import METRIC_NAME, Labels
from .context import ApiContext
from .params import matchers_param, now_ms
from .request import form_params
from .textfmt import CONTENT_TYPE, MetricFamily, render_families

__all__ = ["federate"]


async def federate(ctx: ApiContext, request: Request) -> Response:
    params = await form_params(request)
    sets = matchers_param(params.getlist("match[]"))
    now = now_ms()
    mint = now - ctx.lookback_ms()
    external = ctx.external_labels()
    storage = ctx.storage

    def work() -> bytes:
        latest: dict[Labels, tuple[int, float]] = {}
        for matchers in sets:
            ss = storage.select(matchers, mint, now)
            if len(ss) == 0:
                continue
            last = ss.offsets[1:] - 1
            t, v = ss.t[last], ss.v[last]
            keep = ~is_stale(v)
            for i in np.flatnonzero(keep).tolist():
                latest[ss.labels[i]] = (int(t[i]), float(v[i]))
        families: dict[str, MetricFamily] = {}
        for lbl in sorted(latest, key=lambda lb: (lb.name, lb.items)):
            t, v = latest[lbl]
            pairs = dict(lbl.without(METRIC_NAME).items)
            # External labels identify this server upstream unless the series already has them.
            for k, val in external.items():
                pairs.setdefault(k, val)
            fam = families.get(lbl.name)
            if fam is None:
                fam = families[lbl.name] = MetricFamily(lbl.name)
            fam.add(sorted(pairs.items()), v, t)
        return render_families(families.values())

    body = await run_in_threadpool(work)
    return Response(body, media_type=CONTENT_TYPE)
