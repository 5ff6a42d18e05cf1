import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from rooftops.models import Availability, ApiToken, StaffProfile, hash_token


def api_token_create(*, user: User, name: str = "API token", key: str | None = None) -> tuple[ApiToken, str]:
    """Make a personal token; returns the key, which is never stored and cannot be shown again."""
    key = key or secrets.token_urlsafe(32)
    token, _ = ApiToken.objects.get_or_create(
        key_hash=hash_token(key), defaults={"user": user, "name": name[:100], "prefix": key[:8]}
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
        from leads.services import lead_clocks_owner_unavailable

        user_id = profile.user_id
        transaction.on_commit(lambda: lead_clocks_owner_unavailable(user_id=user_id, availability=availability))
    return profile
