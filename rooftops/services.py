import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from rooftops.models import Availability, ApiToken, DealerGroup, Rooftop, StaffProfile, TokenScope, hash_token
from rooftops.selectors import RECOVERY_DEVICE_NAME

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_DEVICE_NAME = "Authenticator app"


def api_token_create(
    *, user: User, name: str = "API token", key: str | None = None,
    scope: str = TokenScope.READ_WRITE, lifetime: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """Make a personal token; returns the key, which is never stored and cannot be shown again.
    `lifetime` None makes a token that never expires (the command line and the demo seed only)."""
    if scope not in TokenScope.values:
        raise ValueError(f"Unknown token scope {scope!r}; choose one of {', '.join(TokenScope.values)}")
    key = key or secrets.token_urlsafe(32)
    expires_at = timezone.now() + lifetime if lifetime is not None else None
    token, _ = ApiToken.objects.get_or_create(
        key_hash=hash_token(key),
        defaults={"user": user, "name": name[:100], "prefix": key[:8], "scope": scope, "expires_at": expires_at},
    )
    return token, key


def api_token_revoke(*, user: User, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, id=token_id).delete()
    return bool(deleted)


def api_token_touch(*, token_key: str) -> None:
    # Once a minute is enough to show "last used" without a write per request.
    cutoff = timezone.now() - timezone.timedelta(minutes=1)
    ApiToken.objects.filter(key_hash=hash_token(token_key), last_used_at__lt=cutoff).update(
        last_used_at=timezone.now()
    )
    ApiToken.objects.filter(key_hash=hash_token(token_key), last_used_at__isnull=True).update(
        last_used_at=timezone.now()
    )


@transaction.atomic
def staff_set_availability(*, profile: StaffProfile, availability: str) -> StaffProfile:
    if availability not in Availability.values:
        raise ValueError(f"Unknown availability {availability!r}; choose one of {', '.join(Availability.values)}")
    profile.availability = availability
    profile.availability_changed_at = timezone.now()
    profile.save(update_fields=["availability", "availability_changed_at"])
    if availability != Availability.AVAILABLE:
        # Lead routing moves this person's waiting leads on; after commit, so a rollback moves nothing.
        from leads.services.clock import lead_clocks_owner_unavailable

        user_id = profile.user_id
        transaction.on_commit(lambda: lead_clocks_owner_unavailable(user_id=user_id, availability=availability))
    return profile


# --- Second factor ------------------------------------------------------------------------------


@transaction.atomic
def totp_enrolment_start(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator this person is setting up (one at a time; a fresh secret each start)."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_DEVICE_NAME, confirmed=False)


@transaction.atomic
def totp_enrolment_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirms the pending authenticator with a code from the app: it replaces any earlier one, and a fresh set
    of recovery codes is made. Returns the device and the codes (shown once), or None for a wrong code."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(code.strip().replace(" ", "")):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return device, recovery_codes_regenerate(user=user)


@transaction.atomic
def recovery_codes_regenerate(*, user: User) -> list[str]:
    """Replaces the person's one-time recovery codes; the old ones stop working. Returns the new ones."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


@transaction.atomic
def second_factor_remove(*, user: User) -> None:
    """Forgets the person's authenticator and recovery codes (a manager's reset for a lost phone)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def dealer_group_require_second_factor(*, dealer_group: DealerGroup, required: bool, by: User) -> DealerGroup:
    dealer_group.require_second_factor = required
    dealer_group.require_second_factor_changed_at = timezone.now()
    dealer_group.require_second_factor_changed_by = by
    dealer_group.save(
        update_fields=["require_second_factor", "require_second_factor_changed_at", "require_second_factor_changed_by"]
    )
    return dealer_group


def rooftop_hold_email_in_quiet_hours(*, rooftop: Rooftop, hold: bool) -> Rooftop:
    """A store may hold its email for quiet hours as well as its texts (the law asks it only of texts)."""
    rooftop.hold_email_in_quiet_hours = hold
    rooftop.save(update_fields=["hold_email_in_quiet_hours"])
    return rooftop


def staff_login_unlock(*, user: User) -> int:
    """Clears the failed-login lockout of this person's username from every address; returns attempts cleared."""
    from axes.utils import reset

    return reset(username=user.get_username())
