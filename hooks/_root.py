"""Put the repository root on ``sys.path`` so that hooks can import ``site_tools``.

MkDocs adds a hook's folder to ``sys.path`` only while it imports the hook; every hook
imports this module first. ``site_tools`` is not installed: it is not part of the wheel.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from site_tools.env import apply_offline_env  # noqa: E402

# Offline by construction: figure code and examples must never reach a model hub.
apply_offline_env()
