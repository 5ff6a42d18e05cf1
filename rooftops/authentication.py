from django.utils import timezone
from rest_framework import authentication, exceptions

from rooftops.second_factor import TOKEN_REFUSAL_MESSAGES, api_token_refusal
from rooftops.selectors import api_token_lookup, second_factor_enrolled, second_factor_required
from rooftops.services import api_token_touch


class TokenNotAllowed(exceptions.PermissionDenied):
    """403 with the reason: the token is genuine but may not do this (read-only, or the owner lacks a second
    factor their dealer group requires)."""


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` with a personal API token, held to its scope, lifetime and the owner's
    second factor. The one place the API checks a token (the websocket reuses the same decision)."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Token header must be 'Token <key>' with no spaces in the key.")
        key = header[1].decode(errors="replace")
        token = api_token_lookup(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        refusal = api_token_refusal(
            scope=token.scope, expires_at=token.expires_at, method=request.method, now=timezone.now(),
            second_factor_required=second_factor_required(token.user),
            second_factor_enrolled=second_factor_enrolled(token.user),
        )
        if refusal == "expired":
            raise exceptions.AuthenticationFailed(TOKEN_REFUSAL_MESSAGES[refusal], code="token_expired")
        if refusal is not None:
            raise TokenNotAllowed(TOKEN_REFUSAL_MESSAGES[refusal], code=f"token_{refusal}")
        api_token_touch(token_key=key)
        request.api_token = token
        return (token.user, token)

    def authenticate_header(self, request):
        return self.keyword
