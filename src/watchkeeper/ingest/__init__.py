"""Push ingest decoders: remote write, VictoriaMetrics-style import, OTLP metrics.

Each turns a request body into a ``SampleBatch`` and raises ``IngestError(status, message)``;
they know nothing of HTTP frameworks, so the API layer calls them and maps the status.
"""

from __future__ import annotations

from .errors import IngestError
from .import_ import decode_import
from .otlp import decode_otlp_metrics
from .remote_write import RemoteWriteDecoder, decode_remote_write, negotiate_remote_write

__all__ = [
    "IngestError",
    "RemoteWriteDecoder",
    "decode_import",
    "decode_otlp_metrics",
    "decode_remote_write",
    "negotiate_remote_write",
]
