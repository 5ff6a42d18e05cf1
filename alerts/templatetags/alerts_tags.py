from django import template
from django.urls import reverse

from alerts.labels import signal_label
from alerts.selectors import intent_for_customer

register = template.Library()


@register.filter
def kind_label(kind: str) -> str:
    return signal_label(kind or "")


@register.filter
def dollars(cents) -> str:
    if cents in (None, ""):
        return ""
    return f"${int(cents) / 100:,.0f}"


@register.simple_tag
def customer_url(customer) -> str:
    return "" if customer is None else reverse("customer-detail", args=[customer.pk])


@register.simple_tag(takes_context=True)
def intent_for(context, customer):
    """`{% intent_for customer as intent %}`: score, trend and reasons from the signed-in user's stores only."""
    if customer is None or getattr(customer, "pk", None) is None:
        return None
    access = context.get("access")
    if access is None:  # no signed-in staff member: nothing to show rather than everything
        return None
    return intent_for_customer(customer, rooftop_ids=access.rooftop_ids)
