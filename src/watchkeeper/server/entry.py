"""Running a server coroutine from a command: the event loop, and startup errors as exit code 1."""

from __future__ import annotations

import sys
from collections.abc import Coroutine
from typing import Any

from ..alerting.errors import ConfigError as AlertmanagerConfigError
from ..config import ConfigError
from ..rules.manager import RuleLoadError
from ..storage.api import StorageError
from ..support import eventloop

__all__ = ["run_until_stopped"]


def run_until_stopped(command: str, main: Coroutine[Any, Any, None],
                      config_errors: tuple[type[BaseException], ...] = ()) -> int:
    """Run ``main`` until it returns (SIGINT/SIGTERM); 0, or 1 with the reason on stderr.

    ``config_errors`` are further exception types that mean "invalid configuration".
    """
    try:
        eventloop.run(main)
    except (ConfigError, *config_errors) as e:
        print(f"watchkeeper {command}: invalid configuration:\n{e}", file=sys.stderr)
        return 1
    except AlertmanagerConfigError as e:
        print(f"watchkeeper {command}: invalid alertmanager configuration:\n{e}", file=sys.stderr)
        return 1
    except RuleLoadError as e:
        print(f"watchkeeper {command}: error loading rules:\n{e}", file=sys.stderr)
        return 1
    except (OSError, StorageError) as e:
        print(f"watchkeeper {command}: {e}", file=sys.stderr)
        return 1
    return 0
