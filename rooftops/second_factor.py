"""Who may go on: the second-factor gate for sessions and the rules an API token is held to. Pure decisions."""

from __future__ import annotations

import enum
from datetime import datetime

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Gate(enum.Enum):
    PASS = "pass"
    ENROL = "second_factor_enrolment_required"
    VERIFY = "second_factor_verification_required"

    @property
    def reason(self) -> str:
        return {
            Gate.PASS: "",
            Gate.ENROL: "Your dealer group requires a second factor: set up an authenticator app first.",
            Gate.VERIFY: "Enter the code from your authenticator app (or a recovery code) to continue.",
        }[self]


def second_factor_gate(*, required: bool, enrolled: bool, verified: bool) -> Gate:
    """A session with a verified factor passes; one who enrolled verifies at each sign-in even where the group
    does not require it; where it is required, one who never enrolled must enrol."""
    if verified:
        return Gate.PASS
    if enrolled:
        return Gate.VERIFY
    if required:
        return Gate.ENROL
    return Gate.PASS


def api_token_refusal(
    *, scope: str, expires_at: datetime | None, method: str, now: datetime,
    second_factor_required: bool, second_factor_enrolled: bool,
) -> str | None:
    """Why this token may not make this request, or None. An expired token is refused outright (401 by the
    caller); the rest are 403: the token is good but not for this."""
    if expires_at is not None and expires_at <= now:
        return "expired"
    if second_factor_required and not second_factor_enrolled:
        return "second_factor"
    if scope == "read" and method.upper() not in SAFE_METHODS:
        return "read_only"
    return None


TOKEN_REFUSAL_MESSAGES = {
    "expired": "This API token has expired. Make a new one on your profile page.",
    "second_factor": (
        "Your dealer group requires a second factor, and this token's owner has not set one up: "
        "sign in and enrol an authenticator app, then the token works again."
    ),
    "read_only": "This API token is read-only: it cannot change anything. Use a read-and-write token.",
}
