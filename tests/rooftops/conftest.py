import pytest


@pytest.fixture(autouse=True)
def _webhooks_may_post_to_loopback(settings):
    """The receivers in these tests listen on 127.0.0.1 (the test run sets WEBHOOK_ALLOW_LOOPBACK too; this keeps
    a bare `pytest` run the same). A test about the refusal turns it off itself."""
    settings.WEBHOOK_ALLOW_LOOPBACK = True
