"""Inputs every staff API shares: ids that fit in PostgreSQL, and the rooftop a write happens at."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm.pagination import BIGINT_MAX
from rooftops.models import Rooftop
from rooftops.tenancy import StaffAccess


def id_field(**kwargs) -> serializers.IntegerField:
    """An object id: a whole number PostgreSQL can hold (a larger one was a 500)."""
    return serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, **kwargs)


def rooftop_for_write(access: StaffAccess, rooftop_id: int | None, *roles: str) -> Rooftop:
    """The store a write happens at: the one asked for (it must be one of the caller's, with one of `roles` when
    given), or the caller's only store. A field error otherwise, never a hint that another store exists."""
    allowed = access.rooftops_with_role(*roles) if roles else access.rooftop_ids
    if rooftop_id is None:
        if len(allowed) != 1:
            raise ValidationError({"rooftop": ["Say which of your rooftops (its id; GET /api/me/ lists them)."]})
        rooftop_id = next(iter(allowed))
    if rooftop_id not in allowed:
        raise ValidationError({"rooftop": ["Not one of your rooftops" + (" where you may do this." if roles else ".")]})
    return Rooftop.objects.get(pk=rooftop_id)


def rooftop_filter(access: StaffAccess, rooftop_id: int | None) -> int | None:
    """A `rooftop` query filter: one of the caller's stores, else 400."""
    if rooftop_id is not None and rooftop_id not in access.rooftop_ids:
        raise ValidationError({"rooftop": ["Not one of your rooftops."]})
    return rooftop_id


def user_name(user) -> str:
    if user is None:
        return ""
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


class PersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


def person(user) -> dict | None:
    return None if user is None else {"id": user.pk, "name": user_name(user)}
