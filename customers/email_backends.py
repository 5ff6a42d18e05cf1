"""Email for a deployment that has no mail server configured yet."""

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class LogOnlyEmailBackend(BaseEmailBackend):
    """Delivers nothing and logs that it did not, by the message's idempotency key only: no address, subject or
    body, which may all carry personal data (Django's console backend prints them; it is for development)."""

    def send_messages(self, email_messages):
        for message in email_messages:
            key = message.extra_headers.get("X-CRM-Idempotency-Key", "(no key)")
            logger.warning("Email %s not delivered: no mail server is configured (EMAIL_BACKEND)", key)
        return len(email_messages)
