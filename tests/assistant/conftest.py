"""Assistant tests (pure: no database, no network); a test module's helpers are importable here."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))

# channels.testing's package imports its live-server test case, which needs daphne; the suite serves with uvicorn
# (STACK-NOTES) and does not install daphne. WebsocketCommunicator itself needs nothing of it.
try:
    import daphne.testing  # noqa: F401
except ModuleNotFoundError:
    import types

    sys.modules.setdefault("daphne", types.ModuleType("daphne"))
    sys.modules.setdefault("daphne.testing", types.SimpleNamespace(DaphneProcess=None))
