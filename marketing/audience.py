"""Who a campaign is for, as a manager chooses it: lifecycle triggers and website behaviour. Pure.

`Campaign.audience` holds the JSON form; `AudienceSpec.parse` reads it (and the builder form's input) and
refuses what it cannot mean with a message a manager can act on. The queries that find the customers are
`marketing.selectors.audience_*`; what each trigger means is said once here, in `TRIGGERS`, and shown on the
builder page.

A customer matches when any chosen trigger or behaviour holds (`match="any"`), or all of them (`"all"`): "lease
ending OR positive equity" is the usual trade-cycle list, "viewed a RAV4 AND positive equity" the narrow one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Lifecycle triggers. The first three are the trade-cycle reasons the nightly scan keeps per owned vehicle
# (service.triggers: VehicleOpportunity.trigger_kinds), under each store's own thresholds.
LEASE_MATURING = "lease_maturing"
POSITIVE_EQUITY = "positive_equity"
LOAN_NEARLY_PAID = "loan_nearly_paid"
SERVICE_DUE = "service_due"
NO_VISIT_12_MONTHS = "no_visit_12_months"
TRIGGERS = {
    LEASE_MATURING: "Lease ends soon (the store's trade thresholds)",
    POSITIVE_EQUITY: "Car worth more than they owe",
    LOAN_NEARLY_PAID: "Loan nearly paid off (few payments left)",
    SERVICE_DUE: "Service due: last visit over 6 months ago, or 5,000 miles driven since",
    NO_VISIT_12_MONTHS: "Serviced here before, no visit in the last 12 months",
}
# The scan's trigger kind behind each trade-cycle trigger.
OPPORTUNITY_KINDS = {LEASE_MATURING: "lease_ending", POSITIVE_EQUITY: "equity", LOAN_NEARLY_PAID: "payments_left"}
# Triggers that are about their car's upkeep rather than selling them one: a campaign of only these is a
# service reminder (consent purpose "service_reminders", no purchase-offer rules).
SERVICE_TRIGGERS = frozenset({SERVICE_DUE, NO_VISIT_12_MONTHS})
SERVICE_DUE_MONTHS = 6
SERVICE_DUE_MILES = 5_000
NO_VISIT_MONTHS = 12

MAX_VIEWED_MODELS = 20
VIEWED_DAYS_CHOICES = (7, 14, 30, 60, 90)


class AudienceError(ValueError):
    """The audience as chosen cannot be built; the message says why, in the manager's words."""


@dataclass(frozen=True)
class AudienceSpec:
    triggers: tuple[str, ...] = ()
    # Behaviour on the store's website: viewed a model in the last `viewed_days` days. Each is matched, ignoring
    # case, against the viewed vehicle's "make model" or its model alone ("Toyota RAV4", "RAV4", "Land Rover Defender").
    viewed_models: tuple[str, ...] = ()
    viewed_days: int = 30
    price_drop_subscribers: bool = False  # asked for a price-drop alert on any vehicle still listed
    match: str = "any"  # "any" | "all"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_empty(self) -> bool:
        return not (self.triggers or self.viewed_models or self.price_drop_subscribers)

    @property
    def is_service_reminder(self) -> bool:
        """Only upkeep triggers: no vehicle is offered, so it is a service reminder, not a purchase offer."""
        return bool(self.triggers) and set(self.triggers) <= SERVICE_TRIGGERS and not (
            self.viewed_models or self.price_drop_subscribers)

    @property
    def purpose(self) -> str:
        return "service_reminders" if self.is_service_reminder else "marketing"

    def as_json(self) -> dict[str, Any]:
        return {"triggers": list(self.triggers), "viewed_models": list(self.viewed_models),
                "viewed_days": self.viewed_days, "price_drop_subscribers": self.price_drop_subscribers,
                "match": self.match}

    def describe(self) -> str:
        """One line for the campaign list: 'Lease ends soon or viewed Toyota RAV4 (30 days)'."""
        parts = [TRIGGERS[t].split(" (")[0].split(":")[0] for t in self.triggers]
        if self.viewed_models:
            parts.append(f"viewed {', '.join(self.viewed_models)} (last {self.viewed_days} days)")
        if self.price_drop_subscribers:
            parts.append("asked for price-drop alerts")
        return (" and " if self.match == "all" else " or ").join(parts) or "Nobody chosen yet"

    @classmethod
    def parse(cls, data: Any) -> AudienceSpec:
        """The stored JSON or a form's cleaned data → a spec; AudienceError with the reason otherwise."""
        if not isinstance(data, dict):
            raise AudienceError("The audience must be a set of choices.")
        triggers = data.get("triggers") or []
        if isinstance(triggers, str):
            triggers = [triggers]
        if not isinstance(triggers, (list, tuple)) or not all(isinstance(t, str) for t in triggers):
            raise AudienceError("Triggers must be a list of trigger names.")
        unknown = [t for t in triggers if t not in TRIGGERS]
        if unknown:
            raise AudienceError(f"Unknown trigger {unknown[0][:40]!r}; choose from: {', '.join(TRIGGERS)}.")
        models = data.get("viewed_models") or []
        if isinstance(models, str):
            models = [line for line in models.replace(",", "\n").splitlines()]
        if not isinstance(models, (list, tuple)) or not all(isinstance(m, str) for m in models):
            raise AudienceError("Viewed models must be a list such as \"Toyota RAV4\".")
        models = tuple(dict.fromkeys(" ".join(m.split())[:80] for m in models if m.strip()))
        if len(models) > MAX_VIEWED_MODELS:
            raise AudienceError(f"At most {MAX_VIEWED_MODELS} models; this names {len(models)}.")
        try:
            viewed_days = int(data.get("viewed_days") or 30)
        except (TypeError, ValueError):
            raise AudienceError("Viewed in the last … days must be a number.") from None
        if viewed_days not in VIEWED_DAYS_CHOICES:
            raise AudienceError(f"Viewed in the last … days must be one of {', '.join(map(str, VIEWED_DAYS_CHOICES))}.")
        match = data.get("match") or "any"
        if match not in ("any", "all"):
            raise AudienceError("Match must be 'any' or 'all'.")
        spec = cls(triggers=tuple(dict.fromkeys(triggers)), viewed_models=models, viewed_days=viewed_days,
                   price_drop_subscribers=bool(data.get("price_drop_subscribers")), match=match)
        return spec

    def require_someone(self) -> AudienceSpec:
        if self.is_empty:
            raise AudienceError("Choose at least one trigger or behaviour for the audience.")
        return self

