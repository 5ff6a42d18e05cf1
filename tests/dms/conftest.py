"""DMS import tests; export files and the import helper live in dms_exports.py (importable from this folder)."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))
