"""Assistant tests (pure: no database, no network); a test module's helpers are importable here."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))
