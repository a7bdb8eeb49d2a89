"""The seam between storage and everything that reads or writes it.

The query engine, the scrape loops, ingest endpoints and the rule engine see
only these protocols; the TSDB's internals stay private to ``storage``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..model.batch import SampleBatch, SeriesSet
from ..model.matchers import Matcher

__all__ = ["Querier", "Appender", "Storage", "StorageError", "OutOfBoundsError"]


class StorageError(Exception):
    """A storage operation failed; the message says what and why."""


class OutOfBoundsError(StorageError):
    """A sample was rejected because its timestamp is outside what the store accepts."""


class Querier(Protocol):
    """Read access to stored series over a closed time range [mint, maxt] in ms."""

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesSet:
        """All series matching every matcher, with their samples in [mint, maxt], sorted by labels.

        Series with no sample in the range are left out.
        """
        ...

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        """Sorted label names of series with samples in range (all series if no matchers)."""
        ...

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        """Sorted distinct values of label ``name`` among matching series with samples in range."""
        ...


class Appender(Protocol):
    """Write access. ``append`` returns only once the batch is durable (in the WAL)."""

    def append(self, batch: SampleBatch) -> int:
        """Store a batch; returns the number of samples accepted. Raises StorageError on failure."""
        ...


class Storage(Querier, Appender, Protocol):
    """A store that can be read and written."""
