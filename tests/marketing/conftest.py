"""Service tests; a test module's helpers (test_service_lane_alert.leasing_customer) are importable here."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))
