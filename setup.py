"""Build hook: compile the web UI (frontend/, with npm) into src/watchkeeper/web/static before packaging.

All metadata lives in pyproject.toml; this file only adds the frontend step to ``build_py``, so that
``pip install .`` stays the whole setup and wheels carry the built assets. Without the frontend sources
(e.g. building from an sdist that already holds the built assets) the step is skipped; with them but
without npm, the build fails instead of shipping a UI that cannot load.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

ROOT = Path(__file__).resolve().parent
FRONTEND = ROOT / "frontend"
STATIC = ROOT / "src" / "watchkeeper" / "web" / "static"
ASSETS = ("app.js", "app.css")


def _npm(npm: str, *args: str) -> None:
    print(f"frontend: npm {' '.join(args)}", flush=True)
    result = subprocess.run([npm, *args], cwd=FRONTEND, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    if result.returncode != 0:
        raise SetupError(f"frontend build failed: `npm {' '.join(args)}` exited with {result.returncode}:\n"
                         f"{result.stdout[-4000:]}")


def build_frontend() -> None:
    """Run ``npm ci`` (when node_modules is missing or older than the lock file) and ``npm run build``."""
    if not (FRONTEND / "package.json").is_file():
        missing = [a for a in ASSETS if not (STATIC / a).is_file()]
        if missing:
            raise SetupError(f"no frontend sources and no built web UI assets ({', '.join(missing)}) "
                             f"in {STATIC}")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SetupError("building watchkeeper's web UI needs Node.js and npm on PATH (npm was not found); "
                         "install them (e.g. `apt-get install nodejs npm`) and run `pip install .` again")
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        _npm(npm, "ci", "--no-audit", "--no-fund")
    _npm(npm, "run", "build")
    missing = [a for a in ASSETS if not (STATIC / a).is_file()]
    if missing:
        raise SetupError(f"frontend build finished but did not produce {', '.join(missing)} in {STATIC}")


class BuildPyWithFrontend(build_py):
    """``build_py`` that builds the frontend first, so the package data it copies includes the assets."""

    def run(self) -> None:
        build_frontend()
        super().run()


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import build_frontend alone
    setup(cmdclass={"build_py": BuildPyWithFrontend})
