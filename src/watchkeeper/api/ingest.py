"""Push endpoints: remote write, text-format import and OTLP, all landing as sample batches."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from google.protobuf.json_format import MessageToJson
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..ingest.errors import IngestError
from ..ingest.import_ import decode_import
from ..ingest.otlp import decode_otlp_metrics
from ..ingest.remote_write import RemoteWriteDecoder
from ..model.batch import SampleBatch
from ..storage.api import OutOfBoundsError, StorageError
from .context import ApiContext
from .params import now_ms
from .request import BodyTooLarge, read_body

__all__ = ["RemoteWriteEndpoint", "import_text", "otlp_metrics"]

log = logging.getLogger(__name__)


async def _ingest(ctx: ApiContext, request: Request, endpoint: str,
                  decode: Callable[[bytes], SampleBatch], ok_status: int) -> tuple[Response, int, int]:
    """Read, decode and append one push body; every failure becomes a 4xx/5xx with a plain message.

    Returns the response, the samples stored and how many of them are native histograms.
    """
    try:
        body = await read_body(request, ctx.max_body_bytes)
    except BodyTooLarge as e:
        ctx.ingest.reject(endpoint, 413)
        return PlainTextResponse(str(e) + "\n", status_code=413), 0, 0
    storage = ctx.storage

    def work() -> tuple[int, int]:
        batch = decode(body)
        hist = 0 if batch.h_index is None else int((batch.h_index >= 0).sum())
        stored = storage.append(batch)
        return stored, min(hist, stored)

    try:
        n, hist = await run_in_threadpool(work)
    except IngestError as e:
        ctx.ingest.reject(endpoint, e.status)
        return PlainTextResponse(e.message + "\n", status_code=e.status), 0, 0
    except OutOfBoundsError as e:
        ctx.ingest.reject(endpoint, 400)
        return PlainTextResponse(f"{e}\n", status_code=400), 0, 0
    except StorageError as e:
        log.error("%s: storing pushed samples failed: %s", endpoint, e)
        ctx.ingest.reject(endpoint, 500)
        return PlainTextResponse(f"storing samples failed: {e}\n", status_code=500), 0, 0
    ctx.ingest.ok(endpoint, n)
    return Response(status_code=ok_status), n, hist


class RemoteWriteEndpoint:
    """``POST /api/v1/write``; one label cache shared by requests (the decoder is not thread-safe)."""

    def __init__(self, *, max_decoded_bytes: int) -> None:
        self._decoder = RemoteWriteDecoder(max_decoded_bytes=max_decoded_bytes)
        self._lock = threading.Lock()

    async def __call__(self, ctx: ApiContext, request: Request) -> Response:
        ctype = request.headers.get("content-type")
        cenc = request.headers.get("content-encoding")

        def decode(body: bytes) -> SampleBatch:
            with self._lock:
                return self._decoder.decode(body, content_type=ctype, content_encoding=cenc)

        response, n, hist = await _ingest(ctx, request, "remote_write", decode, 204)
        if response.status_code == 204:
            # Remote-write 2.0 senders read these to confirm what was stored (floats and
            # histograms counted apart, as Prometheus does).
            response.headers["X-Prometheus-Remote-Write-Samples-Written"] = str(n - hist)
            response.headers["X-Prometheus-Remote-Write-Histograms-Written"] = str(hist)
            response.headers["X-Prometheus-Remote-Write-Exemplars-Written"] = "0"
        return response


async def import_text(ctx: ApiContext, request: Request) -> Response:
    """``POST /api/v1/import/prometheus``: text exposition format with optional timestamps.

    ``?extra_label=name=value`` (repeatable) sets a label on every imported series.
    """
    cenc = request.headers.get("content-encoding")
    extra = dict(p.partition("=")[::2] for p in request.query_params.getlist("extra_label"))
    now = now_ms()

    def decode(body: bytes) -> SampleBatch:
        return decode_import(body, default_ts_ms=now, content_encoding=cenc, extra_labels=extra,
                             max_decoded_bytes=ctx.max_body_bytes * 4)

    response, _, _ = await _ingest(ctx, request, "import", decode, 204)
    return response


async def otlp_metrics(ctx: ApiContext, request: Request) -> Response:
    """``POST /v1/metrics`` (OTLP/HTTP, protobuf or JSON).

    Data points Prometheus would not ingest are skipped and reported back in the
    response's ``partial_success`` as OTLP specifies.
    """
    ctype = request.headers.get("content-type") or ""
    cenc = request.headers.get("content-encoding")
    warnings: list[str] = []

    def decode(body: bytes) -> SampleBatch:
        return decode_otlp_metrics(body, ctype, content_encoding=cenc,
                                   max_decoded_bytes=ctx.max_body_bytes * 4, warnings=warnings)

    response, _, _ = await _ingest(ctx, request, "otlp", decode, 200)
    if response.status_code != 200:
        return response
    reply = ExportMetricsServiceResponse()
    if warnings:
        reply.partial_success.error_message = "; ".join(warnings)
    if "json" in ctype:
        return Response(MessageToJson(reply).encode(), media_type="application/json")
    return Response(reply.SerializeToString(), media_type="application/x-protobuf")
