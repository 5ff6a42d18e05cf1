"""Tenant scoping that fails closed.

Every model holding customer data uses `RooftopScopedManager` as `objects`. Its querysets refuse to run
until they are scoped with `.for_access(access)` (what the staff member may see) or explicitly opened
with `.across_rooftops()` (background jobs, migrations of data, the demo seeder): the bypass is loud
and easy to grep in review. Navigating from an object already fetched through a scope
(`customer.leads.all()`) uses the plain `unscoped` manager on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import models
from django.http import Http404


class UnscopedQueryError(RuntimeError):
    """A query on tenant data ran without saying whose data it may see."""


@dataclass(frozen=True)
class StaffAccess:
    """What one staff member may see: the rooftops they hold a role at, and their roles there."""

    user_id: int
    dealer_group_id: int | None
    roles: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def rooftop_ids(self) -> frozenset[int]:
        return frozenset(self.roles)

    def has_role(self, rooftop_id: int, *roles: str) -> bool:
        return bool(self.roles.get(rooftop_id, frozenset()) & set(roles))

    def any_role(self, *roles: str) -> bool:
        return any(self.has_role(rooftop_id, *roles) for rooftop_id in self.roles)

    def rooftops_with_role(self, *roles: str) -> frozenset[int]:
        return frozenset(r for r in self.roles if self.has_role(r, *roles))

    def require_role(self, rooftop_id: int, *roles: str) -> None:
        # Same answer as "missing": a user must not learn that another store's object exists.
        if not self.has_role(rooftop_id, *roles):
            raise Http404


class RooftopQuerySet(models.QuerySet):
    # The lookup from this model to its rooftop id, e.g. "rooftop_id" or "lead__rooftop_id".
    # Models shared by a dealer group override `scope_filter` instead.
    _scoped = False

    def _clone(self):
        clone = super()._clone()
        clone._scoped = self._scoped
        return clone

    def scope_filter(self, rooftop_ids: Iterable[int]) -> models.Q:
        lookup = getattr(self.model, "ROOFTOP_LOOKUP", "rooftop_id")
        return models.Q(**{f"{lookup}__in": list(rooftop_ids)})

    def for_access(self, access: StaffAccess) -> RooftopQuerySet:
        return self.for_rooftops(access.rooftop_ids)

    def for_rooftops(self, rooftop_ids: Iterable[int]) -> RooftopQuerySet:
        clone = self.filter(self.scope_filter(rooftop_ids))
        clone._scoped = True
        return clone

    def across_rooftops(self) -> RooftopQuerySet:
        """Every tenant's rows. For background jobs that load by id, and data tools; never for a request."""
        clone = self._chain()
        clone._scoped = True
        return clone

    def _require_scope(self) -> None:
        if not self._scoped:
            raise UnscopedQueryError(
                f"{self.model.__name__} query without a tenant scope: use .for_access(access) "
                "or, outside a request, .across_rooftops()"
            )

    def _fetch_all(self):
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def count(self):
        self._require_scope()
        return super().count()

    def exists(self):
        self._require_scope()
        return super().exists()

    def aggregate(self, *args, **kwargs):
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def iterator(self, *args, **kwargs):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def update(self, **kwargs):
        self._require_scope()
        return super().update(**kwargs)

    def delete(self):
        self._require_scope()
        return super().delete()


class RooftopScopedManager(models.Manager.from_queryset(RooftopQuerySet)):  # type: ignore[misc]
    pass


class TenantModel(models.Model):
    """The base of every model holding a store's data: `objects` fails closed; `unscoped` is the loud bypass.

    `unscoped` is also the default and base manager, so Django's own machinery (related objects, deletes,
    admin, migrations) is never refused. A model whose scope is not its `rooftop_id` gives its own queryset:
    `objects = RooftopScopedManager.from_queryset(CustomerQuerySet)()`. A subclass extends the options with
    `class Meta(TenantModel.Meta):`, or it loses the manager names.
    """

    unscoped = models.Manager()
    objects = RooftopScopedManager()

    class Meta:
        abstract = True
        base_manager_name = "unscoped"
        default_manager_name = "unscoped"


def get_scoped_or_404(queryset: RooftopQuerySet, access: StaffAccess, **lookup) -> models.Model:
    """The one way a view fetches a tenant object: missing and not-yours are the same 404."""
    try:
        return queryset.for_access(access).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
