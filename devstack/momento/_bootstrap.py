"""Make ``edgecache`` importable when the stand-in runs from a checkout.

The stand-in decodes gRPC-web with the project's own codec (``src/edgecache/momento``),
never a copy of it. pytest puts ``src`` on ``sys.path`` (pyproject ``pythonpath``), but
``python -m devstack.momento`` run from the repository root does not, so this adds
``<repo>/src`` when, and only when, ``edgecache`` cannot be found otherwise.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("edgecache") is None:
    _src = Path(__file__).resolve().parents[2] / "src"
    if (_src / "edgecache").is_dir():
        sys.path.insert(0, str(_src))
