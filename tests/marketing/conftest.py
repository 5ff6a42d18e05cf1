"""Marketing tests; helpers shared by the test modules (marketing_world) are importable here."""

import sys
from pathlib import Path

# Appended, not prepended: `from conftest import ...` elsewhere must keep finding tests/conftest.py.
sys.path.append(str(Path(__file__).resolve().parent))


import pytest  # noqa: E402

from fake_twilio import FakeTwilio  # noqa: E402


@pytest.fixture
def fake_twilio(settings):
    """A Twilio-compatible server on loopback, with the CRM's SMS settings pointing at it."""
    fake = FakeTwilio().start()
    settings.SMS_BACKEND = "customers.sms.TwilioSmsBackend"
    settings.TWILIO_ACCOUNT_SID = fake.account_sid
    settings.TWILIO_AUTH_TOKEN = fake.auth_token
    settings.TWILIO_FROM_NUMBER = "+16175550100"
    settings.TWILIO_API_BASE = fake.base_url
    settings.SMS_HTTP_TIMEOUT_SECONDS = 3
    yield fake
    fake.stop()
