"""A manager's campaign text with merge fields, filled in per customer. Pure.

Deliberately not Django's template engine: a manager's template is data, not code, so the only thing it can
say is a merge field from `FIELDS` (`{{ first_name }}`, spacing as you like). `validate` names what is wrong
before a campaign is saved; `render` never shows braces or an empty gap to a customer: a missing value falls
back to words that read well ("Hi there,"), or disappears with the space before it ("worth  more" never
happens, nor "Hi ,").
"""

from __future__ import annotations

import re

# The merge fields, in the order the builder lists them, with what each says and its fallback when the value
# is missing for a customer ("" means: leave it out, and the space next to it).
FIELDS: dict[str, str] = {
    "first_name": "The customer's first name (\"there\" when unknown: \"Hi there,\")",
    "last_name": "The customer's last name (left out when unknown)",
    "vehicle": "Their vehicle, e.g. \"2019 Toyota RAV4\" (\"your vehicle\" when unknown)",
    "equity": "What their car is worth over what they owe, e.g. \"$6,200\" (left out when unknown)",
    "salesperson": "Their salesperson's name (the store's sales team when none)",
    "store": "The store's name",
    "store_phone": "The store's phone number (left out when unknown)",
}
FALLBACKS: dict[str, str] = {"first_name": "there", "vehicle": "your vehicle", "store": "our store"}

_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SENTENCE_START = re.compile(r"(?:\A|[.!?][\"')]?)\s*\Z|\n\s*\Z")
_GAP = "\x00"  # marks a field that rendered to nothing, so the space beside it can go too


def _name(inside: str) -> str:
    return inside.strip().lower()


def fields_used(text: str) -> list[str]:
    """The merge fields a text names, once each, in order of first use (unknown names included)."""
    return list(dict.fromkeys(_name(m.group(1)) for m in _TAG.finditer(text or "")))


def validate(text: str) -> list[str]:
    """What is wrong with a template, in words a manager can act on; [] when it is fine."""
    errors: list[str] = []
    text = text or ""
    for name in fields_used(text):
        if not _NAME.fullmatch(name):
            shown = name if len(name) <= 40 else name[:40] + "…"
            errors.append(f"{{{{ {shown} }}}} is not a merge field: only names such as {{{{ first_name }}}} can go "
                          "between the braces.")
        elif name not in FIELDS:
            errors.append(f"Unknown merge field {{{{ {name[:40]} }}}}; use one of: "
                          + ", ".join(f"{{{{ {f} }}}}" for f in FIELDS) + ".")
    rest = _TAG.sub("", text)
    if "{{" in rest:
        errors.append("A merge field is not closed: every {{ needs its }}, as in {{ first_name }}.")
    if "{%" in rest or "%}" in rest:
        errors.append("Template code such as {% … %} is not allowed; use merge fields such as {{ first_name }}.")
    return errors


def fallback(name: str, context: dict[str, str]) -> str:
    if name == "salesperson":
        store = (context.get("store") or "").strip()
        return f"the {store} sales team" if store else "our sales team"
    return FALLBACKS.get(name, "")


def render(text: str, context: dict[str, str]) -> str:
    """The text with each merge field filled from `context` (or its fallback); unknown fields render as nothing."""

    def fill(match: re.Match) -> str:
        name = _name(match.group(1))
        if name not in FIELDS:
            return _GAP
        value = " ".join(str(context.get(name) or "").split())
        if not value:
            value = fallback(name, context)
            if value and _SENTENCE_START.search(match.string[:match.start()]):
                # "{{ salesperson }} would be glad …" with no salesperson: "The Lakeside Toyota sales team would …".
                value = value[0].upper() + value[1:]
        if not value:
            return _GAP
        # "Is your {{ vehicle }} due?" with nothing on file reads "your vehicle", not "your your vehicle".
        if value.lower().startswith("your ") and match.string[:match.start()].lower().endswith("your "):
            return value[5:]
        return value

    out = _TAG.sub(fill, text or "")
    if _GAP not in out:
        return out
    # An empty field before punctuation or a line's end takes the spaces before it ("Hi {{ x }}," → "Hi,");
    # elsewhere it takes the spaces after it ("worth {{ equity }} more" → "worth more").
    out = re.sub(rf"[ \t]*{_GAP}(?=[ \t]*(?:[,.;:!?)]|$))", "", out, flags=re.M)
    out = re.sub(rf"{_GAP}[ \t]*", "", out)
    return out
