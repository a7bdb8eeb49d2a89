"""watchkeeper: metrics collection, storage, PromQL, rules and notifications in one process."""

__version__ = "0.1.0"
