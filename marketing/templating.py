"""Merge fields in a campaign's templates: `{{ first_name }}` and friends. Pure.

A stand-in until the campaign builder's version lands (same signature): a field the context does not have
becomes empty rather than showing braces to a customer.
"""

from __future__ import annotations

import re

FIELD = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def render(text: str, context: dict[str, str]) -> str:
    return FIELD.sub(lambda match: str(context.get(match.group(1), "")), text or "")
