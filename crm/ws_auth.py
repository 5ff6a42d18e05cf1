"""Websocket authentication: the browser session, or `?token=` / `Authorization: Token` with an API token.

Browsers are held to the Origin check (AllowedHostsOriginValidator). A client that authenticates with an
API token may connect without an Origin header: scripts and integrations send none, and a token cannot be
ridden by a cross-site page the way a cookie can.

Both are held to the same rules as HTTP: a token to its lifetime and its owner's second factor
(rooftops.second_factor.api_token_refusal), a session to the second-factor gate. A refused handshake is closed
before it is accepted (the client sees HTTP 403).
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.utils import timezone

from rooftops.second_factor import Gate, api_token_refusal, second_factor_gate
from rooftops.selectors import (
    api_token_lookup, second_factor_enrolled, second_factor_required, second_factor_verified_in_session,
)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_SECOND_FACTOR = 4403


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode(errors="replace").split()
            if len(parts) == 2 and parts[0].lower() == "token":
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    return (query.get("token") or [None])[0]


def _token_user(key: str):
    """The token's user, whether it may only read, or None when the token may not open a websocket."""
    token = api_token_lookup(key)
    if token is None:
        return None, False
    refusal = api_token_refusal(
        scope=token.scope, expires_at=token.expires_at, method="GET", now=timezone.now(),
        second_factor_required=second_factor_required(token.user),
        second_factor_enrolled=second_factor_enrolled(token.user),
    )
    return (None, False) if refusal else (token.user, token.scope == "read")


def _session_gate(user, session) -> Gate:
    if not user.is_authenticated:
        return Gate.PASS  # consumers refuse anonymous users themselves
    return second_factor_gate(
        required=second_factor_required(user),
        enrolled=second_factor_enrolled(user),
        verified=second_factor_verified_in_session(user, session),
    )


class SecondFactorGate:
    """Inside the session stack: a session that has not passed its second factor gets no websocket."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is not None:
            gate = await database_sync_to_async(_session_gate)(user, scope.get("session"))
            if gate is not Gate.PASS:
                await send({"type": "websocket.close", "code": CLOSE_SECOND_FACTOR})
                return
        return await self.inner(scope, receive, send)


class TokenOrSessionAuthMiddlewareStack:
    def __init__(self, inner):
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(SecondFactorGate(inner)))
        self.inner = inner

    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        if key:
            user, read_only = await database_sync_to_async(_token_user)(key)
            if user is None:
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHENTICATED})
                return
            return await self.inner(dict(scope, user=user, token_read_only=read_only), receive, send)
        return await self.session_app(scope, receive, send)
