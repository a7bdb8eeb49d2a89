"""The ``prometheus.yml`` schema and its loader (composition of inner packages' option models)."""

from .load import ConfigError, LoadedConfig, load_config_file, load_config_text, redacted_yaml

__all__ = ["ConfigError", "LoadedConfig", "load_config_file", "load_config_text", "redacted_yaml"]
