"""The dependency direction of the design, as import-linter contracts (pyproject.toml).

The core (model, storage, promql, scrape, ingest, rules, alerting and their helpers) imports nothing
from the HTTP layer, the UI, the server wiring, the CLI or the agent; within the core, lower layers
never import higher ones.
"""

from __future__ import annotations

from pathlib import Path

from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_import_contracts_are_kept() -> None:
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True) == 0
