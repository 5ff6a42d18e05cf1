"""Marketing tests; helpers shared by the test modules (marketing_world) are importable here."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))

