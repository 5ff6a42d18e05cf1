"""Websocket authentication: the browser session, or `?token=` / `Authorization: Token` with an API token.

Browsers are held to the Origin check (AllowedHostsOriginValidator). A client that authenticates with an
API token may connect without an Origin header: scripts and integrations send none, and a token cannot be
ridden by a cross-site page the way a cookie can.
"""

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator

from rooftops.selectors import api_token_user


def _token_from_scope(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode(errors="replace").split()
            if len(parts) == 2 and parts[0].lower() == "token":
                return parts[1]
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    return (query.get("token") or [None])[0]


class TokenOrSessionAuthMiddlewareStack:
    def __init__(self, inner):
        self.session_app = AllowedHostsOriginValidator(AuthMiddlewareStack(inner))
        self.inner = inner

    async def __call__(self, scope, receive, send):
        key = _token_from_scope(scope)
        if key:
            user = await database_sync_to_async(api_token_user)(key)
            if user is None:
                await send({"type": "websocket.close", "code": 4401})
                return
            return await self.inner(dict(scope, user=user), receive, send)
        return await self.session_app(scope, receive, send)
