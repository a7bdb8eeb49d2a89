"""Prometheus exposition formats (text 0.0.4, OpenMetrics 1.0, protobuf), parsed into columnar results.

Shared by scraping, the import endpoint and the agent's textfile collector, so
every path that reads exposition text accepts and rejects exactly the same input.
"""
