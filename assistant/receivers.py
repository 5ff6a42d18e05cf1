"""What the assistant makes of inbound texts (customers.messaging tells through its signal; it imports no app)."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import receiver

from crm.handoff import hand_off
from customers.messaging import text_received
from customers.models import InboundMessage


@receiver(text_received, dispatch_uid="assistant.text_answered_later")
def text_answered_later(*, inbound: InboundMessage, **_) -> None:
    """After commit, a task decides and answers (assistant.texts): the webhook never waits on the engine."""
    from assistant.tasks import answer_text

    inbound_id = inbound.pk
    transaction.on_commit(lambda: hand_off(lambda: answer_text.delay(inbound_id), what="assistant text answer"))
