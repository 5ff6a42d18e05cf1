"""Conversations between a shopper and the assistant (chat, text or another front end through the API).

A conversation is reached by the shopper only through its unguessable `public_id`; it touches only its own
customer, lead and appointment, which are filled in as the dialogue books or hands off. `state` is what the
dialogue remembers between messages (assistant.dialogue reads and returns it as plain JSON).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from customers.models import Appointment, Customer
from leads.models import Lead
from rooftops.models import Rooftop
from rooftops.tenancy import TenantModel
from tracking.models import Visitor


class Conversation(TenantModel):
    class Channel(models.TextChoices):
        CHAT = "chat", "Chat"
        SMS = "sms", "Text"
        API = "api", "API"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        HANDED_OFF = "handed_off", "Handed off"
        CLOSED = "closed", "Closed"

    rooftop = models.ForeignKey(Rooftop, on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=64, unique=True)  # secrets.token_urlsafe(24): the shopper's only key
    channel = models.CharField(max_length=4, choices=Channel.choices)
    anonymous_id = models.CharField(max_length=100, blank=True)  # the browser's, so a returning browser resumes
    visitor = models.ForeignKey(Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone = models.CharField(max_length=20, blank=True)  # E.164, texts
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    handed_off_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["rooftop", "anonymous_id"], condition=~models.Q(anonymous_id=""),
                         name="conversation_by_browser"),
            models.Index(fields=["rooftop", "phone"], condition=~models.Q(phone=""), name="conversation_by_phone"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.channel})"


class ConversationMessage(models.Model):
    """One line of a conversation; scoped through its conversation, which is always loaded first."""

    class Author(models.TextChoices):
        SHOPPER = "shopper", "Shopper"
        ASSISTANT = "assistant", "Assistant"
        STAFF = "staff", "Staff"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=10, choices=Author.choices)
    text = models.TextField()
    intent = models.CharField(max_length=24, blank=True)
    slots = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["conversation", "id"])]
