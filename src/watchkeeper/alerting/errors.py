"""The one error type of Alertmanager configuration loading."""

from __future__ import annotations

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """An invalid alertmanager.yml; ``message`` is Alertmanager's own wording, ``line`` 1-based or None."""

    def __init__(self, message: str, *, line: int | None = None, file: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.file = file

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        return f"{where}{self.message}"
