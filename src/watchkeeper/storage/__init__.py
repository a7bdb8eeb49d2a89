"""The embedded time-series database.

Other packages use ``storage.api`` (the protocols); only the composition root
builds a ``storage.db.TSDB``. The on-disk format is described in docs/storage.md.
"""
