from rest_framework import authentication, exceptions

from rooftops.selectors import api_token_user
from rooftops.services import api_token_touch


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` with a personal API token."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Token header must be 'Token <key>' with no spaces in the key.")
        key = header[1].decode(errors="replace")
        user = api_token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        api_token_touch(token_key=key)
        return (user, key)

    def authenticate_header(self, request):
        return self.keyword
