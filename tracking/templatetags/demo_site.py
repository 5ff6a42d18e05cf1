"""Money and counts as a dealer website shows them. Prices are stored in integer cents."""

from django import template

register = template.Library()


@register.filter
def dollars(cents) -> str:
    try:
        return f"${int(cents) // 100:,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def dollars_plain(cents) -> str:
    """For data attributes: a plain number of dollars, as track.js reads it."""
    try:
        return str(int(cents) // 100)
    except (TypeError, ValueError):
        return ""


@register.filter
def thousands(value) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return ""


@register.filter
def phone_display(e164) -> str:
    """+16175550100 -> (617) 555-0100, as people read a US number."""
    import phonenumbers

    try:
        number = phonenumbers.parse(str(e164), "US")
    except phonenumbers.NumberParseException:
        return str(e164)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
