"""The frontend build hook in setup.py: it must fail loudly, never ship a wheel without the UI."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parents[1]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("watchkeeper_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: defines the hook without running setup()
    return module


def test_missing_npm_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SetupError, match="needs Node.js and npm on PATH"):
        hook.build_frontend()


def test_without_sources_the_built_assets_must_be_present(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    hook = _hook()
    monkeypatch.setattr(hook, "FRONTEND", tmp_path / "no-frontend")
    monkeypatch.setattr(hook, "STATIC", tmp_path / "static")
    with pytest.raises(SetupError, match="no built web UI assets"):
        hook.build_frontend()
    (tmp_path / "static").mkdir()
    for name in hook.ASSETS:
        (tmp_path / "static" / name).write_text("/* built */")
    hook.build_frontend()  # an sdist with prebuilt assets installs without npm


def test_frontend_sources_declare_uplot_and_a_lock_file() -> None:
    package = (ROOT / "frontend" / "package.json").read_text()
    assert '"uplot"' in package and '"build"' in package
    assert (ROOT / "frontend" / "package-lock.json").is_file()
