from django import template
from django.urls import NoReverseMatch, reverse

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
    """The customer page once it exists (another app owns it); empty until then."""
    if customer is None:
        return ""
    for name in ("customer-detail", "customer"):
        try:
            return reverse(name, args=[customer.pk])
        except NoReverseMatch:
            continue
    return ""


@register.simple_tag
def intent_for(customer):
    """`{% intent_for customer as intent %}`: the shopper's score, trend and reasons (None if never seen)."""
    if customer is None or getattr(customer, "pk", None) is None:
        return None
    return intent_for_customer(customer)
