import pytest

from fake_twilio import FakeTwilio


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
