"""Where the external conformance corpus lives: ``../shared/conformance`` beside the repository.

``WATCHKEEPER_CONFORMANCE`` may point elsewhere. Tests read the files in place.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFORMANCE = Path(os.environ.get("WATCHKEEPER_CONFORMANCE")
                   or Path(__file__).resolve().parents[2] / "shared" / "conformance")
