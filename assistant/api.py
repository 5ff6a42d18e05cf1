"""The assistant API for other chat front ends, authenticated by the rooftop's public write key.

The key is the collector's (`Rooftop.tracking_write_key`, sent as the HTTP Basic user name like Segment's
libraries do); it names the store and nothing more, so a conversation is reached only through its own
unguessable id *and* that store's key — any other combination is the same 404. Rate limited per key and client
address (crm.ratelimit, door "assistant"). Bad input is 400/413 with a reason; the database down is 503.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.ratelimit import client_address, retry_after
from tracking.intake import write_key_from_authorization
from tracking.selectors import rooftop_for_write_key

from assistant import selectors, services

logger = logging.getLogger(__name__)


class WriteKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64(<write key>:)`: the request speaks for a store's website, not for a person."""

    def authenticate(self, request):
        key = write_key_from_authorization(request.headers.get("Authorization", ""))
        if not key:
            return None
        rooftop = rooftop_for_write_key(key)
        if rooftop is None:
            raise exceptions.AuthenticationFailed("Unknown write key.")
        from django.contrib.auth.models import AnonymousUser

        return (AnonymousUser(), rooftop)

    def authenticate_header(self, request):
        return 'Basic realm="assistant"'


class WriteKeyScheme(OpenApiAuthenticationExtension):
    target_class = "assistant.api.WriteKeyAuthentication"
    name = "WriteKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "basic",
                "description": "The store's public website write key as the user name, no password "
                               "(the same key the tracking snippet sends)."}


class HasWriteKey(BasePermission):
    def has_permission(self, request, view):
        return request.auth is not None and hasattr(request.auth, "tracking_write_key")


class MessageTooLong(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"Keep a message under {services.MAX_TEXT} characters."
    default_code = "too_long"


class Unavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The assistant is briefly unavailable; try again shortly."


class AssistantView(APIView):
    authentication_classes = [WriteKeyAuthentication]
    permission_classes = [HasWriteKey]

    def initial(self, request, *args, **kwargs):
        # Counted before the key is looked up, as the collector does: a flood of bad keys costs no queries.
        key = write_key_from_authorization(request.headers.get("Authorization", "")) or None
        wait = retry_after("assistant", key=key, address=client_address(request))
        if wait is not None:
            raise exceptions.Throttled(wait=wait)
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, DatabaseError):
            logger.warning("assistant API could not reach the database: %s", type(exc).__name__)
            exc = Unavailable()
        response = super().handle_exception(exc)
        if isinstance(exc, Unavailable):
            response["Retry-After"] = "5"
        return response

    def conversation(self, request, public_id: str):
        found = selectors.conversation_by_public_id(rooftop=request.auth, public_id=public_id)
        if found is None:
            raise exceptions.NotFound()
        return found


class OpenInput(serializers.Serializer):
    anonymous_id = serializers.CharField(required=False, allow_blank=True, max_length=100,
                                         help_text="the browser's first-party id, so a returning browser resumes")


class MessageInput(serializers.Serializer):
    text = serializers.CharField(help_text=f"what the shopper wrote, 1–{services.MAX_TEXT} characters",
                                 trim_whitespace=True, allow_blank=True)


class ReplyOutput(serializers.Serializer):
    reply = serializers.CharField()
    intent = serializers.ChoiceField(choices=["hours", "location", "inventory", "price", "trade_in", "financing",
                                              "test_drive", "service_appointment", "human", "opt_out", "other"])
    slots = serializers.DictField(help_text="what was understood: vehicle, date and time in the store's time zone, "
                                            "name, phone, email, trade-in vehicle")
    handoff = serializers.BooleanField(help_text="a person takes over from here")
    offered_slots = serializers.ListField(child=serializers.DateTimeField(), help_text="times offered for a booking")


class TranscriptLine(serializers.Serializer):
    author = serializers.ChoiceField(choices=["shopper", "assistant", "staff"])
    text = serializers.CharField()
    created_at = serializers.DateTimeField()


class ConversationListView(AssistantView):
    @extend_schema(
        summary="Start a conversation with the assistant",
        description="Answers the conversation's unguessable id; with an `anonymous_id` a returning browser gets "
                    "its open conversation back.",
        request=OpenInput, auth=[{"WriteKey": []}],
        responses={201: inline_serializer("ConversationOpened", {"id": serializers.CharField()}),
                   429: OpenApiResponse(description="Too many requests; retry after `Retry-After` seconds.")},
    )
    def post(self, request):
        data = request.data if isinstance(request.data, dict) else {}
        form = OpenInput(data=data)
        form.is_valid(raise_exception=True)
        conversation = services.conversation_open(rooftop=request.auth, channel="api",
                                                  anonymous_id=form.validated_data.get("anonymous_id", ""))
        return Response({"id": conversation.public_id}, status=status.HTTP_201_CREATED)


class ConversationMessagesView(AssistantView):
    @extend_schema(
        summary="The conversation so far",
        auth=[{"WriteKey": []}],
        responses={200: TranscriptLine(many=True),
                   429: OpenApiResponse(description="Too many requests; retry after `Retry-After` seconds.")},
    )
    def get(self, request, public_id: str):
        conversation = self.conversation(request, public_id)
        lines = selectors.conversation_messages(conversation)
        return Response(TranscriptLine(lines, many=True).data)

    @extend_schema(
        summary="Say something to the assistant",
        description="Stores the message, answers it, and books or hands off when the conversation gets there.",
        request=MessageInput, auth=[{"WriteKey": []}],
        responses={200: ReplyOutput,
                   413: OpenApiResponse(description=f"The message is over {services.MAX_TEXT} characters."),
                   429: OpenApiResponse(description="Too many requests; retry after `Retry-After` seconds.")},
    )
    def post(self, request, public_id: str):
        conversation = self.conversation(request, public_id)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"text": "Send a JSON object with the message as `text`."})
        form = MessageInput(data=request.data)
        form.is_valid(raise_exception=True)
        text = form.validated_data["text"]
        if not text.strip():
            raise exceptions.ValidationError({"text": "Write a message."})
        if len(text) > services.MAX_TEXT:
            raise MessageTooLong()
        try:
            reply = services.shopper_says(conversation=conversation, text=text)
        except services.ConversationError as exc:
            raise exceptions.ValidationError({"text": str(exc)}) from None
        return Response({"reply": reply.text, "intent": reply.intent, "slots": reply.slots,
                         "handoff": reply.handoff, "offered_slots": reply.offered_slots})
