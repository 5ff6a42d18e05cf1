from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from rooftops.models import ApiToken, Role, Rooftop, StaffProfile, StaffRole, hash_token
from rooftops.tenancy import StaffAccess

RECOVERY_DEVICE_NAME = "Recovery codes"


def staff_access(user: User | AnonymousUser) -> StaffAccess:
    """The rooftops and roles this user holds; a granted manager sees the whole dealer group."""
    if not user.is_authenticated:
        return StaffAccess(user_id=0, dealer_group_id=None, roles={})
    cached = getattr(user, "_staff_access", None)
    if cached is not None:
        return cached
    roles: dict[int, set[str]] = {}
    for rooftop_id, role in StaffRole.objects.filter(user=user).values_list("rooftop_id", "role"):
        roles.setdefault(rooftop_id, set()).add(role)
    profile = getattr(user, "staff_profile", None)
    group_id = profile.dealer_group_id if profile else None
    if profile and profile.sees_whole_group and any(Role.MANAGER in r for r in roles.values()):
        for rooftop_id in Rooftop.objects.filter(dealer_group_id=group_id).values_list("id", flat=True):
            roles.setdefault(rooftop_id, set()).add(Role.MANAGER)
    access = StaffAccess(
        user_id=user.pk, dealer_group_id=group_id, roles={k: frozenset(v) for k, v in roles.items()}
    )
    user._staff_access = access
    return access


def accessible_rooftops(access: StaffAccess):
    return Rooftop.objects.filter(id__in=access.rooftop_ids).order_by("name")


def staff_time_zone(access: StaffAccess) -> str | None:
    """The time zone of this person's store (the first they hold a role at), for times on pages about all of them."""
    return Rooftop.objects.filter(id__in=access.rooftop_ids).order_by("id").values_list(
        "time_zone", flat=True).first()


def api_token_user(key: str) -> User | None:
    token = api_token_lookup(key)
    return token.user if token is not None else None


def api_token_lookup(key: str) -> ApiToken | None:
    """The token with this key whose owner is active, with its user; scope and expiry are the caller's to judge."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or not token.user.is_active:
        return None
    return token


def second_factor_facts(user: User) -> tuple[bool, bool]:
    """(required, enrolled) in one round trip, cached on the user for the request: whether the user's dealer
    group requires a second factor, and whether they have a confirmed authenticator (TOTP) device (recovery
    codes alone do not count). The gate on every page asks both of anyone not yet verified in this session."""
    cached = getattr(user, "_second_factor_facts", None)
    if cached is None:
        cached = user._second_factor_facts = User.objects.filter(pk=user.pk).values_list(
            Exists(StaffProfile.objects.filter(user_id=user.pk, dealer_group__require_second_factor=True)),
            Exists(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True)),
        ).get()
    return cached


def second_factor_required(user: User) -> bool:
    return second_factor_facts(user)[0]


def second_factor_enrolled(user: User) -> bool:
    return second_factor_facts(user)[1]


def second_factor_verified_in_session(user: User, session) -> bool:
    """What django-otp's middleware decides for HTTP, for a websocket's session: the device the session was
    verified with still exists, is confirmed and is this user's."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.models import Device

    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    if not persistent_id:
        return False
    device = Device.from_persistent_id(persistent_id, for_verify=False)
    return device is not None and device.user_id == user.pk and device.confirmed


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user_id=user.pk, device__name=RECOVERY_DEVICE_NAME).count()


@dataclass(frozen=True)
class StaffSecurityRow:
    user_id: int
    username: str
    display_name: str
    roles: str
    second_factor: bool
    locked_out: bool
    last_login: datetime | None


def staff_security_rows(*, rooftop_ids: Iterable[int], now: datetime | None = None) -> list[StaffSecurityRow]:
    """The staff of these rooftops with their second factor and whether their login is locked out now."""
    from axes.models import AccessAttempt
    from django.conf import settings
    from django.utils import timezone

    now = now or timezone.now()
    roles: dict[int, set[str]] = {}
    for user_id, role in StaffRole.objects.filter(rooftop_id__in=list(rooftop_ids)).values_list("user_id", "role"):
        roles.setdefault(user_id, set()).add(Role(role).label)
    users = User.objects.filter(pk__in=roles).select_related("staff_profile").order_by("username")
    enrolled = set(TOTPDevice.objects.filter(user_id__in=roles, confirmed=True).values_list("user_id", flat=True))
    usernames = [u.username for u in users]
    locked = set(
        AccessAttempt.objects.filter(
            username__in=usernames, failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
            attempt_time__gte=now - settings.AXES_COOLOFF_TIME,
        ).values_list("username", flat=True)
    )
    return [
        StaffSecurityRow(
            user_id=u.pk, username=u.username,
            display_name=getattr(getattr(u, "staff_profile", None), "display_name", "") or u.username,
            roles=", ".join(sorted(roles[u.pk])), second_factor=u.pk in enrolled, locked_out=u.username in locked,
            last_login=u.last_login,
        )
        for u in users
    ]



def access_records(*, rooftop_id: int, user_id: int | None = None, start=None, end=None, kind: str = ""):
    """The access log of one store, newest first, narrowed by person, time (start inclusive, end exclusive), kind."""
    from rooftops.models import AccessRecord

    records = AccessRecord.objects.for_rooftops([rooftop_id])
    if user_id is not None:
        records = records.filter(user_id=user_id)
    if start is not None:
        records = records.filter(at__gte=start)
    if end is not None:
        records = records.filter(at__lt=end)
    if kind:
        records = records.filter(kind=kind)
    return records.order_by("-at", "-id")


def rooftop_staff_names(rooftop_id: int) -> dict[int, str]:
    """Everyone holding a role at the store, by user id, with the name staff know them by."""
    rows = (StaffRole.objects.filter(rooftop_id=rooftop_id)
            .values_list("user_id", "user__staff_profile__display_name", "user__username").distinct())
    return {user_id: display or username for user_id, display, username in sorted(rows, key=lambda r: (r[1] or r[2]).lower())}


def managed_rooftop(user: User, wanted: int | str | None) -> tuple[Rooftop, list[Rooftop]]:
    """The store a manager's page shows (`wanted`, else the first they manage) and every store they manage, for
    the store picker. Http404 for someone who manages none, or asks for a store they do not manage: the same
    answer as a page that does not exist."""
    from django.http import Http404

    managed = sorted(staff_access(user).rooftops_with_role(Role.MANAGER))
    if not managed:
        raise Http404
    rooftops = list(Rooftop.objects.filter(id__in=managed).order_by("name"))
    if wanted in (None, ""):
        return rooftops[0], rooftops
    try:
        wanted_id = int(wanted)
    except (TypeError, ValueError):
        raise Http404 from None
    for rooftop in rooftops:
        if rooftop.id == wanted_id:
            return rooftop, rooftops
    raise Http404
