"""Field types of the top-level config; HTTP client options and durations come from ``scrape.config``."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["Strict", "LabelName", "LabelSet"]


class Strict(BaseModel):
    """Base for config sections: unknown keys are errors, as in Prometheus (strict YAML unmarshal)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _label_name(v: str) -> str:
    if not _LABEL_NAME.match(v):
        raise ValueError(f'"{v}" is not a valid label name')
    return v


LabelName = Annotated[str, AfterValidator(_label_name)]
LabelSet = dict[LabelName, str]
